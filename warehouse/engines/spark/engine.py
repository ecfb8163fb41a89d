"""engine = "spark": the pipeline's steps on Spark (docs/spark.md); this package is imported only then (pyspark is
an optional extra).

    stage      prices and GPU offers as on DuckDB; canonical usage files read by Spark (usage.py)
    plan       the same days and fingerprints (warehouse/build.py)
    build      the inputs registered in <build_schema>_raw (build.py), the same dbt project on the profiles.yml
               target `spark` (dbt-spark; with method = "session", on this process's SparkSession: session.py)
    gate       the dbt tests + the same expectation suites, validated by GX on Spark DataFrames (gate.py)
    publish    the build's days replace their partitions of the published Spark tables (publish.py)
    sql        `finops sql`: reading statements only, on the published tables (readonly.py)
    read       the reports' queries on the published tables (readonly.py SparkReader)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TextIO

from core.config import Config
from core.layout import Layout, WarehouseError
from expectations.results import CheckResult
from expectations.suites import Suite
from warehouse.build import Build
from warehouse.build_summary import REPEATED_SQL, DayCostChange, RepeatedEvents, summarize_repeated
from warehouse.dbt_args import run_dbt
from warehouse.engines.spark.build import prepare_spark_build
from warehouse.engines.spark.gate import run_suites_spark, spark_relations
from warehouse.engines.spark.publish import publish_spark, spark_published_state
from warehouse.engines.spark.session import dbt_env, spark_session
from warehouse.engines.spark.usage import stage_usage_file_spark
from warehouse.state import Published, State


class SparkEngine:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.settings = cfg.spark
        self.where = f"Spark database {cfg.spark.database}"
        self.relations = spark_relations(cfg.spark)

    @property
    def spark(self):
        return spark_session(self.settings)

    def published_state(self) -> Published | None:
        return spark_published_state(self.spark, self.settings)

    def canonical_reader(self):
        """stage_usage_file_spark on this process's SparkSession."""
        return partial(stage_usage_file_spark, self.spark)

    def prepare_build(self, layout: Layout, state: State, build: Build) -> None:
        prepare_spark_build(self.spark, self.cfg, layout, state, build)

    def run_dbt(self, build: Build, on_event=None) -> None:
        _ = self.spark  # started before dbt: dbt-spark's session method uses the running SparkSession
        run_dbt(build, "spark", dbt_env(self.settings), on_event)

    def run_suites(self, build: Build, suites: list[Suite]) -> list[CheckResult]:
        return run_suites_spark(self.spark, suites)

    def build_rows(self, build: Build, sql: str, limit: int) -> list[dict]:
        return [row.asDict() for row in self.spark.sql(sql).limit(limit).collect()]

    def repeated_events(self, build: Build) -> list[RepeatedEvents]:
        """The build's event_ids recorded more than once (warehouse/build_summary.py repeated_events, on Spark)."""
        relation = f"{self.settings.build_gate}.gate_repeated_events"
        if not self.spark.catalog.tableExists(relation):  # the build stopped before the table was made
            return []
        return summarize_repeated([tuple(r) for r in self.spark.sql(REPEATED_SQL.format(relation)).collect()])

    def publish(self, layout: Layout, build: Build) -> list[DayCostChange]:
        return publish_spark(self.spark, self.settings, layout, build)

    def reader(self):
        from warehouse.engines.spark.readonly import SparkReader
        from warehouse.readonly import WarehouseMissing

        if not self.spark.catalog.databaseExists(self.settings.database):
            raise WarehouseMissing(f"{self.where}: nothing published yet (run `finops run` or `finops backfill` first)")
        return SparkReader(self.spark, self.settings.database)

    def export(self, table, start, end, fmt, out) -> int:
        raise WarehouseError(
            'finops export reads the published DuckDB warehouse; it is not available with engine = "spark" yet '
            "(query the Spark tables with `finops sql`; docs/spark.md)"
        )

    def copy_for_docs(self, database):
        return False

    def export_focus(self, month, fmt, out):
        return self.export(None, None, None, fmt, out)

    def run_sql(self, query: str | None, stdin: TextIO, fmt: str, out: Path | None) -> int:
        from warehouse.engines.spark.readonly import run_spark_sql

        if fmt != "table" or out is not None:
            raise WarehouseError(
                'finops sql --format and --out read the published DuckDB warehouse; with engine = "spark" the '
                "results are printed as a table (docs/spark.md)"
            )

        return run_spark_sql(self.settings, [query] if query is not None else stdin.read().split(";"))
