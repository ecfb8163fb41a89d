"""A build on Spark: the staged inputs of the build's days registered as the dbt sources, in the Spark database
<build_schema>_raw (what warehouse/build.py's prepare_build_db does in a DuckDB build file).

The usage rows stay where staging wrote them: `usage_events` is a view over the staged Parquet files of the build
days (one branch per staged file and day). The small inputs (prices, GPU offers, quarantine, deployments, the
build days, the gate's file and price-source figures) are tables or views of literal rows. The build's own
databases are dropped first: a build never reads what an earlier one left.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from core.config import Config
from core.layout import Layout
from ingest.fetched_sources import price_source_ages
from ingest.usage_canonical import STAGED_SCHEMA
from warehouse.build import (
    Build,
    budget_rows,
    checked_usage_files,
    deployment_rows,
    owner_scope_rows,
    published_days,
    self_host_option_rows,
    self_host_replaces_rows,
)
from warehouse.engines.spark.usage import spark_str
from warehouse.state import State

_SPARK_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "DOUBLE": "double",
}
QUARANTINE_SCHEMA = StructType(
    [
        StructField("source", StringType()),
        StructField("file", StringType()),
        StructField("line_no", LongType()),
        StructField("reason", StringType()),
        StructField("raw", StringType()),
        StructField("ingested_at", TimestampType()),
    ]
)


def _literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return spark_str(str(value))


def values_view(spark: SparkSession, name: str, columns: list[tuple[str, str]], rows: list[list]) -> None:
    """A view of a few literal rows, typed: columns are (name, Spark type)."""
    if rows:
        body = " union all ".join(
            "select " + ", ".join(f"cast({_literal(v)} as {t}) as {c}" for v, (c, t) in zip(row, columns, strict=True))
            for row in rows
        )
    else:
        body = "select " + ", ".join(f"cast(null as {t}) as {c}" for c, t in columns) + " where 1 = 0"
    spark.sql(f"create or replace view {name} as {body}")


def _usage_view_sql(layout: Layout, state: State, build: Build) -> str:
    """The valid and invalid staged rows of the build days (the staging model keeps the valid ones)."""
    columns = [(c, _SPARK_TYPES[t]) for c, t in STAGED_SCHEMA.items() if c != "usage_date"]
    columns += [("reason", "string"), ("raw", "string")]
    branches = []
    for day in build.days:
        for key in state.files_for_day(day):
            folder = layout.staged_usage_dir(key) / f"usage_date={day}"
            if folder.exists():
                cast = ", ".join(f"cast({c} as {t}) as {c}" for c, t in columns)
                branches.append(f"select {cast}, date '{day}' as usage_date from parquet.`{folder}`")
    if not branches:
        return (
            "select "
            + ", ".join(f"cast(null as {t}) as {c}" for c, t in columns)
            + ", cast(null as date) as usage_date where 1 = 0"
        )
    return "\nunion all\n".join(branches)


def prepare_spark_build(spark: SparkSession, cfg: Config, layout: Layout, state: State, build: Build) -> None:
    """Fresh build databases, with the build's inputs as the relations of <build_schema>_raw."""
    settings = cfg.spark
    Path(build.target_path).parent.mkdir(parents=True, exist_ok=True)  # the build's folder: dbt's target, logs
    for database in (settings.build_schema, settings.build_finance, settings.build_gate, settings.build_raw):
        spark.sql(f"drop database if exists {database} cascade")
    spark.sql(f"create database {settings.build_raw}")
    spark.sql(f"create database {settings.build_schema}")
    raw = settings.build_raw

    spark.sql(f"create or replace view {raw}.usage_events as {_usage_view_sql(layout, state, build)}")
    spark.read.parquet(str(layout.staged_prices)).write.saveAsTable(f"{raw}.price_rows")
    spark.read.parquet(str(layout.staged_gpu_offers)).write.saveAsTable(f"{raw}.gpu_offers")
    spark.read.parquet(str(layout.staged_billing)).write.saveAsTable(f"{raw}.billed_costs")
    quarantine_files = [
        str(layout.quarantine_file(f.key)) for f in state.files.values() if layout.quarantine_file(f.key).exists()
    ]
    quarantine = (
        spark.read.schema(QUARANTINE_SCHEMA).parquet(*quarantine_files)
        if quarantine_files
        else spark.createDataFrame([], QUARANTINE_SCHEMA)
    )
    quarantine.write.saveAsTable(f"{raw}.quarantine")
    values_view(
        spark,
        f"{raw}.deployments",
        [
            ("deployment_id", "string"),
            ("hourly_cost_usd", "double"),
            ("gpu_model", "string"),
            ("gpu_count", "int"),
            ("pricing_type", "string"),
            ("output_weight", "double"),
            ("compare_provider", "string"),
            ("compare_model", "string"),
            ("allocation", "string"),
            ("rate_usd_per_million_weighted_tokens", "double"),
        ],
        deployment_rows(cfg),
    )
    values_view(
        spark,
        f"{raw}.self_host_options",
        [
            ("option_id", "string"),
            ("model", "string"),
            ("gpu_model", "string"),
            ("gpu_count", "int"),
            ("output_tokens_per_second", "double"),
            ("pricing_type", "string"),
            ("ops_usd_per_month", "double"),
            ("max_utilisation", "double"),
        ],
        self_host_option_rows(cfg),
    )
    values_view(
        spark,
        f"{raw}.self_host_replaces",
        [("option_id", "string"), ("provider", "string"), ("model", "string")],
        self_host_replaces_rows(cfg),
    )
    values_view(
        spark,
        f"{raw}.budgets",
        [
            ("budget", "string"),
            ("monthly_usd", "double"),
            ("tenant_id", "string"),
            ("feature", "string"),
            ("owner", "string"),
            ("first_alert_at", "double"),
        ],
        budget_rows(cfg),
    )
    values_view(
        spark,
        f"{raw}.owner_scopes",
        [("owner", "string"), ("feature", "string"), ("tenant_id", "string")],
        owner_scope_rows(cfg),
    )
    values_view(spark, f"{raw}.build_days", [("usage_date", "date")], [[d] for d in build.days])
    values_view(
        spark,
        f"{raw}.published_days",
        [("usage_date", "date"), ("run_id", "string"), ("published_at", "timestamp"), ("status", "string")],
        published_days(state, build),
    )
    values_view(
        spark,
        f"{raw}.usage_files",
        [("file", "string"), ("records", "bigint"), ("quarantined", "bigint")],
        checked_usage_files(state, build.days),
    )
    values_view(
        spark,
        f"{raw}.price_sources",
        [("source_name", "string"), ("age_days", "double")],
        [[name, age] for name, age in price_source_ages(cfg).items()],
    )
