"""The quality gate (expectations/): each kind of defect, planted in an otherwise good build, is caught by the
right suite and expectation with counts and failing rows, and a failed gate publishes nothing.

Defects that good input cannot produce (the readers quarantine negative tokens, the models deduplicate) are
planted with SQL in a real build database made by the real pipeline steps; defects that come with the input
(a collapsed day, a file of broken records, an unpriced model) go through the real `finops` CLI."""

from __future__ import annotations

import gc
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import SAMPLE_DEPLOYMENT, Project, event, write_jsonl

from core.config import load_config
from core.layout import Layout
from expectations.gate import run_suites
from expectations.results import EXAMPLES, dbt_results
from expectations.suites import build_suites
from finops.demo.sample_data import generate_usage
from warehouse.build_summary import build_rows
from warehouse.pipeline import limits_of, plan_days, prepare_days, run_dbt, stage_inputs

DAYS = ["2026-11-09", "2026-11-10"]


@pytest.fixture(scope="module")
def good_build(tmp_path_factory) -> tuple[str, object]:
    """A real build database of two days of generated sample usage, before the gate."""
    project = Project(tmp_path_factory.mktemp("gate") / "project")
    project.write_config(deployments=SAMPLE_DEPLOYMENT)
    generate_usage(project.usage, date(2026, 11, 9), days=2, events_per_day=300, bad_lines=False)
    cfg = load_config(project.config)
    layout = Layout.of(cfg)
    state = stage_inputs(cfg, layout)
    build = prepare_days(cfg, layout, state, plan_days(cfg, layout, state, [date.fromisoformat(d) for d in DAYS]))
    run_dbt(cfg, build)
    return build.db_path, limits_of(cfg)


def planted(good_build, tmp_path: Path, *statements: str) -> list:
    """Copy the good build, run the SQL that plants a defect, and run every suite on it."""
    db_path, limits = good_build
    copy = tmp_path / "build.duckdb"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(db_path, copy)
    with duckdb.connect(str(copy)) as con:
        # a finance view of the build (fct_llm_requests) becomes a table, so a defect can be planted in it
        for (view,) in con.execute(
            "select view_name from duckdb_views() where schema_name = 'finance' and not internal"
        ).fetchall():
            con.execute(f"create table finance.{view}__rows as select * from finance.{view}")
            con.execute(f"drop view finance.{view}")
            con.execute(f"alter table finance.{view}__rows rename to {view}")
        for sql in statements:
            con.execute(sql)
    return run_suites(str(copy), build_suites(limits, DAYS))


def failures(results) -> dict[tuple[str, str], object]:
    return {(r.suite, r.expectation): r for r in results if not r.success}


def test_the_good_build_passes_every_suite(good_build, tmp_path):
    results = planted(good_build, tmp_path)
    suites = {r.suite for r in results}
    assert suites == {
        f"gx.{name}"
        for name in (
            "fct_llm_requests",
            "fct_llm_tasks",
            "agg_cost_daily",
            "showback_weekly",
            "self_hosted_allocation",
            "sums_agree",
            "self_hosted_balance",
            "unpriced_share",
            "quarantine_share",
            "duplicate_events",
            "price_freshness",
            "billing_gap",
            "row_counts",
        )
    }
    assert failures(results) == {}


def test_a_models_rules_test_counts_each_broken_rule(good_build, tmp_path):
    """The generic test `rules` (dbt_project/macros/generic_tests.sql), run by dbt on a copy of the good build with
    spend_daily's rules broken: a duplicated key, and one row with a NULL feature, a negative request count, an
    unknown category and a negative cost. Its failures are the broken (row, rule) pairs, and its rows, the gate's
    examples of it, name the rules."""
    from dbt.cli.main import dbtRunner

    from warehouse.dbt_args import DBT_PROJECT_DIR

    db_path, _ = good_build
    copy = tmp_path / "build.duckdb"  # the same file name: the compiled SQL names the catalog "build"
    shutil.copy(db_path, copy)
    with duckdb.connect(str(copy)) as con:
        # the build's spend_daily is a view of the partitions it wrote (planted: a table of its rows)
        con.execute("create table finance.spend_daily__rows as select * from finance.spend_daily")
        con.execute("drop view finance.spend_daily")
        con.execute("alter table finance.spend_daily__rows rename to spend_daily")
        con.execute("insert into finance.spend_daily select * from finance.spend_daily where category = 'api' limit 1")
        con.execute(
            """insert into finance.spend_daily select * replace ('bogus' as category, null as feature,
            -1 as requests, -5.0 as cost_usd) from finance.spend_daily where category = 'api' limit 1"""
        )
    target = tmp_path / "target"
    args = ["test", "--select", "rules_agg_spend_daily", "--project-dir", str(DBT_PROJECT_DIR)]
    args += ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--quiet"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FINOPS_BUILD_DB", str(copy))
        result = dbtRunner().invoke(args)
    (test,) = result.result.results
    assert (test.status, test.failures) == ("fail", 5)

    # the gate's check of it: its examples are its rows on the build, from the compiled SQL dbt recorded (dbt keeps
    # its connection to the copy open in this process: they are read from a copy of the copy)
    again = tmp_path / "again" / "build.duckdb"
    again.parent.mkdir()
    shutil.copy(copy, again)
    run_results = json.loads((target / "run_results.json").read_text())
    (check,) = dbt_results(run_results, None, lambda sql: build_rows(str(again), sql, EXAMPLES))
    assert (check.suite, check.expectation, check.success, check.unexpected_count) == (
        "dbt",
        "rules_agg_spend_daily",
        False,
        5,
    )
    broken = {row["rule"]: row["failing_rows"] for row in json.loads(check.examples)}
    assert broken == {
        "duplicate (usage_date, category, provider, account_id, deployment_id, tenant_id, feature)": 1,
        "feature is null": 1,
        "requests < 0": 1,
        "category not in (api, self_hosted_allocated, self_hosted_idle, self_hosted_unrecovered)": 1,
        "not (cost_usd >= 0 or category = self_hosted_unrecovered)": 1,
    }


def test_no_frame_outlives_the_gate(good_build):
    """A backfill gates build after build in one process: the frames validated must be freed when the gate ends
    (GX's execution engine keeps the last frame of each suite until its datasource is gone)."""
    db_path, limits = good_build
    assert all(r.success for r in run_suites(db_path, build_suites(limits, DAYS)))
    frames = [o for o in gc.get_objects() if isinstance(o, pd.DataFrame) and "cost_usd_or_0" in o.columns]
    assert frames == []


ONE_REQUEST = (
    "(select event_id from finance.fct_llm_requests where pricing_status = 'priced' order by event_id limit 1)"
)

DEFECTS = {
    "duplicate event_id": (
        [
            f"insert into finance.fct_llm_requests select * from finance.fct_llm_requests where event_id in {ONE_REQUEST}"
        ],
        ("gx.fct_llm_requests", "expect_column_values_to_be_unique(event_id)"),
        2,
    ),
    "missing event_id": (
        [f"update finance.fct_llm_requests set event_id = null where event_id in {ONE_REQUEST}"],
        ("gx.fct_llm_requests", "expect_column_values_to_not_be_null(event_id)"),
        1,
    ),
    "negative tokens": (
        [
            f"update finance.fct_llm_requests set output_tokens = -5, reasoning_tokens = 0 where event_id in {ONE_REQUEST}"
        ],
        ("gx.fct_llm_requests", "expect_column_values_to_be_between(output_tokens, min_value=0.0)"),
        1,
    ),
    "negative cost": (
        [f"update finance.fct_llm_requests set cost_usd = -1 where event_id in {ONE_REQUEST}"],
        ("gx.fct_llm_requests", "expect_column_values_to_be_between(cost_usd_or_0, min_value=0.0)"),
        1,
    ),
    "cache tokens above input": (
        [f"update finance.fct_llm_requests set cache_read_tokens = input_tokens + 1 where event_id in {ONE_REQUEST}"],
        (
            "gx.fct_llm_requests",
            "expect_column_pair_values_a_to_be_greater_than_b(column_A=input_tokens, column_B=cache_tokens, or_equal=True)",
        ),
        1,
    ),
    "reasoning above output": (
        [f"update finance.fct_llm_requests set reasoning_tokens = output_tokens + 1 where event_id in {ONE_REQUEST}"],
        (
            "gx.fct_llm_requests",
            "expect_column_pair_values_a_to_be_greater_than_b(column_A=output_tokens, column_B=reasoning_tokens, "
            "or_equal=True)",
        ),
        1,
    ),
    "a row outside the run's days": (
        [f"update finance.fct_llm_requests set usage_date = date '2026-01-01' where event_id in {ONE_REQUEST}"],
        (
            "gx.fct_llm_requests",
            "expect_column_values_to_be_in_set(usage_date, value_set=['2026-11-09', '2026-11-10'])",
        ),
        1,
    ),
    "unknown status": (
        [f"update finance.fct_llm_requests set status = 'exploded' where event_id in {ONE_REQUEST}"],
        (
            "gx.fct_llm_requests",
            "expect_column_values_to_be_in_set(status, value_set=['success', 'error', 'timeout', 'rate_limited', "
            "'cancelled'])",
        ),
        1,
    ),
    "unpriced call costed at $0": (
        ["update finance.fct_llm_requests set cost_usd = 0 where pricing_status = 'unpriced'"],
        ("gx.fct_llm_requests", "expect_column_pair_values_to_be_equal(column_A=cost_is_null, column_B=is_unpriced)"),
        None,
    ),
    "priced call without a cost": (
        [f"update finance.fct_llm_requests set cost_usd = null where event_id in {ONE_REQUEST}"],
        ("gx.fct_llm_requests", "expect_column_pair_values_to_be_equal(column_A=cost_is_null, column_B=is_unpriced)"),
        1,
    ),
    "duplicate task": (
        ["insert into finance.fct_llm_tasks select * from finance.fct_llm_tasks order by task_id limit 1"],
        ("gx.fct_llm_tasks", "expect_column_values_to_be_unique(task_id)"),
        2,
    ),
    "duplicate daily row": (
        ["insert into finance.agg_cost_daily select * from finance.agg_cost_daily order by all limit 1"],
        (
            "gx.agg_cost_daily",
            "expect_compound_columns_to_be_unique(column_list=['usage_date', 'tenant_id', 'feature', 'provider', 'model'])",
        ),
        2,
    ),
    "cache hit rate above 1": (
        [
            "update finance.agg_cost_daily set cache_hit_rate = 1.5 where usage_date = date '2026-11-09' and "
            "tenant_id = (select min(tenant_id) from finance.agg_cost_daily)"
        ],
        ("gx.agg_cost_daily", "expect_column_values_to_be_between(cache_hit_rate, min_value=0.0, max_value=1.0)"),
        None,
    ),
    "daily sums disagree with requests": (
        [
            "update finance.agg_cost_daily set cost_usd = cost_usd + 1 where usage_date = date '2026-11-10' and "
            "(tenant_id, feature, provider, model) = (select (tenant_id, feature, provider, model) "
            " from finance.agg_cost_daily where cost_usd > 0 order by all limit 1)"
        ],
        ("gx.sums_agree", "expect_column_values_to_be_between(difference, min_value=-1e-06, max_value=1e-06)"),
        None,
    ),
    # a task that crosses midnight published twice: rebuilt on the day of its first call and still among the tasks
    # the build publishes again on the neighbouring day (what a day built after the day after it used to publish;
    # fct_llm_tasks is the rebuilt and the kept tasks together)
    "task published on two days": (
        [
            "insert into finance.fct_llm_tasks select * replace (usage_date + 1 as usage_date) from finance.fct_llm_tasks "
            "where task_id = (select min(task_id) from finance.fct_llm_tasks where cost_usd > 0)"
        ],
        ("gx.sums_agree", "expect_column_values_to_be_between(difference, min_value=-1e-06, max_value=1e-06)"),
        2,
    ),
    # the sample's repeated lines are verbatim; one of them now differs from its first occurrence
    "conflicting duplicate event": (
        [
            "update main.int_usage_events__repeated set versions = 2 "
            "where event_id = (select min(event_id) from main.int_usage_events__repeated)"
        ],
        ("gx.duplicate_events", "expect_column_values_to_be_between(conflicting_share, min_value=0.0, max_value=0.0)"),
        1,
    ),
    "showback week counted twice": (
        ["insert into finance.showback_weekly select * from finance.showback_weekly order by all limit 1"],
        (
            "gx.showback_weekly",
            "expect_compound_columns_to_be_unique(column_list=['week_start', 'tenant_id', 'feature'])",
        ),
        2,
    ),
    "self-hosted idle hour lost": (
        [
            "delete from finance.self_hosted_allocation where tenant_id = '__idle__' and hour_start = "
            "(select min(hour_start) from finance.self_hosted_allocation where tenant_id = '__idle__')"
        ],
        ("gx.self_hosted_balance", "expect_column_values_to_be_between(difference, min_value=-0.005, max_value=0.005)"),
        1,
    ),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_planted_defect_is_caught_with_counts_and_examples(good_build, tmp_path, defect):
    statements, (suite, expectation), count = DEFECTS[defect]
    failed = failures(planted(good_build, tmp_path, *statements))
    assert (suite, expectation) in failed, sorted(failed)
    check = failed[(suite, expectation)]
    assert check.unexpected_count >= 1 if count is None else check.unexpected_count == count
    assert check.message.startswith(f"{check.unexpected_count} of ")
    assert json.loads(check.examples), "the failing rows are shown"


def test_a_missing_key_is_no_duplicate_and_an_empty_table_has_none(good_build, tmp_path):
    """Uniqueness is first checked as a count of distinct values (expectations/gate.py), then row by row only when
    that fails: a NULL event_id fails the not-null check alone, and an empty day's tables (no distinct value at all)
    pass."""
    missing = failures(planted(good_build, tmp_path / "missing", DEFECTS["missing event_id"][0][0]))
    assert list(missing) == [("gx.fct_llm_requests", "expect_column_values_to_not_be_null(event_id)")]
    empty = planted(
        good_build, tmp_path / "empty", "delete from finance.fct_llm_requests", "delete from finance.fct_llm_tasks"
    )
    uniqueness = {
        (r.suite, r.expectation): r.success
        for r in empty
        if r.expectation.startswith("expect_column_values_to_be_unique")
    }
    assert uniqueness == {
        ("gx.fct_llm_requests", "expect_column_values_to_be_unique(event_id)"): True,
        ("gx.fct_llm_tasks", "expect_column_values_to_be_unique(task_id)"): True,
    }


def test_a_table_the_build_lacks_fails_its_suites_and_the_others_still_run(good_build, tmp_path):
    """A dbt model that failed leaves its table out of the build: each suite reading it fails with the reason,
    while the other suites are validated."""
    results = planted(good_build, tmp_path, "drop table finance.agg_cost_daily")
    failed = failures(results)
    # (duplicate_events: the day's calls; row_counts reads the daily rows below the mart, which are still there)
    readers = ("gx.agg_cost_daily", "gx.sums_agree", "gx.duplicate_events")
    for suite in readers:
        check = failed[(suite, "fetch the rows to validate")]
        assert check.message.startswith("could not read the build: Catalog Error") and "agg_cost_daily" in check.message
    assert set(failed) == {(suite, "fetch the rows to validate") for suite in readers}
    calls = [r for r in results if r.suite == "gx.fct_llm_requests"]
    assert len(calls) == 18 and all(r.success for r in calls)


# --- defects that arrive with the input, through the real CLI ------------------------------------------


def day_of(day: str, n: int, prefix: str, **kw) -> list[dict]:
    return [event(f"{prefix}{i}", f"{day}T{10 + i % 10:02d}:00:00Z", **kw) for i in range(n)]


def test_a_day_whose_calls_collapse_fails_and_names_the_day(project: Project):
    for k in range(7):
        day = f"2026-11-0{2 + k}"
        write_jsonl(project.usage / f"{day}.jsonl", day_of(day, 20, f"d{k}-"))
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-08", check=True)
    write_jsonl(project.usage / "2026-11-09.jsonl", day_of("2026-11-09", 3, "short-"))
    run = project.finops("run", "--date", "2026-11-09")
    assert run.returncode == 1, run.stderr[-2000:]
    assert "gx.row_counts / expect_column_values_to_be_between(ratio, min_value=0.25)" in run.stderr
    example = next(line for line in run.stderr.splitlines() if line.strip().startswith("e.g."))
    assert all(part in example for part in ("'usage_date': '2026-11-09'", "'requests': 3", "'trailing_mean': 20.0"))
    assert project.query("select count(*) from finance.fct_llm_requests where usage_date = '2026-11-09'") == [(0,)]
    report = (project.warehouse.parent / "reports" / "quality" / "2026-11-09.html").read_text()
    assert "FAILED: 1 of" in report and "row_counts" in report and "trailing_mean" in report
    # the weekly report refuses the week of the failed day, and says why
    week = project.finops("report", "--week", "2026-W46")
    assert week.returncode == 1
    assert "2026-11-09 failed the quality gate (see " in week.stderr and "quality/2026-11-09.html" in week.stderr


def test_a_file_of_broken_records_fails_the_quarantine_share(project: Project):
    project.write_config(quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.1")
    good = day_of("2026-11-02", 10, "ok-")
    write_jsonl(
        project.usage / "export.jsonl", good + ["{broken"] * 2 + [{**good[0], "event_id": "neg", "input_tokens": -1}]
    )
    run = project.finops("run", "--date", "2026-11-02")
    assert run.returncode == 1
    # the failed check once (before: also logged as an ERROR line above the summary), no GX set-up line
    assert run.stderr.count("gx.quarantine_share / expect_column_values_to_be_between(quarantined_share") == 1
    assert "ephemeral docs site" not in run.stderr
    example = next(line for line in run.stderr.splitlines() if line.strip().startswith("e.g."))
    assert "'records': 10" in example and "'quarantined': 3" in example
    assert not project.warehouse.exists()
    # under the limit (here: the limit raised), the same file publishes, its bad records in the quarantine
    project.write_config(quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.25")
    project.finops("run", "--date", "2026-11-02", check=True)
    assert project.query("select count(*) from finance.quarantine") == [(3,)]
    results = project.query("""select suite, success, unexpected_count from finance.data_quality_results
                               where suite = 'gx.quarantine_share' order by checked_at""")
    assert results == [("gx.quarantine_share", False, 1), ("gx.quarantine_share", True, 0)]


def test_a_conflicting_duplicate_fails_the_gate_and_is_counted_apart_from_exact_repeats(project: Project):
    """A late file resends three of a published day's calls: one exactly as it was (counted once, as ever), two
    with other contents (other output tokens, another tenant). The first occurrence is kept; the two conflicting
    duplicates fail the gate at the default limit (0) and are named in the log and the quality report."""
    calls = day_of("2026-11-02", 10, "ev-")  # sonnet, 1,000 in / 100 out: 0.0045 each
    write_jsonl(project.usage / "d1.jsonl", calls)
    project.finops("run", "--date", "2026-11-02", check=True)
    write_jsonl(
        project.usage / "d1-resent.jsonl",
        [calls[3], {**calls[5], "output_tokens": 900}, {**calls[7], "tenant_id": "globex"}],
    )
    run = project.finops("run", "--date", "2026-11-02")
    assert run.returncode == 1, run.stderr[-2000:]
    assert (
        "gx.duplicate_events / expect_column_values_to_be_between(conflicting_share, min_value=0.0, "
        "max_value=0.0)" in run.stderr
    )
    counts = "2026-11-02: 2 conflicting (ev-5, ev-7), 1 exact repeat(s)"
    assert "conflicting duplicates: 2 event_id(s)" in run.stderr and counts in run.stderr
    report = (project.warehouse.parent / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "Repeated event_ids" in report and "ev-5, ev-7" in report
    assert project.query("select round(sum(cost_usd), 9) from finance.fct_llm_requests") == [(0.045,)]
    # a limit raised to 2 calls in 10: published, the first occurrences billed, the counts logged again
    project.write_config(quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.5\nmax_conflicting_share = 0.2")
    run = project.finops("run", "--date", "2026-11-02", check=True)
    assert counts in run.stderr
    assert project.query("""select count(*), round(sum(cost_usd), 9), count(*) filter (where tenant_id = 'globex')
                            from finance.fct_llm_requests""") == [(10, 0.045, 0)]
    assert project.query("""select success, unexpected_count from finance.data_quality_results
                            where suite = 'gx.duplicate_events' order by checked_at""") == [
        (True, 0),
        (False, 1),
        (True, 0),
    ]


def test_the_quality_report_is_written_for_a_good_run_too(project: Project):
    write_jsonl(project.usage / "d.jsonl", day_of("2026-11-02", 5, "a-", feature="<b>search</b>"))
    run = project.finops("run", "--date", "2026-11-02", check=True)
    report = (project.warehouse.parent / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "PASSED: all" in report and "<script" not in report
    assert "Guards against: self-hosted cost that is lost or invented" in report
    assert "gate: " in run.stderr and "failed, in" in run.stderr
