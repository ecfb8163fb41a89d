"""The Dagster definitions run the same pipeline: one Definitions, daily partitions, the nightly schedule,
dbt tests as asset checks, and a real materialization of a partition through Dagster's own API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import Project, event, write_jsonl
from dagster import AssetKey, DagsterInstance, build_schedule_context
from fixture_server import FixtureServer


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def test_the_asset_graph_has_raw_dbt_and_publish_assets(defs):
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "price_rows",
        "gpu_offer_rows",
        "billed_costs",
        "usage_events",
        "usage_quarantine",
        "stg_raw__usage_events",
        "finance/fct_llm_requests",
        "finance/showback_weekly",
        "published_warehouse",
    } <= keys
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("usage_events")).partitions_def is not None
    # every dbt test is an asset check, shown on the asset it checks
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("finance/fct_llm_requests", "rules_fct_llm_requests") in checks
    # a mart's asset is its published table (the alias), not its model name (agg_spend_daily)
    assert ("finance/spend_daily", "assert_spend_daily_is_the_whole_bill") in checks
    assert not any(key.startswith(("finance/agg_spend", "finance/rpt_", "finance/dim_")) for key in keys)
    # and every suite of the quality gate is a blocking check on the table it guards
    assert {
        ("finance/fct_llm_requests", "gx_unpriced_share"),
        ("finance/agg_cost_daily", "gx_sums_agree"),
        ("finance/self_hosted_allocation", "gx_self_hosted_balance"),
        ("finance/quarantine", "gx_quarantine_share"),
        ("finance/price_history", "gx_price_freshness"),
        ("finance/billing_reconciliation", "gx_billing_gap"),
    } <= checks
    from orchestration.defs.assets import GATE_CHECKS, GATE_SUITES

    assert len(GATE_CHECKS) == len(GATE_SUITES) == 13 and all(spec.blocking for spec in GATE_CHECKS)


def test_dbt_assets_are_grouped_by_layer_and_described_without_sql(defs):
    graph = defs.resolve_asset_graph()
    groups = {
        key: graph.get(AssetKey.from_user_string(key)).group_name
        for key in ("stg_raw__usage_events", "int_requests__costed", "finance/fct_llm_requests")
    }
    assert groups == {
        "stg_raw__usage_events": "staging",
        "int_requests__costed": "intermediate",
        "finance/fct_llm_requests": "marts",
    }
    description = graph.get(AssetKey(["finance", "fct_llm_requests"])).description
    assert description.startswith("One row per") and "select" not in description.lower()


def test_a_cli_run_is_in_the_dagster_history_beside_the_warehouse(project: Project, history_on):
    write_jsonl(project.usage / "a.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    # a process of its own: Python prints a warning on the stderr of the process (under pytest, its warnings plugin
    # takes it)
    proc = project.finops_subprocess("run", "--date", "2026-11-02", check=True)
    home = project.warehouse.parent / "dagster_home"
    assert f"recorded in Dagster's history ({home}): 1 day(s) x " in proc.stderr
    assert "BetaWarning" not in proc.stderr  # Dagster's notes on its own API are no news for a finops user
    assert "alembic" not in proc.stderr  # nor its database set-up ("INFO setup plugin alembic...", 30 lines)
    run_id = proc.stderr.split("recorded in Dagster's history")[1].split(", run ")[1].split()[0]
    with DagsterInstance.from_config(str(home)) as instance:
        for key in ("usage_events", "stg_raw__usage_events", "finance/fct_llm_requests", "published_warehouse"):
            latest = instance.get_latest_materialization_event(AssetKey.from_user_string(key))
            assert latest is not None, key
            materialization = latest.asset_materialization
            assert materialization.partition == "2026-11-02"
            assert materialization.metadata["finops_run_id"].value == run_id
            assert materialization.metadata["day_status"].value == "complete"
        assert instance.get_materialized_partitions(AssetKey("published_warehouse")) == {"2026-11-02"}


def test_no_history_when_it_is_turned_off(project: Project):
    # tests/conftest.py sets FINOPS_DAGSTER_HISTORY=0 for every test but those of the history
    write_jsonl(project.usage / "a.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    proc = project.finops("run", "--date", "2026-11-02", check=True)
    assert "Dagster's history" not in proc.stderr
    assert not (project.warehouse.parent / "dagster_home").exists()


def tick(defs, name: str, at: datetime):
    """The schedule and the partition keys its tick at `at` requests."""
    schedule = defs.resolve_schedule_def(name)
    with DagsterInstance.ephemeral() as instance:
        requests = schedule.evaluate_tick(build_schedule_context(instance=instance, scheduled_execution_time=at))
        return schedule, [r.partition_key for r in requests.run_requests]


def test_the_nightly_schedule_runs_yesterday_at_two_utc(defs):
    schedule, keys = tick(defs, "nightly_schedule", datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone in (None, "UTC")
    assert keys == ["2026-11-22"]


def test_today_is_no_daily_partition_yet():
    # today's day is not over: Dagster cannot build it (finops run --partial can, marked partial)
    from orchestration.defs.partitions import daily

    assert daily.get_last_partition_key() == (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


def test_materializing_a_partition_publishes_the_day(defs, project: Project, monkeypatch):
    write_jsonl(
        project.usage / "d.jsonl",
        [event("d1", "2026-11-02T10:00:00Z", input_tokens=1_000_000, output_tokens=0), "not json"],
    )
    monkeypatch.setenv("FINOPS_CONFIG", str(project.config))
    job = defs.resolve_job_def("nightly")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key="2026-11-02", instance=instance)
        assert result.success
        check_results = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert check_results and all(e.event_specific_data.passed for e in check_results)
    assert project.query("select event_id, cost_usd from finance.fct_llm_requests") == [("d1", 3.0)]
    assert project.query("select count(*) from finance.quarantine") == [(1,)]


def test_the_budget_alerts_asset_posts_each_level_reached_once(defs, project: Project, monkeypatch):
    """$3.00 on 2026-11-02 against a $10 budget: forecast 3.00 + 3.00 / 7 x 28 = $15.00, 150%: both levels (80%,
    100%) reached by forecast, each posted once; materializing the day again posts nothing."""
    hook = FixtureServer()
    url = hook.serve("/hook", b"")
    write_jsonl(
        project.usage / "d.jsonl", [event("d1", "2026-11-02T10:00:00Z", input_tokens=1_000_000, output_tokens=0)]
    )
    project.write_config(f'[[budgets]]\nname = "all"\nmonthly_usd = 10\n\n[alerts]\nwebhook_url = "{url}"\n')
    monkeypatch.setenv("FINOPS_CONFIG", str(project.config))
    job = defs.resolve_job_def("nightly")
    try:
        with DagsterInstance.ephemeral() as instance:
            assert job.execute_in_process(partition_key="2026-11-02", instance=instance).success
            assert job.execute_in_process(partition_key="2026-11-02", instance=instance).success
        assert [json.loads(body)["text"].split(".")[0] for _, _, body in hook.posts] == [
            "Budget all: 80% of $10",
            "Budget all: 100% of $10",
        ]
    finally:
        hook.close()


def test_a_failed_check_blocks_publishing(defs, project: Project, monkeypatch):
    write_jsonl(
        project.usage / "d.jsonl",
        [event(f"u{i}", "2026-11-02T10:00:00Z", provider="mistral", model="mistral-large-2411") for i in range(3)],
    )
    monkeypatch.setenv("FINOPS_CONFIG", str(project.config))
    job = defs.resolve_job_def("nightly")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(partition_key="2026-11-02", instance=instance, raise_on_error=False)
    assert not result.success
    failed_checks = [
        e.event_specific_data.check_name
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    assert failed_checks == ["gx_unpriced_share"]
    failed = next(
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    )
    assert failed.asset_key == AssetKey(["finance", "fct_llm_requests"])
    assert "mistral/mistral-large-2411" in failed.metadata["failures"].value
    # the blocking check stops the run before the publish step starts
    assert "published_warehouse" not in {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert not project.warehouse.exists()


def test_a_run_of_more_calls_than_a_build_may_hold_fails_before_building(defs, project: Project, monkeypatch):
    """A Dagster run is one build: a run of days holding more than [warehouse] max_calls_per_build staged calls
    fails before dbt runs, and names the command that builds them in several builds (which then works)."""
    project.write_config(warehouse='path = "warehouse/finops.duckdb"\nmax_calls_per_build = 4')
    write_jsonl(
        project.usage / "d.jsonl",
        [event(f"c{day}-{i}", f"2026-11-0{day}T10:00:00Z") for day in (2, 3) for i in range(3)],
    )
    monkeypatch.setenv("FINOPS_CONFIG", str(project.config))
    job = defs.resolve_job_def("nightly")
    two_days = {"dagster/asset_partition_range_start": "2026-11-02", "dagster/asset_partition_range_end": "2026-11-03"}
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(tags=two_days, instance=instance, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 1
    message = failures[0].event_specific_data.user_failure_data.description
    assert "2 day(s), 2026-11-02 .. 2026-11-03, holding 6 staged calls" in message
    assert "max_calls_per_build = 4" in message
    assert "`finops backfill --from 2026-11-02 --to 2026-11-03`, which builds them as 2 builds" in message
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert "published_warehouse" not in started and not list(project.root.glob("warehouse/*.data/builds/*/"))
    assert not project.warehouse.exists()

    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-03", check=True)
    assert project.query("select usage_date, count(*) from finance.fct_llm_requests group by 1 order by 1") == [
        (date(2026, 11, 2), 3),
        (date(2026, 11, 3), 3),
    ]


def test_the_weekly_schedule_reports_last_week_on_monday_at_six_utc(defs):
    schedule, keys = tick(defs, "weekly_schedule", datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    assert schedule.cron_schedule == "0 6 * * 1"
    assert schedule.execution_timezone in (None, "UTC")
    assert keys == ["2026-11-16"]  # 2026-W47, Monday 16 .. Sunday 22
    nightly = {k.to_user_string() for k in defs.resolve_job_def("nightly").asset_layer.selected_asset_keys}
    assert "weekly_report" not in nightly and "published_warehouse" in nightly


def test_materializing_a_week_writes_its_report_and_emails(defs, project: Project, monkeypatch):
    write_jsonl(
        project.usage / "d.jsonl",
        [event(f"d{i}", f"2026-11-{16 + i}T10:00:00Z", input_tokens=1_000_000, output_tokens=0) for i in range(7)],
    )
    project.write_config('[[owners]]\nemail = "search@example.com"\nname = "Search"\nfeatures = ["search"]\n')
    project.finops("backfill", "--from", "2026-11-16", "--to", "2026-11-22", check=True)
    monkeypatch.setenv("FINOPS_CONFIG", str(project.config))
    job = defs.resolve_job_def("weekly")
    with DagsterInstance.ephemeral() as instance:
        assert job.execute_in_process(partition_key="2026-11-16", instance=instance).success
        # a week with unpublished days fails and names them
        failed = job.execute_in_process(partition_key="2026-11-09", instance=instance, raise_on_error=False)
    assert not failed.success
    reports = project.root / "warehouse" / "reports" / "2026-W47"
    # the whole bill: the calls' $21.00 + 168 hours of the test config's deployments, llama-fixed at $10.00 and
    # llama-h100 at 8 x $2.49 (idle): 168 x $29.92 = $5,026.56
    assert 'id="total-cost">$5,047.56</strong>' in (reports / "showback.html").read_text()
    assert (project.root / "warehouse" / "outbox" / "2026-W47" / "search.eml").exists()
    failure = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "2026-11-09 not published; 2026-11-10 not published" in failure.event_specific_data.error.message
