"""What a build changed, for the run log and the CLI: the published days it re-costs (a backdated price, a
price first seen, a late usage file) with their totals before and after, the models it left unpriced, the
event_ids recorded more than once (exact repeats, and conflicting duplicates), and the first rows of a query on it
(a failed dbt test's)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from core.layout import Layout
from core.sql_literals import sql_list
from warehouse.build import Build
from warehouse.readonly import DuckDBReader
from warehouse.state import State

log = logging.getLogger("finops")


@dataclass(frozen=True)
class DayCostChange:
    usage_date: str
    published_usd: Decimal  # the day's total cost_usd as published before this run
    rebuilt_usd: Decimal  # ... as this build computed it

    @property
    def delta_usd(self) -> Decimal:
        return self.rebuilt_usd - self.published_usd

    def __str__(self) -> str:
        return f"{self.usage_date}: {self.published_usd:.6f} -> {self.rebuilt_usd:.6f} USD ({self.delta_usd:+.6f})"


def cost_changes(layout: Layout, state: State, build: Build) -> list[DayCostChange]:
    """The build's days that were published before with another total cost_usd (call before publishing:
    `state` still points at the published partitions)."""
    published = {day: layout.data / rel for day, rel in state.partitions["agg_cost_daily"].items() if day in build.days}
    if not published:
        return []
    with duckdb.connect(build.db_path, read_only=True) as con:
        before = dict(
            con.execute(f"""
            select usage_date::varchar, coalesce(sum(cost_usd), 0)
            from read_parquet({sql_list(published.values())}, hive_partitioning = true) group by 1""").fetchall()
        )
        after = dict(
            con.execute("""
            select usage_date::varchar, coalesce(sum(cost_usd), 0) from finance.agg_cost_daily group by 1
            """).fetchall()
        )
    zero = Decimal(0)
    changes = [DayCostChange(day, before.get(day, zero), after.get(day, zero)) for day in sorted(published)]
    return [c for c in changes if c.delta_usd != 0]


def build_rows(db_path: str, sql: str, limit: int) -> list[dict]:
    """The first `limit` rows of `sql` on a build's database file, each a dict by column name (as a Reader's)."""
    with duckdb.connect(db_path, read_only=True) as con:
        return DuckDBReader(con).rows(f"select * from ({sql}) as query limit {int(limit)}", {})


def unpriced_models(build: Build) -> list[tuple[str, str, int]]:
    """(provider, model, calls) of the build's calls that no price source prices (cost_usd NULL)."""
    try:
        with duckdb.connect(build.db_path, read_only=True) as con:
            return con.execute("""
                select provider, model, count(*) from finance.fct_llm_requests
                where pricing_status = 'unpriced'
                group by all order by 3 desc, 1, 2""").fetchall()
    except duckdb.Error:  # the build stopped before the table was made: dbt's errors say why
        return []


def log_unpriced(models: list[tuple[str, str, int]]) -> None:
    """Warn of the build's unpriced calls (unpriced_models)."""
    if models:
        log.warning(
            "unpriced usage on the built days (no price from any source; cost left NULL): %s",
            ", ".join(f"{provider}/{model}: {calls} call(s)" for provider, model, calls in models),
        )


@dataclass(frozen=True)
class RepeatedEvents:
    """The event_ids of one built day recorded more than once (dbt: gate_repeated_events)."""

    usage_date: str
    exact_repeats: int  # every occurrence the same: counted once
    conflicting: int  # occurrences that differ (tokens, model, tier, time, attribution): the first is kept
    examples: tuple[str, ...]  # a few conflicting event_ids

    def __str__(self) -> str:
        shown = (
            f" ({', '.join(self.examples)}{', ...' if self.conflicting > len(self.examples) else ''})"
            if self.examples
            else ""
        )
        return f"{self.usage_date}: {self.conflicting} conflicting{shown}, {self.exact_repeats} exact repeat(s)"


# The rows of the mart gate_repeated_events the summary reads, in SQL both engines run ({0}: where the model is).
REPEATED_SQL = "select cast(usage_date as string), event_id, versions from {0} order by usage_date, event_id"


def repeated_events(build: Build) -> list[RepeatedEvents]:
    """Per built day with any, the event_ids recorded more than once: exact repeats and conflicting duplicates."""
    try:
        with duckdb.connect(build.db_path, read_only=True) as con:
            return summarize_repeated(con.execute(REPEATED_SQL.format("gate.gate_repeated_events")).fetchall())
    except duckdb.Error:  # the build stopped before the table was made: dbt's errors say why
        return []


def summarize_repeated(rows: list[tuple]) -> list[RepeatedEvents]:
    """RepeatedEvents of the (usage_date, event_id, versions) rows of REPEATED_SQL (a few per thousand calls)."""
    days: dict[str, list[tuple[str, int]]] = {}
    for day, event_id, versions in rows:
        days.setdefault(day, []).append((event_id, versions))
    out = []
    for day, events in days.items():
        conflicting = [event_id for event_id, versions in events if versions > 1]
        out.append(RepeatedEvents(day, len(events) - len(conflicting), len(conflicting), tuple(conflicting[:5])))
    return out


def log_repeated(repeated: list[RepeatedEvents]) -> None:
    exact = sum(r.exact_repeats for r in repeated)
    if exact:
        log.info("%d event_id(s) recorded more than once with the same contents: each counted once", exact)
    conflicting = [r for r in repeated if r.conflicting]
    if conflicting:
        log.warning(
            "conflicting duplicates: %d event_id(s) recorded more than once with different contents; the "
            "occurrence in the file staged first (then the lowest line) is kept, the others are not billed: "
            "%s",
            sum(r.conflicting for r in conflicting),
            "; ".join(str(r) for r in conflicting),
        )


def log_cost_changes(changes: list[DayCostChange]) -> None:
    if changes:
        log.warning(
            "re-costed %d published day(s) (their inputs changed): %s", len(changes), "; ".join(str(c) for c in changes)
        )
