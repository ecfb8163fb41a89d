"""The observation history of a scraped source: what each fetch saw, turned into dated rows
(docs/spec.md#prices-and-gpu-offers).

- a key (a price's provider, model, usage type, tier, threshold; an offer's provider, region, GPU, count,
  pricing type) seen for the first time gets a row dated `first_day` (the source's effective_from, else the
  start), so a backfill of older usage is priced;
- a key whose value differs from its latest row gets a new row dated the fetch day (the latest row then ends
  there); seen again the same day, that day's row is replaced;
- an unchanged value adds nothing, and a key missing from a fetch keeps its latest row in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl


@dataclass(frozen=True)
class Merged:
    history: pl.DataFrame
    new: int  # keys seen for the first time
    changed: int  # keys whose value changed
    unchanged: int


def merge_observation(
    history: pl.DataFrame,
    seen: pl.DataFrame,
    *,
    key: tuple[str, ...],
    value: str,
    date_col: str,
    fetch_day: date,
    first_day: date,
) -> Merged:
    """`history`: the source's dated rows so far (the columns of `seen` plus `date_col`); `seen`: this fetch."""
    latest = (
        history.sort(date_col)
        .group_by(list(key), maintain_order=True)
        .last()
        .select(*key, pl.col(value).alias("__last"), pl.col(date_col).alias("__since"))
    )
    joined = seen.join(latest, on=list(key), how="left")
    first = joined.filter(pl.col("__last").is_null()).with_columns(pl.lit(first_day).alias(date_col))
    changed = joined.filter(pl.col("__last").is_not_null() & (pl.col(value) != pl.col("__last"))).with_columns(
        pl.max_horizontal(pl.lit(fetch_day), pl.col("__since")).alias(date_col)
    )
    added = pl.concat([first, changed]).select(history.columns).cast(history.schema)
    kept = history.join(added.select(*key, date_col), on=[*key, date_col], how="anti")
    merged = pl.concat([kept, added]).sort([*key, date_col])
    return Merged(
        history=merged, new=first.height, changed=changed.height, unchanged=seen.height - first.height - changed.height
    )
