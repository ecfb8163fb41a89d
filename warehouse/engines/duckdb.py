"""engine = "duckdb": a build is a new DuckDB file with the staged inputs as dbt's sources (warehouse/build.py); dbt
builds it on the profiles.yml target `duckdb`; GX's SQL execution engine validates the suites in it
(expectations/gate.py); publishing exports its per-day Parquet partitions and swaps in a new catalog file with a
rename, so finance's read-only connections never see a half-published warehouse (warehouse/publish.py)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import TextIO

from core.config import Config
from core.layout import Layout
from expectations.results import CheckResult
from expectations.suites import DUCKDB, Suite
from warehouse.build import Build, prepare_build_db
from warehouse.build_summary import DayCostChange, RepeatedEvents, build_rows, cost_changes, repeated_events
from warehouse.dbt_args import close_dbt_duckdb, run_dbt
from warehouse.engines import Reader
from warehouse.finance_tables import FinanceTable
from warehouse.publish import export_partitions, write_catalog
from warehouse.readonly import WarehouseMissing
from warehouse.retention import collect_garbage
from warehouse.state import Published, State, catalog_state, load_state


class DuckDBEngine:
    relations = DUCKDB

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.where = str(cfg.warehouse_path)

    def published_state(self) -> Published | None:
        return catalog_state(self.cfg.warehouse_path)

    def canonical_reader(self):
        return None

    def prepare_build(self, layout: Layout, state: State, build: Build) -> None:
        prepare_build_db(self.cfg, layout, state, build)

    def run_dbt(self, build: Build, on_event=None) -> None:
        # DuckDB's memory limit, read by the target (whose database is build.duckdb in the build's folder, build.db_path)
        try:
            run_dbt(build, "duckdb", {"FINOPS_MEMORY_LIMIT": build.memory_limit}, on_event)
        finally:
            close_dbt_duckdb()

    def run_suites(self, build: Build, suites: list[Suite]) -> list[CheckResult]:
        from expectations.gate import run_suites

        return run_suites(build.db_path, suites, memory_limit=build.memory_limit)

    def build_rows(self, build: Build, sql: str, limit: int) -> list[dict]:
        return build_rows(build.db_path, sql, limit)

    def repeated_events(self, build: Build) -> list[RepeatedEvents]:
        return repeated_events(build)

    def publish(self, layout: Layout, build: Build) -> list[DayCostChange]:
        state = load_state(layout, self.published_state())
        changes = cost_changes(layout, state, build)
        export_partitions(layout, build, state)
        state.record_published(build)
        write_catalog(layout, build, state)  # (a crash from here on: the catalog's copy of the state is newer)
        collect_garbage(layout, state)
        state.save(layout.state_file)
        shutil.rmtree(Path(build.db_path).parent, ignore_errors=True)
        return changes

    def reader(self) -> Reader:
        from warehouse.readonly import DuckDBReader, connect_read_only

        return DuckDBReader(connect_read_only(self.cfg.warehouse_path))

    def run_sql(self, query: str | None, stdin: TextIO, fmt: str, out: Path | None) -> int:
        from warehouse.readonly import connect_read_only, run_queries, run_shell

        con = connect_read_only(self.cfg.warehouse_path)
        if query is None and fmt == "table" and out is None:
            return run_shell(con, stdin, Path.home() / ".finops_sql_history")
        return run_queries(con, stdin.read() if query is None else query, fmt, out)

    def export(self, table: FinanceTable, start: date | None, end: date | None, fmt: str, out: Path) -> int:
        from warehouse.export import export_table
        from warehouse.readonly import connect_read_only

        with connect_read_only(self.cfg.warehouse_path) as con:
            return export_table(con, table, start, end, fmt, out)

    def copy_for_docs(self, database: Path) -> bool:
        if not self.cfg.warehouse_path.exists():
            raise WarehouseMissing(
                f"{self.cfg.warehouse_path}: no published warehouse yet (run `finops run` or `finops backfill` "
                "first): the docs take the finance tables' column types from it"
            )
        shutil.copyfile(self.cfg.warehouse_path, database)
        return True

    def export_focus(self, month: date, fmt: str, out: Path):
        from warehouse.focus import export_focus
        from warehouse.readonly import connect_read_only

        with connect_read_only(self.cfg.warehouse_path) as con:
            return export_focus(con, month, fmt, out)
