"""What a build changed, for the run log and the CLI: the published days it re-costs (a backdated price, a
price first seen, a late usage file) with their totals before and after, and the models it left unpriced."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from ingest.sql_literals import sql_list
from warehouse.build import Build
from warehouse.layout import Layout
from warehouse.state import State

log = logging.getLogger("finops")


@dataclass(frozen=True)
class DayCostChange:
    usage_date: str
    published_usd: Decimal    # the day's total cost_usd as published before this run
    rebuilt_usd: Decimal      # ... as this build computed it

    @property
    def delta_usd(self) -> Decimal:
        return self.rebuilt_usd - self.published_usd

    def __str__(self) -> str:
        return f"{self.usage_date}: {self.published_usd:.6f} -> {self.rebuilt_usd:.6f} USD ({self.delta_usd:+.6f})"


def cost_changes(layout: Layout, state: State, build: Build) -> list[DayCostChange]:
    """The build's days that were published before with another total cost_usd (call before publishing:
    `state` still points at the published partitions)."""
    published = {day: layout.data / rel for day, rel in state.partitions["agg_cost_daily"].items()
                 if day in build.days}
    if not published:
        return []
    with duckdb.connect(build.db_path, read_only=True) as con:
        before = dict(con.execute(f"""
            select usage_date::varchar, coalesce(sum(cost_usd), 0)
            from read_parquet({sql_list(published.values())}, hive_partitioning = true) group by 1""").fetchall())
        after = dict(con.execute("""
            select usage_date::varchar, coalesce(sum(cost_usd), 0) from finance.agg_cost_daily group by 1
            """).fetchall())
    zero = Decimal(0)
    changes = [DayCostChange(day, before.get(day, zero), after.get(day, zero)) for day in sorted(published)]
    return [c for c in changes if c.delta_usd != 0]


def unpriced_models(build: Build) -> list[tuple[str, str, int]]:
    """(provider, model, calls) of the build's calls that no price source prices (cost_usd NULL)."""
    try:
        with duckdb.connect(build.db_path, read_only=True) as con:
            return con.execute("""
                select provider, model, count(*) from finance.fct_llm_requests
                where pricing_status = 'unpriced'
                group by all order by 3 desc, 1, 2""").fetchall()
    except duckdb.Error:   # the build stopped before the table was made: dbt's errors say why
        return []


def log_unpriced(build: Build) -> None:
    models = unpriced_models(build)
    if models:
        log.warning("unpriced usage on the built days (no price from any source; cost left NULL): %s",
                    ", ".join(f"{provider}/{model}: {calls} call(s)" for provider, model, calls in models))


def log_cost_changes(changes: list[DayCostChange]) -> None:
    if changes:
        log.warning("re-costed %d published day(s) (their inputs changed): %s", len(changes),
                    "; ".join(str(c) for c in changes))
