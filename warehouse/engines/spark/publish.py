"""Publish a Spark build: its marts, checked by the gate, become the Spark tables of the published database.

- fct_llm_requests, fct_llm_tasks, agg_cost_daily, self_hosted_allocation: Parquet tables partitioned by
  usage_date; `insert overwrite` with dynamic partition overwrite replaces only the rebuilt days' partitions
  (a rebuilt day that has no rows any more loses its partition).
- the small tables (showback_weekly, cost_anomalies, ..., data_quality_results) are overwritten whole.
- then the state this publish leaves, as the one row of <database>_pipeline.state (what the DuckDB catalog's
  finops_pipeline.state is: warehouse/state.py).
The guarantees differ from the DuckDB file swap (one table at a time, not one rename): docs/spark.md.
"""

from __future__ import annotations

import logging
import shutil
from decimal import Decimal
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from core.layout import Layout
from core.spark_config import SparkSettings
from warehouse.build import Build
from warehouse.build_summary import DayCostChange
from warehouse.finance_tables import per_day_tables, whole_tables
from warehouse.publish import partition_days
from warehouse.state import Published, State, load_state, published_copy

log = logging.getLogger("finops")


def state_table(settings: SparkSettings) -> str:
    return f"{settings.database}_pipeline.state"


def spark_published_state(spark: SparkSession, settings: SparkSettings) -> Published | None:
    """What the published Spark database holds; None when nothing is published."""
    where = f"Spark database {settings.database}"
    if spark.catalog.tableExists(state_table(settings)):
        return Published(
            where,
            published_copy(
                spark.table(state_table(settings)).first()["state"], f"the Spark table {state_table(settings)}"
            ),
        )
    return Published(where, None) if spark.catalog.tableExists(f"{settings.database}.agg_cost_daily") else None


def write_spark_state(spark: SparkSession, settings: SparkSettings, state: State) -> None:
    spark.sql(f"create database if not exists {settings.database}_pipeline")
    spark.createDataFrame([(state.published_build, state.to_json())], "build_id string, state string").write.mode(
        "overwrite"
    ).saveAsTable(state_table(settings))


def _days_sql(days: list[str]) -> str:
    return ", ".join(f"date '{d}'" for d in days)


def spark_cost_changes(spark: SparkSession, settings: SparkSettings, state: State, build: Build) -> list[DayCostChange]:
    """The build's days that were published before with another total cost_usd (call before publishing)."""
    published = [day for day in state.partitions["agg_cost_daily"] if day in build.days]
    if not published:
        return []

    def totals(table: str) -> dict[str, Decimal]:
        return {
            str(r[0]): r[1]
            for r in spark.sql(
                f"select usage_date, coalesce(sum(cost_usd), 0) from {table} "
                f"where usage_date in ({_days_sql(published)}) group by usage_date"
            ).collect()
        }

    before = totals(f"{settings.database}.agg_cost_daily")
    after = totals(f"{settings.build_finance}.agg_cost_daily")
    zero = Decimal(0)
    changes = [DayCostChange(day, before.get(day, zero), after.get(day, zero)) for day in sorted(published)]
    return [c for c in changes if c.delta_usd != 0]


def table_location(spark: SparkSession, table: str) -> str:
    rows = spark.sql(f"describe table extended {table}").collect()
    return next(r["data_type"] for r in rows if r["col_name"] == "Location")


def _same_columns(spark: SparkSession, table: str, source: str) -> bool:
    return spark.catalog.tableExists(table) and sorted(spark.table(table).dtypes) == sorted(spark.table(source).dtypes)


def publish_partitioned(spark: SparkSession, settings: SparkSettings, build: Build, state: State, table: str) -> None:
    """Replace the build's days of one per-day table; point `state` at the partitions."""
    source, target = f"{settings.build_finance}.{table}", f"{settings.database}.{table}"
    days = partition_days(table, build)
    columns = ", ".join([c for c in spark.table(source).columns if c != "usage_date"] + ["usage_date"])
    if not _same_columns(spark, target, source):  # first publish, or the model's columns changed (every day
        spark.sql(f"drop table if exists {target}")  # is rebuilt then: the code is in each day's fingerprint)
        spark.sql(
            f"create table {target} using parquet partitioned by (usage_date) "
            f"as select {columns} from {source} where 1 = 0"
        )
        state.partitions[table] = {}
    rows = f"(select {columns} from {source})"
    spark.sql(
        f"insert overwrite table {target} partition (usage_date) "
        f"select {columns} from {rows} where usage_date in ({_days_sql(days)})"
    )
    present = {
        str(r[0])
        for r in spark.sql(f"select distinct usage_date from {rows} where usage_date in ({_days_sql(days)})").collect()
    }
    location = table_location(spark, target)
    for day in days:
        if day in present:
            state.partitions[table][day] = f"{location}/usage_date={day}"
        else:  # the day has no rows (any more)
            spark.sql(f"alter table {target} drop if exists partition (usage_date = date '{day}')")
            state.partitions[table].pop(day, None)


def publish_whole(spark: SparkSession, target: str, source: str) -> None:
    """Overwrite a small table with the rows of `source` (a table or view)."""
    if not _same_columns(spark, target, source):
        spark.sql(f"drop table if exists {target}")
        spark.sql(f"create table {target} using parquet as select * from {source} where 1 = 0")
    columns = ", ".join(spark.table(target).columns)
    spark.sql(f"insert overwrite table {target} select {columns} from {source}")


def publish_spark(spark: SparkSession, settings: SparkSettings, layout: Layout, build: Build) -> list[DayCostChange]:
    """Write the build's tables into the published database; the built days are no longer failed.
    Returns the published days whose total cost this build changed (re-rating)."""
    state = load_state(layout, spark_published_state(spark, settings))
    changes = spark_cost_changes(spark, settings, state, build)
    spark.sql(f"create database if not exists {settings.database}")
    for table in per_day_tables():
        publish_partitioned(spark, settings, build, state, table)
    for table in whole_tables():
        publish_whole(spark, f"{settings.database}.{table}", f"{settings.build_finance}.{table}")
    results = sorted(layout.results_dir.glob("*.parquet"))
    spark.read.parquet(*map(str, results)).withColumn("checked_at", F.col("checked_at").cast("timestamp")).orderBy(
        "checked_at", "suite", "expectation"
    ).createOrReplaceTempView("finops_quality_results")
    publish_whole(spark, f"{settings.database}.data_quality_results", "finops_quality_results")
    spark.catalog.dropTempView("finops_quality_results")
    state.record_published(build)
    write_spark_state(spark, settings, state)
    state.save(layout.state_file)
    for database in (settings.build_finance, settings.build_gate, settings.build_raw, settings.build_schema):
        spark.sql(f"drop database if exists {database} cascade")
    shutil.rmtree(Path(build.target_path).parent, ignore_errors=True)
    log.info("published Spark database %s", settings.database)
    return changes
