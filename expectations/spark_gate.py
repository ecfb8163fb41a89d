"""Run the expectation suites (expectations/suites.py) with Great Expectations on Spark DataFrames.

The same suites as the DuckDB gate (expectations/gate.py): each suite's query runs in Spark SQL against the
build's databases and its frame is validated by GX's Spark execution engine, where the rows are (nothing is
collected to the driver but GX's metrics and a few failing rows).
"""

from __future__ import annotations

import logging
import os
import time

from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession

from expectations.gate import EXAMPLES, _check_result
from expectations.suites import Relations, Suite
from finops.spark_config import SparkSettings
from ingest.spark_usage import spark_literals
from warehouse.quality import CheckResult

log = logging.getLogger("finops")


def spark_relations(settings: SparkSettings) -> Relations:
    """Where a Spark build's relations are (warehouse/spark_build.py, dbt_project/macros/generate_schema_name.sql)."""
    return Relations(finance=settings.build_finance, raw=settings.build_raw,
                     distinct_list="array_join(array_sort(collect_set({0})), ', ')")


def run_suites_spark(spark: SparkSession, settings: SparkSettings, suites: list[Suite]) -> list[CheckResult]:
    """Validate the suites on the Spark build; one CheckResult per expectation."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    datasource = context.data_sources.add_spark("build")
    spark.catalog.setCurrentDatabase(settings.build_schema)   # the intermediate models the suites name bare
    results: list[CheckResult] = []
    for suite in suites:
        started = time.perf_counter()
        try:
            # computed once for all the suite's expectations (each is a Spark job over the frame)
            frame = spark.sql(spark_literals(suite.query)).persist(StorageLevel.MEMORY_AND_DISK)
        except PySparkException as exc:  # a table the suite reads was not built (its dbt model failed)
            results.append(CheckResult(suite.label, "fetch the rows to validate", suite.table, False, 0,
                                       f"could not read the build: {exc}".splitlines()[0]))
            continue
        batch_definition = datasource.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all")
        gx_suite = gx.ExpectationSuite(name=suite.name, expectations=list(suite.expectations))
        validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            gx_suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                                     "unexpected_index_column_names": list(suite.example_columns)})
        frame.unpersist()
        rows = next((r.result.get("element_count") for r in validation.results if r.result), 0) or 0
        results += [_check_result(suite, r, rows) for r in validation.results]
        log.info("gate: suite %s on %d row(s): %s in %.2fs", suite.name, rows,
                 "passed" if validation.success else "FAILED", time.perf_counter() - started)
    return results
