"""The engine that builds, checks and publishes the warehouse, chosen once from [warehouse] engine.

    duckdb   a DuckDB file per build; published as Parquet partitions and a catalog file swapped in with a rename
             (warehouse/engines/duckdb.py, docs/warehouse.md)
    spark    the same dbt project on Spark; published as the Spark tables of [warehouse.spark] database
             (warehouse/engines/spark/, docs/spark.md)

warehouse/pipeline.py runs the night's steps (stage, plan, build, gate, publish) the same way on both and asks the
engine only for what differs; `finops sql` reads through the engine too, and the reports through its Reader. `engine_of` is the one place that looks
at the engine's name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

    from core.config import Config
    from core.layout import Layout
    from expectations.results import CheckResult
    from expectations.suites import Relations, Suite
    from warehouse.build import Build
    from warehouse.build_summary import DayCostChange, RepeatedEvents
    from warehouse.finance_tables import FinanceTable
    from warehouse.focus import FocusExport
    from warehouse.state import Published, State


class Reader(Protocol):
    """Queries on what is published: what the reports read the finance tables through (reports/figures.py), named
    without their schema (DuckDB: finance; Spark: [warehouse.spark] database). On DuckDB every query reads the
    snapshot it opened (a publish meanwhile is not seen); on Spark each query reads the tables as they are then."""

    def rows(self, sql: str, params: dict) -> list[dict]:
        """The rows of `sql`, each a dict by column name; `params` are its $name parameters of single values (those
        it uses)."""

    def close(self) -> None: ...


class Engine(Protocol):
    where: str  # what is published, for messages: the warehouse file, or "Spark database <database>"
    relations: Relations  # where the gate's suites find a build's relations (expectations/suites.py)

    def published_state(self) -> Published | None:
        """The copy of the pipeline's state in what is published (warehouse/state.py); None: nothing published."""

    def canonical_reader(self) -> Callable | None:
        """What stages a canonical usage file (ingest/stage.py); None: DuckDB's reader."""

    def prepare_build(self, layout: Layout, state: State, build: Build) -> None:
        """Create the build's inputs: the relations dbt's sources name."""

    def run_dbt(self, build: Build, on_event: Callable[[dict], None] | None = None) -> None:
        """`dbt build` of the build's days, in this process (warehouse/dbt_args.py run_dbt)."""

    def run_suites(self, build: Build, suites: list[Suite]) -> list[CheckResult]:
        """Validate the gate's expectation suites on the build."""

    def build_rows(self, build: Build, sql: str, limit: int) -> list[dict]:
        """The first `limit` rows of a query on the build (a failed dbt test's compiled SQL), each a dict by column."""

    def repeated_events(self, build: Build) -> list[RepeatedEvents]:
        """The build's event_ids recorded more than once."""

    def publish(self, layout: Layout, build: Build) -> list[DayCostChange]:
        """Publish the build's days; returns the published days whose total cost changed (re-rating)."""

    def reader(self) -> Reader:
        """A read-only Reader on what is published, for the reports (reports/weekly.py)."""

    def run_sql(self, query: str | None, stdin: TextIO, fmt: str, out: Path | None) -> int:
        """`finops sql`: read-only queries on what is published (None: statements from stdin), each result written in
        `fmt` (warehouse/sql_output.py) to `out` or stdout; 1 if one failed."""

    def export(self, table: FinanceTable, start: date | None, end: date | None, fmt: str, out: Path) -> int:
        """`finops export`: a finance table's rows of the days [start, end] to `out`; the number of rows written."""

    def export_focus(self, month: date, fmt: str, out: Path) -> FocusExport:
        """`finops export focus`: the month's bill as FOCUS rows to `out` (warehouse/focus.py)."""

    def copy_for_docs(self, database: Path) -> bool:
        """`finops docs`: copy the published tables to the DuckDB file `database` for dbt's catalog (their column
        types); False when the engine cannot (the page then has no column types)."""


def engine_of(cfg: Config) -> Engine:
    """The engine [warehouse] engine names; Spark's modules are imported only then (pyspark is an optional extra)."""
    if cfg.engine == "spark":
        from warehouse.engines.spark import SparkEngine

        return SparkEngine(cfg)
    from warehouse.engines.duckdb import DuckDBEngine

    return DuckDBEngine(cfg)
