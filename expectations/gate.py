"""Run the expectation suites (expectations/suites.py) with Great Expectations on a build database.

Each suite's frame is fetched from the build's DuckDB file as a pandas DataFrame (GX's SQL datasource over
duckdb_engine returns empty results on these versions; DataFrames work) and validated in memory.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from expectations.results import CheckResult
from expectations.suites import Suite

log = logging.getLogger("finops")

# Strings stay in Arrow memory (a 10M-row day as Python str objects would take gigabytes).
# Strings as pandas' ArrowDtype: GX's uniqueness check (pandas `duplicated`) is fastest on it, ahead of
# StringDtype("pyarrow") and Python objects (docs/performance.md).
_ARROW_STRINGS = {pa.string(): pd.ArrowDtype(pa.string()), pa.large_string(): pd.ArrowDtype(pa.large_string())}
EXAMPLES = 5  # failing rows kept per expectation for the log, the report and data_quality_results
PART_ROWS = 2_000_000  # rows validated at once (about 1 GB of pandas and GX columns for the calls' suite)
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None  # the C library's functions: malloc_trim (glibc)
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
    return CheckResult(
        suite.label,
        "fetch the rows to validate",
        suite.table,
        False,
        0,
        f"could not read the build: {exc}".splitlines()[0],
    )


def validate_frame(datasource, suite: Suite, frame, started: float, rows: int | None = None) -> list[CheckResult]:
    """Validate one suite on its frame (pandas or Spark); one CheckResult per expectation, and a log line.
    rows: the frame's row count when known without a pass over it (else, for a suite that fails, GX's element count)."""
    import great_expectations as gx

    batch = (
        datasource.add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    expectations = gx.ExpectationSuite(name=suite.name, expectations=list(suite.expectations))
    # Pass or fail first: GX's counts and failing rows take a third of the time on a big frame. A suite that fails
    # is validated again for them.
    validation = batch.validate(expectations, result_format={"result_format": "BOOLEAN_ONLY"})
    if not validation.success:
        validation = batch.validate(
            expectations,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": EXAMPLES,
                "unexpected_index_column_names": list(suite.example_columns),
            },
        )
        if rows is None:
            rows = next((r.result.get("element_count") for r in validation.results if r.result), 0) or 0
    log.info(
        "gate: suite %s%s: %s in %.2fs",
        suite.name,
        "" if rows is None else f" on {rows} row(s)",
        "passed" if validation.success else "FAILED",
        time.perf_counter() - started,
    )
    datasource.delete_asset(suite.name)  # GX keeps the asset's batch, and so the frame, alive until then
    return [_check_result(suite, r, rows) for r in validation.results]


def run_suites(
    db_path: str, suites: list[Suite], part_rows: int = PART_ROWS, memory_limit: str | None = None
) -> list[CheckResult]:
    """Validate the suites on the build database at `db_path`; one CheckResult per expectation. `memory_limit`
    caps DuckDB (the suites' queries, its cache of the tables read); the frames being validated come on top.

    A suite with a `split_by` key and more than `part_rows` rows is validated in parts, split on the hash of
    that key: every row of a key falls in the same part, so uniqueness holds across parts, and memory stays
    that of two parts, the one validated and the next, being fetched (a 10M-call day whole takes about 4.5 GB
    of pandas and GX columns)."""
    datasource = gx_datasource("pandas")
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every DataFrame under 1 GB with a full pandas hash of all its rows, twice per suite,
    # for batch metadata we do not use: on a 10M-call day that is most of the gate's time. Skip it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    checks: dict[str, list[list[CheckResult]]] = {suite.name: [] for suite in suites}
    rows = dict.fromkeys(checks, 0)
    failed: dict[str, duckdb.Error] = {}
    with (
        duckdb.connect(db_path, read_only=True, config={"memory_limit": memory_limit} if memory_limit else {}) as con,
        ThreadPoolExecutor(max_workers=1) as fetcher,
    ):
        parts: list[tuple[Suite, str]] = []
        for suite in suites:
            try:
                parts += [(suite, query) for query in _part_queries(con, suite, part_rows)]
            except duckdb.Error as exc:  # a table the suite reads was not built (its dbt model failed)
                failed[suite.name] = exc
        # Each part's rows are fetched while the part before is validated: DuckDB's fetch runs outside the GIL,
        # GX's checks mostly in it. At most two parts are in memory (the one validated, the one fetched).
        cursor = con.cursor()
        next_frame = fetcher.submit(_fetch, cursor, parts[0][1]) if parts else None
        for i, (suite, _) in enumerate(parts):
            started = time.perf_counter()
            try:
                frame = next_frame.result()
            except duckdb.Error as exc:
                failed.setdefault(suite.name, exc)
            next_frame = fetcher.submit(_fetch, cursor, parts[i + 1][1]) if i + 1 < len(parts) else None
            if suite.name in failed:
                continue
            rows[suite.name] += len(frame)
            checks[suite.name].append(validate_frame(datasource, suite, frame, started, rows=len(frame)))
            del frame  # (GX's engine keeps it until the suite's next part replaces it; the last, until the end)
            pa.default_memory_pool().release_unused()
    datasource.data_context.data_sources.delete(datasource.name)
    del datasource
    _give_back_memory()
    return [
        result
        for suite in suites
        for result in (
            [not_fetched(suite, failed[suite.name])]
            if suite.name in failed
            else [_merged(part_checks, rows[suite.name]) for part_checks in zip(*checks[suite.name], strict=True)]
        )
    ]


def _give_back_memory() -> None:
    """Free what the gate leaves behind before the next build of a backfill runs in the same process: GX's
    execution engine keeps the last frame of each suite until its datasource goes (held in reference cycles, so a
    collection frees them), and glibc keeps the freed pandas columns in its heap until trimmed. Without this, a
    backfill of several big builds grows by about a gate's frames with each build (docs/performance.md)."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def _part_queries(con: duckdb.DuckDBPyConnection, suite: Suite, part_rows: int) -> list[str]:
    """The queries of a suite's frame: the whole frame, or, for a suite with a `split_by` key and more than
    `part_rows` rows, its parts split on the key's hash. The part's filter is the where clause of the suite's own
    query (a plain select of one table), so that only the part's rows are projected (faster than filtering the
    whole query's rows)."""
    if suite.split_by is None:
        return [suite.query]
    rows = con.sql(f"select count(*) from ({suite.query})").fetchone()[0]
    parts = max(1, math.ceil(rows / part_rows))
    if parts == 1:
        return [suite.query]
    return [f"{suite.query}\n where hash({suite.split_by}) % {parts} = {part}" for part in range(parts)]


def _fetch(cursor: duckdb.DuckDBPyConnection, query: str) -> pd.DataFrame:
    return _frame(cursor.sql(query).to_arrow_table())


def _merged(checks: tuple[CheckResult, ...], rows: int) -> CheckResult:
    """One expectation's result over all the parts (`rows` in all) of a frame, or over its one part: the counts
    and failing rows of every part."""
    first = checks[0]
    unexpected = sum(c.unexpected_count for c in checks)
    error = next((c.message for c in checks if c.message.startswith("could not evaluate")), None)
    success = all(c.success for c in checks)
    examples = [row for c in checks if c.examples for row in json.loads(c.examples)][:EXAMPLES]
    message = error or _count_message(success, unexpected, rows)
    return CheckResult(
        suite=first.suite,
        expectation=first.expectation,
        table=first.table,
        success=success,
        unexpected_count=unexpected,
        message=message,
        examples=json.dumps(examples) if examples else "",
    )


def _count_message(success: bool, unexpected: int, rows: int) -> str:
    return "" if success else f"{unexpected} of {rows} row(s) unexpected"


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


def _check_result(suite: Suite, result, rows: int | None) -> CheckResult:
    config = result.expectation_config
    detail = result.result or {}
    unexpected = int(detail.get("unexpected_count") or 0)
    error = (result.exception_info or {}).get("exception_message") if result.exception_info else None
    message = (
        f"could not evaluate: {error}"
        if error
        else _count_message(result.success, unexpected, detail.get("element_count", rows))
    )
    examples = [_plain(row) for row in detail.get("partial_unexpected_index_list") or []][:EXAMPLES]
    return CheckResult(
        suite=suite.label,
        expectation=describe(config.type, config.kwargs),
        table=suite.table,
        success=bool(result.success),
        unexpected_count=unexpected,
        message=message,
        examples=json.dumps(examples) if examples else "",
    )


def _plain(row: dict) -> dict:
    """A failing row as JSON-ready values (numpy scalars to Python, NaN and pandas' NA to null)."""
    out = {}
    for key, value in row.items():
        value = value.item() if hasattr(value, "item") else value
        value = float(value) if isinstance(value, Decimal) else value
        if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            value = None
        out[key] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return out
