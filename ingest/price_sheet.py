"""The canonical price sheet (docs/spec.md#prices-and-gpu-offers): one row per provider, model, usage type,
tier, threshold, date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from core.vocabulary import SERVICE_TIERS, USAGE_TYPES
from ingest.sheets import SheetError, check_column, read_sheet

REQUIRED = ("provider", "model", "usage_type", "usd_per_million")
OPTIONAL = ("service_tier", "min_input_tokens", "effective_from", "source")
KEY = ("provider", "model", "usage_type", "service_tier", "min_input_tokens", "effective_from")

# The schema of staged price rows, whatever the source kind.
PRICE_ROW_SCHEMA = {
    "provider": pl.String,
    "model": pl.String,
    "usage_type": pl.String,
    "service_tier": pl.String,
    "min_input_tokens": pl.Int64,
    "usd_per_million": pl.Float64,
    "effective_from": pl.Date,
    "source": pl.String,
    "source_name": pl.String,
    "source_position": pl.Int32,
    "source_file": pl.String,
    "source_line": pl.Int64,
}

# What a catalog or page reader returns: the prices it lists now, undated (ingest/fetched_sources.py dates
# them from the observation history and adds the source columns).
PRICE_SEEN_SCHEMA = {
    k: PRICE_ROW_SCHEMA[k]
    for k in (
        "provider",
        "model",
        "usage_type",
        "service_tier",
        "min_input_tokens",
        "usd_per_million",
        "source",
        "source_line",
    )
}
PRICE_KEY = ("provider", "model", "usage_type", "service_tier", "min_input_tokens")


def read_price_sheet(
    path: Path, *, source_name: str, source_position: int, default_effective_from: date = date(1970, 1, 1)
) -> pl.DataFrame:
    """Read and check a price sheet; an empty effective_from means `default_effective_from`."""
    df = read_sheet(path, REQUIRED, OPTIONAL)
    for col in ("provider", "model"):
        df = check_column(df, path, col, pl.col(col), "a non-empty name", pl.col(col).str.len_chars() > 0)
    df = df.with_columns(
        pl.col("provider").str.to_lowercase(),
        pl.col("usage_type").str.to_lowercase(),
        pl.col("service_tier").fill_null("standard").str.to_lowercase(),
        pl.col("min_input_tokens").fill_null("0"),
        pl.col("source").fill_null(source_name),
    )
    df = check_column(
        df,
        path,
        "usage_type",
        pl.col("usage_type"),
        f"one of {', '.join(USAGE_TYPES)}",
        pl.col("usage_type").is_in(USAGE_TYPES),
    )
    df = check_column(
        df,
        path,
        "service_tier",
        pl.col("service_tier"),
        f"one of {', '.join(SERVICE_TIERS)}",
        pl.col("service_tier").is_in(SERVICE_TIERS),
    )
    df = check_column(
        df,
        path,
        "usd_per_million",
        pl.col("usd_per_million").cast(pl.Float64, strict=False),
        "a number >= 0 (USD per million tokens)",
        pl.col("usd_per_million").cast(pl.Float64, strict=False) >= 0,
    )
    df = check_column(
        df,
        path,
        "min_input_tokens",
        pl.col("min_input_tokens").cast(pl.Int64, strict=False),
        "a whole number >= 0",
        pl.col("min_input_tokens").cast(pl.Int64, strict=False) >= 0,
    )
    df = check_column(
        df,
        path,
        "effective_from",
        pl.col("effective_from").str.to_date("%Y-%m-%d", strict=False),
        "a date YYYY-MM-DD (or empty)",
        optional=True,
    )
    df = df.with_columns(pl.col("effective_from").fill_null(default_effective_from))
    dupes = df.filter(pl.struct(KEY).is_duplicated())
    if dupes.height:
        row = dupes.row(0, named=True)
        raise SheetError(f"{path}:{row['line']}: duplicate price for {', '.join(f'{k}={row[k]}' for k in KEY)}")
    return df.select(
        *[
            pl.col(c)
            for c in (
                "provider",
                "model",
                "usage_type",
                "service_tier",
                "min_input_tokens",
                "usd_per_million",
                "effective_from",
                "source",
            )
        ],
        pl.lit(source_name).alias("source_name"),
        pl.lit(source_position, dtype=pl.Int32).alias("source_position"),
        pl.lit(str(path)).alias("source_file"),
        pl.col("line").cast(pl.Int64).alias("source_line"),
    ).cast(PRICE_ROW_SCHEMA)
