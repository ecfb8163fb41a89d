"""Run the expectation suites (expectations/suites.py) with Great Expectations on Spark DataFrames.

The same suites and validation as the DuckDB gate (expectations/gate.py): each suite's query runs in Spark SQL against the
build's databases and its frame is validated by GX's Spark execution engine, where the rows are (nothing is
collected to the driver but GX's metrics and a few failing rows).
"""

from __future__ import annotations

import time

from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from core.spark_config import SparkSettings
from expectations.gate import gx_context, not_fetched, validate_batch
from expectations.results import CheckResult
from expectations.suites import Relations, Suite


def spark_relations(settings: SparkSettings) -> Relations:
    """Where a Spark build's relations are (warehouse/engines/spark/build.py, dbt_project/macros/generate_schema_name.sql)."""
    return Relations(
        finance=settings.build_finance,
        gate=settings.build_gate,
        raw=settings.build_raw,
        distinct_list="array_join(array_sort(collect_set({0})), ', ')",
    )


def run_suites_spark(spark: SparkSession, suites: list[Suite]) -> list[CheckResult]:
    """Validate the suites on the Spark build; one CheckResult per expectation."""
    datasource = gx_context().data_sources.add_spark("build")
    results: list[CheckResult] = []
    for suite in suites:
        started = time.perf_counter()
        try:
            # computed once for all the suite's expectations (each is a Spark job over the frame)
            frame = spark.sql(suite.query).persist(StorageLevel.MEMORY_AND_DISK)
        except PySparkException as exc:  # a table the suite reads was not built (its dbt model failed)
            results.append(not_fetched(suite, exc))
            continue
        batch = (
            datasource.add_dataframe_asset(suite.name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        results += validate_batch(batch, suite, started)
        datasource.delete_asset(suite.name)
        frame.unpersist()
    return results
