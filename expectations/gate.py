"""Run the expectation suites (expectations/suites.py) with Great Expectations on a build database.

Each suite's frame is fetched from the build's DuckDB file as a pandas DataFrame (GX's SQL datasource over
duckdb_engine returns empty results on these versions; DataFrames work) and validated in memory.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import time
from decimal import Decimal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from expectations.suites import Suite
from warehouse.quality import CheckResult

log = logging.getLogger("finops")

# Strings stay in Arrow memory (a 10M-row day as Python str objects would take gigabytes).
_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
EXAMPLES = 5  # failing rows kept per expectation for the log, the report and data_quality_results
_SHOWN_KWARGS = ("column", "column_A", "column_B", "column_list", "min_value", "max_value", "value_set", "or_equal")


def gx_datasource(kind: str):
    """A datasource for DataFrames ("pandas" or "spark") in an ephemeral GX context, progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return getattr(context.data_sources, f"add_{kind}")("build")


def not_fetched(suite: Suite, exc: Exception) -> CheckResult:
    """The failed check of a suite whose rows could not be read (a table of the build was not built)."""
    return CheckResult(suite.label, "fetch the rows to validate", suite.table, False, 0,
                       f"could not read the build: {exc}".splitlines()[0])


def validate_frame(datasource, suite: Suite, frame, started: float, rows: int | None = None) -> list[CheckResult]:
    """Validate one suite on its frame (pandas or Spark); one CheckResult per expectation, and a log line.
    rows: the frame's row count when known without a pass over it (else GX's element count)."""
    import great_expectations as gx

    batch_definition = datasource.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("all")
    validation = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        gx.ExpectationSuite(name=suite.name, expectations=list(suite.expectations)),
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES,
                       "unexpected_index_column_names": list(suite.example_columns)})
    if rows is None:
        rows = next((r.result.get("element_count") for r in validation.results if r.result), 0) or 0
    log.info("gate: suite %s on %d row(s): %s in %.2fs", suite.name, rows,
             "passed" if validation.success else "FAILED", time.perf_counter() - started)
    datasource.delete_asset(suite.name)   # GX keeps the asset's batch, and so the frame, alive until then
    return [_check_result(suite, r, rows) for r in validation.results]


def run_suites(db_path: str, suites: list[Suite]) -> list[CheckResult]:
    """Validate the suites on the build database at `db_path`; one CheckResult per expectation."""
    datasource = gx_datasource("pandas")
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every DataFrame under 1 GB with a full pandas hash of all its rows, twice per suite,
    # for batch metadata we do not use: on a 10M-call day that is most of the gate's time. Skip it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    results: list[CheckResult] = []
    with duckdb.connect(db_path, read_only=True) as con:
        for suite in suites:
            started = time.perf_counter()
            try:
                frame = _frame(con.sql(suite.query).to_arrow_table())
            except duckdb.Error as exc:  # a table the suite reads was not built (its dbt model failed)
                results.append(not_fetched(suite, exc))
                continue
            results += validate_frame(datasource, suite, frame, started, rows=len(frame))
            del frame   # before the next suite's frame is fetched
            gc.collect()
            pa.default_memory_pool().release_unused()
    return results


def _frame(table: pa.Table) -> pd.DataFrame:
    """The suite's rows as a pandas DataFrame: strings stay in Arrow memory, and a string column with few
    distinct values (a status, a tier, a day) becomes a categorical, one byte a row (on a 10M-call day that is
    gigabytes less, and GX's set checks run on the categories)."""
    for i, field in enumerate(table.schema):
        if field.type in _ARROW_STRINGS and pc.count_distinct(table.column(i).slice(0, 10_000)).as_py() <= 100:
            table = table.set_column(i, field.name, pc.dictionary_encode(table.column(i)))
    # (each column's Arrow buffers are freed as it is converted, not after the whole table)
    return table.to_pandas(types_mapper=_ARROW_STRINGS.get, split_blocks=True, self_destruct=True)


def describe(expectation_type: str, kwargs: dict) -> str:
    """`expect_column_values_to_be_between(unpriced_share, max_value=0.05)`: the expectation and its arguments."""
    args = []
    for key in _SHOWN_KWARGS:
        if key not in kwargs or kwargs[key] is None:
            continue
        value = kwargs[key]
        args.append(str(value) if key == "column" else f"{key}={value}")
    return f"{expectation_type}({', '.join(args)})"


def _check_result(suite: Suite, result, rows: int) -> CheckResult:
    config = result.expectation_config
    detail = result.result or {}
    unexpected = int(detail.get("unexpected_count") or 0)
    error = (result.exception_info or {}).get("exception_message") if result.exception_info else None
    if error:
        message = f"could not evaluate: {error}"
    elif result.success:
        message = ""
    else:
        message = f"{unexpected} of {detail.get('element_count', rows)} row(s) unexpected"
    examples = [_plain(row) for row in detail.get("partial_unexpected_index_list") or []][:EXAMPLES]
    return CheckResult(suite=suite.label, expectation=describe(config.type, config.kwargs), table=suite.table,
                       success=bool(result.success), unexpected_count=unexpected, message=message,
                       examples=json.dumps(examples) if examples else "")


def _plain(row: dict) -> dict:
    """A failing row as JSON-ready values (numpy scalars to Python, NaN to null)."""
    out = {}
    for key, value in row.items():
        value = value.item() if hasattr(value, "item") else value
        value = float(value) if isinstance(value, Decimal) else value
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return out
