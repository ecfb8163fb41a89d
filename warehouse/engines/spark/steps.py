"""The Spark side of the pipeline's steps (`[warehouse] engine = "spark"`). warehouse/pipeline.py runs the same steps
on both engines and calls these where the engine matters; this module is imported only then (pyspark is an
optional extra).

    stage      prices and GPU offers as on DuckDB; canonical usage files read by Spark (warehouse/engines/spark/usage.py)
    plan       the same days and fingerprints (warehouse/build.py)
    build      the inputs registered in <build_schema>_raw, the same dbt project run on Spark (dbt-spark)
    gate       the dbt tests + the same expectation suites, validated by GX on Spark DataFrames
    publish    the build's days replace their partitions of the published Spark tables (warehouse/engines/spark/publish.py)
"""

from __future__ import annotations

from functools import partial

from warehouse.engines.spark.gate import run_suites_spark, spark_relations
from expectations.suites import Relations, Suite
from finops.config import Config
from warehouse.engines.spark.usage import stage_usage_file_spark
from warehouse.build import Build
from warehouse.build_summary import REPEATED_SQL, DayCostChange, RepeatedEvents, summarize_repeated
from warehouse.layout import Layout
from warehouse.quality import CheckResult
from warehouse.engines.spark.build import prepare_spark_build
from warehouse.engines.spark.publish import publish_spark, spark_published_state
from warehouse.engines.spark.session import run_dbt_spark, spark_session
from warehouse.state import Published, State


def canonical_reader(cfg: Config):
    """What reads a canonical usage file: stage_usage_file_spark on this process's SparkSession."""
    return partial(stage_usage_file_spark, spark_session(cfg.spark))


def published_state(cfg: Config) -> Published | None:
    return spark_published_state(spark_session(cfg.spark), cfg.spark)


def prepare_build(cfg: Config, layout: Layout, state: State, build: Build) -> None:
    prepare_spark_build(spark_session(cfg.spark), cfg, layout, state, build)


def run_dbt(cfg: Config, build: Build) -> None:
    run_dbt_spark(build, cfg.spark)


def relations(cfg: Config) -> Relations:
    return spark_relations(cfg.spark)


def run_suites(cfg: Config, suites: list[Suite]) -> list[CheckResult]:
    return run_suites_spark(spark_session(cfg.spark), cfg.spark, suites)


def repeated_events(cfg: Config) -> list[RepeatedEvents]:
    """The build's event_ids recorded more than once (warehouse/build_summary.py repeated_events, on Spark)."""
    spark = spark_session(cfg.spark)
    relation = f"{cfg.spark.build_schema}.int_usage_events__repeated"
    if not spark.catalog.tableExists(relation):   # the build stopped before the table was made
        return []
    return summarize_repeated([tuple(r) for r in spark.sql(REPEATED_SQL.format(relation)).collect()])


def publish(cfg: Config, layout: Layout, build: Build) -> list[DayCostChange]:
    return publish_spark(spark_session(cfg.spark), cfg.spark, layout, build)
