"""The results of a build's checks (its dbt tests and the Great Expectations suites), as rows of
finance.data_quality_results."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

EXAMPLES = 5  # failing rows kept per check for the log, the report and data_quality_results

RESULT_SCHEMA = {
    "run_id": pl.String,
    "checked_at": pl.Datetime("us"),
    "suite": pl.String,
    "expectation": pl.String,
    "table": pl.String,
    "success": pl.Boolean,
    "unexpected_count": pl.Int64,
    "message": pl.String,
    "examples": pl.String,
}


@dataclass(frozen=True)
class CheckResult:
    suite: str
    expectation: str
    table: str
    success: bool
    unexpected_count: int
    message: str = ""
    examples: str = ""  # a JSON list of a few failing rows


def dbt_results(
    run_results: dict, manifest: dict | None, failing_rows: Callable[[str], list[dict]] | None = None
) -> list[CheckResult]:
    """One CheckResult per dbt test, plus one per model that failed to build. failing_rows: the first EXAMPLES rows
    of a query on the build (the engine's), for a failed test's examples: its compiled SQL run again (a `rules`
    test's rows name the broken rules and count the rows that break each)."""
    nodes = (manifest or {}).get("nodes", {})
    out = []
    for result in run_results.get("results", []):
        uid = result["unique_id"]
        node = nodes.get(uid, {})
        if result["status"] == "skipped":
            continue  # not run: an upstream model or check failed (that one is recorded)
        if uid.startswith("test."):
            attached = node.get("attached_node")
            tested = [attached] if attached else node.get("depends_on", {}).get("nodes", [])
            table = ",".join(_relation(nodes, n) for n in tested)
            out.append(
                CheckResult(
                    suite="dbt",
                    expectation=node.get("name", uid.split(".")[2]),
                    table=table,
                    success=result["status"] == "pass",
                    unexpected_count=int(result.get("failures") or 0),
                    message=(result.get("message") or "") if result["status"] != "pass" else "",
                    examples=_examples(failing_rows, result.get("compiled_code")) if result["status"] == "fail" else "",
                )
            )
        elif result["status"] == "error":
            out.append(
                CheckResult(
                    suite="dbt",
                    expectation="model builds",
                    table=_relation(nodes, uid),
                    success=False,
                    unexpected_count=0,
                    message=result.get("message") or "",
                )
            )
    return out


def _examples(failing_rows: Callable[[str], list[dict]] | None, sql: str | None) -> str:
    """A failed dbt test's first rows as JSON (its SQL ran on the build a moment ago: it runs again)."""
    if failing_rows is None or not sql:
        return ""
    rows = failing_rows(sql)
    return json.dumps(rows, default=str) if rows else ""


def _relation(nodes: dict, uid: str) -> str:
    """The table a dbt node builds: its alias (a mart's published name), else its name."""
    node = nodes.get(uid, {})
    return node.get("alias") or uid.split(".")[-1]


def write_results(results: list[CheckResult], run_id: str, results_dir: Path) -> Path:
    checked_at = datetime.now(UTC).replace(tzinfo=None)
    frame = pl.DataFrame(
        [
            {
                "run_id": run_id,
                "checked_at": checked_at,
                "suite": r.suite,
                "expectation": r.expectation,
                "table": r.table,
                "success": r.success,
                "unexpected_count": r.unexpected_count,
                "message": r.message,
                "examples": r.examples,
            }
            for r in results
        ],
        schema=RESULT_SCHEMA,
    )
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{run_id}.parquet"
    frame.write_parquet(path)
    return path


def read_results(run_id: str, results_dir: Path) -> list[CheckResult]:
    """The checks a run recorded with write_results."""
    frame = pl.read_parquet(results_dir / f"{run_id}.parquet")
    return [
        CheckResult(
            **{
                k: row[k]
                for k in ("suite", "expectation", "table", "success", "unexpected_count", "message", "examples")
            }
        )
        for row in frame.iter_rows(named=True)
    ]
