"""The nightly pipeline on Spark (`[warehouse] engine = "spark"`): the same steps as warehouse/pipeline.py.

    stage      prices and GPU offers as on DuckDB; canonical usage files read by Spark (ingest/spark_usage.py)
    plan       the same days and fingerprints (warehouse/build.py)
    build      the inputs registered in <build_schema>_raw, the same dbt project run on Spark (dbt-spark)
    gate       the dbt tests + the same expectation suites, validated by GX on Spark DataFrames
    publish    the build's days replace their partitions of the published Spark tables (warehouse/spark_publish.py)
"""

from __future__ import annotations

import logging
from datetime import date
from functools import partial

from expectations.quality_report import quality_report_path
from expectations.spark_gate import run_suites_spark, spark_relations
from finops.config import Config
from ingest.spark_usage import stage_usage_file_spark
from warehouse.build import Build, plan_build
from warehouse.build_summary import DayCostChange, log_cost_changes
from warehouse.layout import Layout
from warehouse.pipeline import RunOutcome, gate, pipeline_lock
from warehouse.quality import CheckResult
from warehouse.spark_build import prepare_spark_build
from warehouse.spark_publish import publish_spark
from warehouse.spark_session import run_dbt_spark, spark_session
from warehouse.stage import UsageStaging, stage_gpu_offers, stage_prices, stage_usage
from warehouse.state import State

log = logging.getLogger("finops")


def stage_usage_files_spark(cfg: Config, layout: Layout) -> tuple[State, UsageStaging]:
    """Read new and changed usage files (canonical ones with Spark); returns the (saved) state and what was read."""
    state = State.load(layout.state_file)
    staging = stage_usage(cfg, layout, state,
                          canonical_reader=partial(stage_usage_file_spark, spark_session(cfg.spark)))
    state.save(layout.state_file)
    if staging.quarantined:
        log.warning("%d usage record(s) quarantined (see finance.quarantine)", staging.quarantined)
    return state, staging


def prepare_spark(cfg: Config, layout: Layout, state: State, days: list[date]) -> Build:
    build = plan_build(cfg, layout, state, days)
    prepare_spark_build(spark_session(cfg.spark), cfg, layout, state, build)
    extra = sorted(set(build.days) - {d.isoformat() for d in days})
    if extra:
        log.info("also rebuilding %d day(s) whose inputs changed: %s", len(extra), ", ".join(extra))
    return build


def gate_spark(cfg: Config, layout: Layout, build: Build) -> list[CheckResult]:
    return gate(cfg, layout, build, spark_relations(cfg.spark),
                partial(run_suites_spark, spark_session(cfg.spark), cfg.spark))


def publish_to_spark(cfg: Config, layout: Layout, build: Build) -> list[DayCostChange]:
    changes = publish_spark(spark_session(cfg.spark), cfg.spark, layout, build)
    log_cost_changes(changes)
    return changes


def run_days_spark(cfg: Config, days: list[date]) -> RunOutcome:
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        stage_prices(cfg, layout)
        stage_gpu_offers(cfg, layout)
        state = stage_usage_files_spark(cfg, layout)[0]
        build = prepare_spark(cfg, layout, state, days)
        log.info("building %d day(s) on Spark: %s .. %s", len(build.days), build.days[0], build.days[-1])
        run_dbt_spark(build, cfg.spark)
        failed = [r for r in gate_spark(cfg, layout, build) if not r.success]
        changes = [] if failed else publish_to_spark(cfg, layout, build)
        return RunOutcome(published=not failed, build=build, failed_checks=failed,
                          report=quality_report_path(cfg.reports_dir, build.days[-1]), cost_changes=changes)
