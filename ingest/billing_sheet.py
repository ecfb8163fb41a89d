"""What a vendor billed, per day (docs/spec.md#billing): the rows every [[billing.sources]] kind becomes, and the
`billing_sheet` kind, a CSV `date,provider,account,usd[,description]` for any invoice (GPU clouds included)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest.sheets import check_column, read_sheet

REQUIRED = ("date", "provider", "account", "usd")
OPTIONAL = ("description",)

# One billed amount of one day, provider and account (NULL: the provider's whole bill); the source columns are set
# at staging (warehouse/fetched_sources.py).
BILLED_SCHEMA = {
    "usage_date": pl.Date,
    "provider": pl.String,
    "account_id": pl.String,
    "billed_usd": pl.Float64,
    "description": pl.String,
    "source_file": pl.String,
    "source_line": pl.Int64,
}


def read_billing_sheet(path: Path) -> pl.DataFrame:
    """Read and check a billing sheet: a date YYYY-MM-DD, a provider, an account (may be empty: the whole provider),
    an amount in USD (negative for a credit)."""
    df = read_sheet(path, REQUIRED, OPTIONAL)
    df = check_column(df, path, "date", pl.col("date").str.to_date("%Y-%m-%d", strict=False), "a date YYYY-MM-DD")
    df = check_column(
        df, path, "provider", pl.col("provider").str.to_lowercase(), "a provider name", pl.col("provider") != ""
    )
    df = check_column(df, path, "usd", pl.col("usd").cast(pl.Float64, strict=False), "an amount in USD, e.g. 12.34")
    return df.select(
        pl.col("date").alias("usage_date"),
        pl.col("provider"),
        pl.when(pl.col("account") != "").then(pl.col("account")).alias("account_id"),
        pl.col("usd").alias("billed_usd"),
        pl.col("description"),
        pl.lit(str(path)).alias("source_file"),
        pl.col("line").cast(pl.Int64).alias("source_line"),
    ).cast(BILLED_SCHEMA)
