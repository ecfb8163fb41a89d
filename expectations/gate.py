"""Run the expectation suites (expectations/suites.py) with Great Expectations on a build.

On DuckDB (`run_suites`) each suite's query is a query asset of a GX SQL datasource on the build's DuckDB file and
GX's SQL execution engine validates it where the rows are: nothing is fetched but GX's metrics and, for an
expectation that failed, a few failing rows. The Spark gate (warehouse/engines/spark/gate.py) validates Spark
DataFrames the same way (`validate_batch`).

Each suite is validated once for pass or fail, a column's uniqueness as its proportion of distinct values (one
count distinct, instead of GX's row-level check of every value against the duplicated ones); only the expectations
that failed are validated again, as the suite declares them, for their counts and failing rows.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from decimal import Decimal

import duckdb
from duckdb_engine import ConnectionWrapper

from expectations.results import EXAMPLES, CheckResult
from expectations.suites import Suite

log = logging.getLogger("finops")

_ROWS = "gate_rows"  # the gate's in-memory DuckDB database: the rows of the suites that are not read in place
_SHOWN_KWARGS = ("column", "column_A", "column_B", "column_list", "min_value", "max_value", "value_set", "or_equal")


def gx_context():
    """An ephemeral GX context, progress bars off."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets this module's logger to INFO when imported, over the level the CLI gives its loggers: its line
    # "Created temporary directory ... for ephemeral docs site" is noise in a run's log
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


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


class Untransacted(ConnectionWrapper):
    """A cursor of the gate's read-only DuckDB connection as SQLAlchemy's DBAPI connection, with no transactions: GX
    reads a query's result after handing its connection back to SQLAlchemy's pool, whose rollback on return would
    make DuckDB drop that pending result (GX would see no rows)."""

    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def run_suites(db_path: str, suites: list[Suite], memory_limit: str | None = None) -> list[CheckResult]:
    """Validate the suites on the build database at `db_path` with GX's SQL execution engine; one CheckResult per
    expectation. `memory_limit` caps the gate's DuckDB."""
    results: list[CheckResult] = []
    context = gx_context()
    config = {"memory_limit": memory_limit} if memory_limit else {}
    # (a second duckdb.connect of the file in this process with another config fails: GX gets cursors of this one)
    with duckdb.connect(db_path, read_only=True, config=config) as con:
        con.execute(f"attach ':memory:' as {_ROWS} (read_only false)")  # (seen by the connection's cursors)
        datasource = context.data_sources.add_sql(
            "build", connection_string="duckdb:///:memory:", kwargs={"creator": lambda: Untransacted(con.cursor())}
        )
        for suite in suites:
            started = time.perf_counter()
            try:
                query = _rows_query(con, suite)
            except duckdb.Error as exc:  # a table the suite reads was not built (its dbt model failed)
                results.append(not_fetched(suite, exc))
                continue
            asset = datasource.add_query_asset(suite.name, query=f"select * from ({query}) as {suite.name}")
            results += validate_batch(asset.add_batch_definition_whole_table("all").get_batch(), suite, started)
            datasource.delete_asset(suite.name)
        datasource.get_engine().dispose()
        context.data_sources.delete(datasource.name)
    return results


def _rows_query(con: duckdb.DuckDBPyConnection, suite: Suite) -> str:
    """The query GX reads a suite's rows with; raises duckdb.Error for a table the build lacks. A per-call or
    per-task table is read in place; every other suite's rows are computed once into a table of the gate's in-memory
    database (few rows): GX runs a query per group of metrics, and one for the columns, each of which would compute
    the suite's sums again."""
    if suite.read_in_place:
        con.sql(suite.query)  # (binds it, reads nothing)
        return suite.query
    con.execute(f"create table {_ROWS}.{suite.name} as {suite.query}")
    return f"select * from {_ROWS}.{suite.name}"


def validate_batch(batch, suite: Suite, started: float) -> list[CheckResult]:
    """Validate one suite on its GX batch (a query on the DuckDB build, a Spark DataFrame); one CheckResult per
    expectation, in the suite's order, and a log line."""
    import great_expectations as gx

    checked = [_pass_or_fail_form(e) for e in suite.expectations]
    first = batch.validate(
        gx.ExpectationSuite(name=suite.name, expectations=checked), result_format={"result_format": "BOOLEAN_ONLY"}
    )
    passed = {_key(r.expectation_config) for r in first.results if r.success}
    failing = [e for e, c in zip(suite.expectations, checked, strict=True) if _key(c.configuration) not in passed]
    details = {}
    if failing:
        again = batch.validate(
            gx.ExpectationSuite(name=suite.name, expectations=failing),
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": EXAMPLES,
                "unexpected_index_column_names": list(suite.example_columns),
            },
        )
        details = {_key(r.expectation_config): r for r in again.results}
    results = [_check_result(suite, e, details.get(_key(e.configuration))) for e in suite.expectations]
    rows = next((r.result.get("element_count") for r in details.values() if r.result), None)
    log.info(
        "gate: suite %s%s: %s in %.2fs",
        suite.name,
        "" if rows is None else f" on {rows} row(s)",
        "FAILED" if any(not r.success for r in results) else "passed",
        time.perf_counter() - started,
    )
    return results


def _pass_or_fail_form(expectation):
    """The expectation as validated for pass or fail: a column's uniqueness as its proportion of distinct non-NULL
    values being 1 (NULLs are not duplicates for either), the rest as declared."""
    import great_expectations.expectations as gxe

    if isinstance(expectation, gxe.ExpectColumnValuesToBeUnique):
        return gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(column=expectation.column, min_value=1)
    return expectation


def _key(config) -> str:
    """An expectation of a suite by its configuration (a validation result names the expectation by it)."""
    return describe(config.type, config.kwargs)


def describe(expectation_type: str, kwargs: dict) -> str:
    """`expect_column_values_to_be_between(unpriced_share, max_value=0.05)`: the expectation and its arguments."""
    args = []
    for key in _SHOWN_KWARGS:
        if key not in kwargs or kwargs[key] is None:
            continue
        value = kwargs[key]
        args.append(str(value) if key == "column" else f"{key}={value}")
    return f"{expectation_type}({', '.join(args)})"


def _check_result(suite: Suite, expectation, result) -> CheckResult:
    """The CheckResult of one expectation: passed (result None), or GX's result of validating it alone."""
    config = expectation.configuration
    detail = (result.result or {}) if result is not None else {}
    unexpected = int(detail.get("unexpected_count") or 0)
    error = (result.exception_info or {}).get("exception_message") if result is not None else None
    message = (
        f"could not evaluate: {error}"
        if error
        else ""
        if result is None or result.success
        else f"{unexpected} of {detail.get('element_count')} row(s) unexpected"
    )
    # (a multicolumn expectation on SQL gives its failing rows as values of its columns, with no index list)
    rows = detail.get("partial_unexpected_index_list") or [
        row for row in detail.get("partial_unexpected_list") or [] if isinstance(row, dict)
    ]
    examples = [_plain(row) for row in rows][:EXAMPLES]
    return CheckResult(
        suite=suite.label,
        expectation=describe(config.type, config.kwargs),
        table=suite.table,
        success=result is None or bool(result.success),
        unexpected_count=unexpected,
        message=message,
        examples=json.dumps(examples) if examples else "",
    )


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
