"""The canonical GPU offer sheet (docs/spec.md#prices-and-gpu-offers): one row per observed rental offer."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from core.vocabulary import PRICINGS
from ingest.sheets import check_column, read_sheet

REQUIRED = ("provider", "gpu_model", "gpu_count", "pricing_type", "usd_per_hour", "observed_on")
OPTIONAL = ("vram_gb", "region", "source")

# The schema of staged GPU offers, whatever the source kind.
GPU_OFFER_SCHEMA = {
    "observed_on": pl.Date,
    "provider": pl.String,
    "gpu_model": pl.String,
    "gpu_count": pl.Int32,
    "vram_gb": pl.Float64,
    "pricing_type": pl.String,
    "region": pl.String,
    "usd_per_hour": pl.Float64,
    "source": pl.String,
    "source_name": pl.String,
    "source_position": pl.Int32,
    "source_file": pl.String,
}

# What a listing reader returns: the offers it lists now, undated (ingest/fetched_sources.py dates them from
# the observation history and adds the source columns).
GPU_SEEN_SCHEMA = {
    k: GPU_OFFER_SCHEMA[k]
    for k in ("provider", "gpu_model", "gpu_count", "vram_gb", "pricing_type", "region", "usd_per_hour", "source")
}
GPU_KEY = ("provider", "region", "gpu_model", "gpu_count", "pricing_type")


def read_gpu_sheet(path: Path, *, source_name: str, source_position: int) -> pl.DataFrame:
    df = read_sheet(path, REQUIRED, OPTIONAL)
    for col in ("provider", "gpu_model"):
        df = check_column(df, path, col, pl.col(col), "a non-empty name", pl.col(col).str.len_chars() > 0)
    df = df.with_columns(
        pl.col("provider").str.to_lowercase(),
        pl.col("pricing_type").str.to_lowercase(),
        pl.col("region").fill_null(""),
        pl.col("source").fill_null(source_name),
    )
    df = check_column(
        df,
        path,
        "pricing_type",
        pl.col("pricing_type"),
        f"one of {', '.join(PRICINGS)}",
        pl.col("pricing_type").is_in(PRICINGS),
    )
    df = check_column(
        df,
        path,
        "gpu_count",
        pl.col("gpu_count").cast(pl.Int32, strict=False),
        "a whole number >= 1",
        pl.col("gpu_count").cast(pl.Int32, strict=False) >= 1,
    )
    df = check_column(
        df,
        path,
        "usd_per_hour",
        pl.col("usd_per_hour").cast(pl.Float64, strict=False),
        "a number >= 0 (USD per hour for the whole offer)",
        pl.col("usd_per_hour").cast(pl.Float64, strict=False) >= 0,
    )
    df = check_column(
        df,
        path,
        "vram_gb",
        pl.col("vram_gb").cast(pl.Float64, strict=False),
        "a number of GB (or empty)",
        optional=True,
    )
    df = check_column(
        df, path, "observed_on", pl.col("observed_on").str.to_date("%Y-%m-%d", strict=False), "a date YYYY-MM-DD"
    )
    return df.select(
        *[
            pl.col(c)
            for c in (
                "observed_on",
                "provider",
                "gpu_model",
                "gpu_count",
                "vram_gb",
                "pricing_type",
                "region",
                "usd_per_hour",
                "source",
            )
        ],
        pl.lit(source_name).alias("source_name"),
        pl.lit(source_position, dtype=pl.Int32).alias("source_position"),
        pl.lit(str(path)).alias("source_file"),
    ).cast(GPU_OFFER_SCHEMA)
