"""Publish a build: its per-day rows become new immutable Parquet partitions, and a new small catalog file
(views over the partitions + the small tables) replaces the published warehouse file with one atomic
rename. Readers connected to the old file keep reading it; the next connection sees the new one."""

from __future__ import annotations

import logging
import os
import time

import duckdb

from core.layout import Layout
from core.sql_literals import sql_list, sql_str
from warehouse.build import Build, task_days
from warehouse.finance_tables import built_as_partitions, per_day_tables, whole_tables
from warehouse.retention import temp_catalog
from warehouse.state import State, write_catalog_state

log = logging.getLogger("finops")


def partition_days(table: str, build: Build) -> list[str]:
    """The days of a per-day table that a build rewrites (tasks: also the day before and after each build day)."""
    return task_days(build.days) if table == "fct_llm_tasks" else sorted(build.days)


def export_partitions(layout: Layout, build: Build, state: State) -> None:
    """Move or write the build's rows of each per-day table as new Parquet files, and point `state` at them (the
    files they replace are recorded as superseded now)."""
    now = time.time()
    with duckdb.connect(build.db_path, read_only=True, config={"memory_limit": build.memory_limit}) as con:
        built = built_as_partitions()
        for table in per_day_tables():
            days = partition_days(table, build)
            out_dir = layout.tables_dir / table / build.build_id
            out_dir.mkdir(parents=True, exist_ok=True)
            # a build day of a table built as partitions holds the build's rows alone: moved; the other days are
            # written (fct_llm_tasks: with the tasks kept as published)
            moved = build.days if table in built else []
            written = [d for d in days if d not in moved]
            if written:
                day_list = ", ".join(f"date '{d}'" for d in written)
                columns = ", ".join(r[0] for r in con.execute(f"describe finance.{table}").fetchall())
                con.execute(f"""copy (select {columns} from finance.{table} where usage_date in ({day_list}))
                                to {sql_str(out_dir)} (format parquet, partition_by (usage_date), overwrite true)""")
            for day in moved:  # (a build day without rows has no folder)
                written_by_dbt = build.partitions_dir / built[table] / f"usage_date={day}"
                if written_by_dbt.exists():
                    written_by_dbt.rename(out_dir / written_by_dbt.name)
            current = state.partitions[table]
            for day in days:
                files = sorted((out_dir / f"usage_date={day}").glob("*.parquet"))
                before = current.pop(day, None)  # (a day with no rows any more has no file)
                if files:
                    current[day] = str(files[0].relative_to(layout.data))
                if before and before != current.get(day):
                    state.superseded[before] = now


def write_catalog(layout: Layout, build: Build, state: State) -> None:
    """Build the new catalog beside the published file, then swap it in with os.replace (atomic). It holds `state`
    too, the state this publish leaves (warehouse/state.py), and every check result: the results files beside the rows
    of the catalog it replaces (results files are deleted after a while: warehouse/retention.py)."""
    tmp = temp_catalog(layout, build.build_id)
    layout.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(tmp), config={"memory_limit": build.memory_limit}) as con:
        con.execute(f"attach {sql_str(build.db_path)} as build (read_only)")
        con.execute("create schema finance")
        for table in per_day_tables():
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'build' "
                    "and table_schema = 'finance' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
            ]
            files = [layout.data / rel for _, rel in sorted(state.partitions[table].items())]
            if files:
                con.execute(f"""create view finance.{table} as select {", ".join(columns)}
                                from read_parquet({sql_list(files)}, hive_partitioning = true)""")
            else:
                con.execute(f"create table finance.{table} as select * from build.finance.{table} where false")
        for table in whole_tables():
            con.execute(f"create table finance.{table} as select * from build.finance.{table}")
        write_quality_results(con, layout)
        write_catalog_state(con, state)
        con.execute("detach build")
    os.replace(tmp, layout.warehouse)
    log.info("published %s", layout.warehouse)


def write_quality_results(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """finance.data_quality_results of the new catalog on `con`: the rows of every results file (there is one at
    least: this run's), and the rows of the published catalog's table of the runs whose file is gone."""
    files = f"read_parquet({sql_list(sorted(layout.results_dir.glob('*.parquet')))}, union_by_name = true)"
    rows = f"select * from {files}"
    if layout.warehouse.exists():
        con.execute(f"attach {sql_str(layout.warehouse)} as published (read_only)")
        if con.execute(
            "select 1 from duckdb_tables() where database_name = 'published' and schema_name = 'finance' "
            "and table_name = 'data_quality_results'"
        ).fetchall():
            rows += (
                " union all by name select * from published.finance.data_quality_results "
                f"where run_id not in (select run_id from {files})"
            )
    con.execute(
        f"create table finance.data_quality_results as select * from ({rows}) order by checked_at, suite, expectation"
    )
    if layout.warehouse.exists():
        con.execute("detach published")
