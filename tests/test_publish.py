"""Publishing: atomic, isolated from readers, idempotent, incremental
(docs/spec.md#finance-tables; README "How a night works")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import FINOPS, Prebuilt, Project, event, write_jsonl

FINANCE_TABLES = {
    "fct_llm_requests": "event_id",
    "fct_llm_tasks": "task_id",
    "agg_cost_daily": "usage_date, tenant_id, feature, provider, model",
    "showback_weekly": "week_start, tenant_id, feature",
    "self_hosted_allocation": "deployment_id, hour_start, tenant_id, feature",
    "spend_daily": "usage_date, category, provider, deployment_id, tenant_id, feature",
    "cost_anomalies": "usage_date, dimension, dimension_value",
    "price_history": "provider, model, usage_type, service_tier, min_input_tokens, valid_from",
    "gpu_offers": "observed_on, provider, gpu_model, gpu_count, pricing_type, region, usd_per_hour",
    "quarantine": "file, line",
}


def day_events(day: str, n: int, prefix: str, **extra) -> list[dict]:
    return [
        event(
            f"{prefix}-{i}",
            f"{day}T{10 + i % 10:02d}:{i % 60:02d}:00Z",
            input_tokens=1000 + i,
            output_tokens=100,
            **extra,
        )
        for i in range(n)
    ]


def snapshot(project: Project) -> dict[str, list[tuple]]:
    return {t: project.table(t, order) for t, order in FINANCE_TABLES.items()}


def published_day(root: Path, calls: int) -> Prebuilt:
    """`calls` calls of 2026-11-02 (prefix "a", in usage/d1.jsonl) published by `finops run` (the test config:
    max_unpriced_share 0.2): built once for the module, restored for each test that starts from it."""

    def publish(project: Project) -> None:
        write_jsonl(project.usage / "d1.jsonl", day_events("2026-11-02", calls, "a"))
        project.finops("run", "--date", "2026-11-02", check=True)

    return Prebuilt(root, publish)


@pytest.fixture(scope="module")
def ten_calls_built(tmp_path_factory) -> Prebuilt:
    return published_day(tmp_path_factory.mktemp("ten_calls") / "project", 10)


@pytest.fixture
def ten_calls(ten_calls_built: Prebuilt) -> Project:
    return ten_calls_built.restore()


@pytest.fixture(scope="module")
def five_calls_built(tmp_path_factory) -> Prebuilt:
    return published_day(tmp_path_factory.mktemp("five_calls") / "project", 5)


@pytest.fixture
def five_calls(five_calls_built: Prebuilt) -> Project:
    return five_calls_built.restore()


def test_rerunning_a_day_leaves_the_finance_tables_identical(project: Project):
    write_jsonl(project.usage / "d1.jsonl", day_events("2026-11-02", 30, "a") + ["garbage line"])
    project.finops("run", "--date", "2026-11-02", check=True)
    first = snapshot(project)
    project.finops("run", "--date", "2026-11-02", check=True)
    assert snapshot(project) == first
    assert project.query("select count(*) from finance.quarantine") == [(1,)]
    assert len(first["fct_llm_requests"]) == 30
    # every run's checks are kept
    assert project.query("select count(distinct run_id) from finance.data_quality_results") == [(2,)]
    # a dbt test's row names the published table it checks (the mart's alias), not the model (agg_showback_weekly)
    tested = {
        t for (t,) in project.query("select distinct \"table\" from finance.data_quality_results where suite = 'dbt'")
    }
    assert {"showback_weekly", "spend_daily", "quarantine", "fct_llm_requests"} <= tested
    assert not any(t.startswith(("agg_s", "dim_", "rpt_", "fct_q", "fct_s", "fct_p")) for t in tested)


def test_a_backfill_of_more_calls_than_a_build_takes_is_built_in_batches(tmp_path):
    """[warehouse] max_calls_per_build = 15 and three days of 11 calls: three builds, each published before the
    next, with the same finance tables as one build of the three days (tasks crossing both midnights)."""
    whole, split = Project(tmp_path / "whole"), Project(tmp_path / "split")
    whole.write_config()
    split.write_config(warehouse='path = "warehouse/finops.duckdb"\nmax_calls_per_build = 15')
    days = ["2026-11-02", "2026-11-03", "2026-11-04"]
    for project in (whole, split):
        for n, day in enumerate(days):
            crossing = [event(f"late-{day}", f"{day}T23:59:00Z", task_id=f"night-{day}")]
            if n > 0:
                crossing.append(event(f"early-{day}", f"{day}T00:01:00Z", task_id=f"night-{days[n - 1]}"))
            write_jsonl(project.usage / f"{day}.jsonl", day_events(day, 11 - len(crossing), day) + crossing)
    whole.finops("backfill", "--from", days[0], "--to", days[-1], check=True)
    out = split.finops("backfill", "--from", days[0], "--to", days[-1], check=True)
    assert "(build 3 of 3)" in out.stderr
    assert "(3 day(s) built: 2026-11-02 .. 2026-11-04)" in out.stdout
    usage_tables = (
        "fct_llm_requests",
        "fct_llm_tasks",
        "agg_cost_daily",
        "showback_weekly",
        "self_hosted_allocation",
        "spend_daily",
        "cost_anomalies",
    )  # (the others name each project's own source files)
    assert {t: split.table(t, FINANCE_TABLES[t]) for t in usage_tables} == {
        t: whole.table(t, FINANCE_TABLES[t]) for t in usage_tables
    }
    assert split.query("select requests from finance.fct_llm_tasks where task_id = 'night-2026-11-02'") == [(2,)]


def test_a_run_while_a_reader_holds_a_read_only_connection(ten_calls: Project):
    project = ten_calls
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(project.warehouse)!r}, read_only=True)
        print(con.execute("select count(*) from finance.fct_llm_requests").fetchone()[0], flush=True)
        sys.stdin.readline()   # the pipeline publishes meanwhile
        print(con.execute("select count(*) from finance.fct_llm_requests").fetchone()[0], flush=True)
        con.close()   # DuckDB shares one open database per path within a process: reconnect after closing
        con = duckdb.connect({str(project.warehouse)!r}, read_only=True)
        print(con.execute("select count(*) from finance.fct_llm_requests").fetchone()[0], flush=True)
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "10"
    write_jsonl(project.usage / "d2.jsonl", day_events("2026-11-03", 7, "b"))
    run = project.finops("run", "--date", "2026-11-03")
    out, err = reader.communicate("go\n", timeout=60)
    assert run.returncode == 0, run.stderr[-3000:]
    assert reader.returncode == 0, err
    # the open connection kept reading the catalog it had; the next connection sees the new day
    assert out.split() == ["10", "17"]


def test_finops_sql_reads_the_published_warehouse(five_calls: Project):
    project = five_calls
    proc = project.finops("sql", "select count(*) as n from finance.fct_llm_requests")
    assert proc.returncode == 0 and proc.stdout.split()[:3] == ["n", "-", "5"]
    bad = project.finops("sql", "select nope from finance.fct_llm_requests")
    assert bad.returncode == 1 and "nope" in bad.stderr
    # the shell mode reads statements from stdin
    shell = subprocess.run(
        [sys.executable, "-m", "finops.cli", "sql", "--config", str(project.config)],
        input="select 41 + 1 as answer;\n",
        capture_output=True,
        text=True,
    )
    assert shell.returncode == 0 and "42" in shell.stdout


def test_a_failed_gate_publishes_nothing_and_the_next_good_day_publishes(ten_calls: Project):
    project = ten_calls  # max_unpriced_share 0.2 from the test config
    before = project.warehouse.read_bytes()
    # a day where half the calls have no price: above [quality].max_unpriced_share
    write_jsonl(
        project.usage / "d2.jsonl",
        day_events("2026-11-03", 10, "b")
        + day_events("2026-11-03", 10, "c", provider="mistral", model="mistral-large-2411"),
    )
    failed = project.finops("run", "--date", "2026-11-03")
    assert failed.returncode == 1
    assert "gx.unpriced_share / expect_column_values_to_be_between(unpriced_share" in failed.stderr
    assert "nothing of it published" in failed.stderr  # the CLI's summary (the pipeline no longer logs it too)
    assert project.warehouse.read_bytes() == before
    # the bad file is withdrawn; the next night publishes
    (project.usage / "d2.jsonl").unlink()
    write_jsonl(project.usage / "d3.jsonl", day_events("2026-11-04", 10, "d"))
    project.finops("run", "--date", "2026-11-04", check=True)
    days = project.query("select usage_date::varchar, count(*) from finance.fct_llm_requests group by 1 order by 1")
    assert days == [("2026-11-02", 10), ("2026-11-04", 10)]
    results = project.query("""select count(distinct run_id), count(*) filter (where not success)
                               from finance.data_quality_results""")
    assert results == [(3, 1)]


def test_a_night_rebuilds_only_its_day_unless_inputs_changed(project: Project):
    write_jsonl(project.usage / "d1.jsonl", day_events("2026-11-02", 10, "a"))
    write_jsonl(project.usage / "d2.jsonl", day_events("2026-11-03", 10, "b"))
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-03", check=True)
    before = project.query("select sum(cost_usd) from finance.fct_llm_requests where usage_date = '2026-11-02'")[0][0]

    write_jsonl(project.usage / "d3.jsonl", day_events("2026-11-04", 10, "c"))
    night = project.finops("run", "--date", "2026-11-04", check=True)
    assert "(1 day(s) built: 2026-11-04 .. 2026-11-04)" in night.stdout

    # a late file for an earlier day: that day is rebuilt too
    write_jsonl(project.usage / "late.jsonl", day_events("2026-11-02", 3, "late"))
    night = project.finops("run", "--date", "2026-11-05", "--allow-empty", check=True)
    assert "also rebuilding 1 day(s) whose inputs changed: 2026-11-02" in night.stderr
    assert project.query("select count(*) from finance.fct_llm_requests where usage_date = '2026-11-02'") == [(13,)]

    # a backdated price (a negotiated discount from 2026-11-03) re-costs the days it covers, and only those
    (project.root / "prices" / "zz_discount.csv").write_text(
        "provider,model,usage_type,usd_per_million,service_tier,min_input_tokens,effective_from,source\n"
        "anthropic,claude-sonnet-4-6,input,1.50,standard,0,2026-11-03,negotiated\n"
    )
    night = project.finops("run", "--date", "2026-11-05", "--allow-empty", check=True)
    assert "also rebuilding 2 day(s) whose inputs changed: 2026-11-03, 2026-11-04" in night.stderr
    after = dict(project.query("select usage_date::varchar, sum(cost_usd) from finance.fct_llm_requests group by 1"))
    tokens = sum(1000 + i for i in range(10))
    assert after["2026-11-03"] == pytest.approx((tokens * 1.5 + 10 * 100 * 15) / 1e6, abs=1e-9)
    assert after["2026-11-02"] == pytest.approx(
        before + (sum(1000 + i for i in range(3)) * 3 + 300 * 15) / 1e6, abs=1e-9
    )
    # the whole-history tables agree with the partitions built over four different nights
    total = project.query("select sum(cost_usd) from finance.fct_llm_requests")[0][0]
    assert project.query("select sum(cost_usd) from finance.showback_weekly")[0][0] == pytest.approx(total, abs=1e-9)
    assert project.query("select sum(cost_usd) from finance.agg_cost_daily")[0][0] == pytest.approx(total, abs=1e-9)
    assert project.query("select count(*) from finance.fct_llm_tasks") == [(33,)]  # 10 + 3 late, 10, 10


def test_a_task_crossing_midnight_is_one_task(project: Project):
    tasks = "select usage_date::varchar, task_id, requests from finance.fct_llm_tasks order by all"
    write_jsonl(
        project.usage / "d1.jsonl",
        [event("m1", "2026-11-02T23:59:00Z", task_id="night"), event("s1", "2026-11-02T10:00:00Z", task_id="solo")],
    )
    project.finops("run", "--date", "2026-11-02", check=True)
    write_jsonl(project.usage / "d2.jsonl", [event("m2", "2026-11-03T00:01:00Z", task_id="night")])
    project.finops("run", "--date", "2026-11-03", check=True)
    # the night's task is rebuilt whole; the day before's other task is kept as it was published
    assert project.query(tasks) == [("2026-11-02", "night", 2), ("2026-11-02", "solo", 1)]
    # the second day's file changes: its call no longer belongs to the task of the night before
    write_jsonl(project.usage / "d2.jsonl", [event("m2", "2026-11-03T00:01:00Z", task_id="morning")])
    project.finops("run", "--date", "2026-11-03", check=True)
    assert project.query(tasks) == [("2026-11-02", "night", 1), ("2026-11-02", "solo", 1), ("2026-11-03", "morning", 1)]


def test_a_reader_of_the_old_catalog_still_reads_after_an_old_day_is_rebuilt(ten_calls: Project):
    """A partition is kept 7 days from when a publish superseded it, not from when it was written: a day published
    8 days ago and rebuilt now keeps its old partition for the readers of the old catalog."""
    import duckdb

    project = ten_calls
    data = project.warehouse.with_name("finops.data")
    old = list((data / "tables").glob("*/*/usage_date=2026-11-02/*.parquet"))
    week_ago = time.time() - 8 * 24 * 3600
    for path in old:
        os.utime(path, (week_ago, week_ago))
    reader = duckdb.connect(str(project.warehouse), read_only=True)
    assert reader.execute("select count(*) from finance.fct_llm_requests").fetchone() == (10,)
    # a late file for 2026-11-02: the night of 2026-11-03 rebuilds it (in a process of its own, as the reader is
    # finance's: in one process, DuckDB shares one open database per path)
    write_jsonl(project.usage / "late.jsonl", day_events("2026-11-02", 3, "late"))
    project.finops_subprocess("run", "--date", "2026-11-03", "--allow-empty", check=True)
    assert reader.execute("select count(*) from finance.fct_llm_requests").fetchone() == (10,)
    assert reader.execute("select count(*) from finance.fct_llm_tasks").fetchone() == (10,)
    reader.close()  # (a process shares one open database per path: the next connection sees the new catalog)
    assert project.query("select count(*) from finance.fct_llm_requests") == [(13,)]
    assert all(path.exists() for path in old)
    # 7 days after they were superseded, the next publish deletes them
    state = json.loads((data / "state.json").read_text())
    state["superseded"] = {rel: at - 7 * 24 * 3600 - 60 for rel, at in state["superseded"].items()}
    (data / "state.json").write_text(json.dumps(state))
    project.finops("run", "--date", "2026-11-04", "--allow-empty", check=True)
    assert not any(path.exists() for path in old)
    assert project.query("select count(*) from finance.fct_llm_requests") == [(13,)]


def read_until(stream, text: str, deadline_seconds: float = 300) -> str:
    """The first line of a child's output that holds `text` ('' when the stream ends or the deadline passes)."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    end = time.monotonic() + deadline_seconds
    while time.monotonic() < end:
        if selector.select(timeout=end - time.monotonic()):
            line = stream.readline()
            if not line or text in line:
                return line
    return ""


def test_a_second_run_says_for_whom_it_waits(project: Project):
    import socket

    from core.config import load_config
    from core.layout import Layout
    from warehouse.pipeline import pipeline_lock

    write_jsonl(project.usage / "d1.jsonl", day_events("2026-11-02", 5, "a"))
    with pipeline_lock(Layout.of(load_config(project.config))):  # this test is the run in progress
        second = subprocess.Popen(
            [str(FINOPS), "run", "--date", "2026-11-02", "--config", str(project.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=project.root,
        )
        waiting = read_until(second.stderr, "waiting for the run")
    out, err = second.communicate(timeout=600)
    assert (
        f"another run holds {project.warehouse.with_name('finops.data') / 'lock'}: waiting for the run started "
        f"at " in waiting
    )
    assert f" UTC by pid {os.getpid()} on {socket.gethostname()}: " in waiting
    assert second.returncode == 0, err[-3000:]
    assert project.query("select count(*) from finance.fct_llm_requests") == [(5,)]


def test_a_run_killed_mid_build_is_cleaned_up_by_the_next_run(ten_calls: Project):
    """kill -9 while dbt builds: the published warehouse is untouched; the next run removes the killed run's build
    folder (and a temporary catalog, as a run killed while writing it leaves) and publishes the day."""
    import signal

    project = ten_calls
    published = project.warehouse.read_bytes()
    write_jsonl(project.usage / "d2.jsonl", day_events("2026-11-03", 7, "b"))
    builds = project.warehouse.with_name("finops.data") / "builds"
    killed = subprocess.Popen(
        [str(FINOPS), "run", "--date", "2026-11-03", "--config", str(project.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project.root,
        start_new_session=True,
    )
    assert "building 1 day(s)" in read_until(killed.stderr, "building 1 day(s)")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    left = list(builds.iterdir())
    assert len(left) == 1 and project.warehouse.read_bytes() == published
    temp_catalog = project.warehouse.with_name(f".finops.duckdb.{left[0].name}.tmp")
    temp_catalog.write_bytes(b"half a catalog")
    project.finops("run", "--date", "2026-11-03", check=True)
    assert not left[0].exists() and not temp_catalog.exists()
    assert list(builds.iterdir()) == []
    assert project.query("select count(*) from finance.fct_llm_requests") == [(17,)]


def test_results_files_are_kept_a_week_and_their_rows_stay_in_the_catalog(five_calls: Project):
    project = five_calls
    results = project.warehouse.with_name("finops.data") / "results"
    runs = "select count(distinct run_id) from finance.data_quality_results"
    [first] = results.glob("*.parquet")
    first_rows = project.query(f"select count(*) from finance.data_quality_results where run_id = '{first.stem}'")
    assert first_rows[0][0] > 20
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(first, (week_ago, week_ago))
    project.finops("run", "--date", "2026-11-03", "--allow-empty", check=True)  # (the next days have no calls)
    assert not first.exists() and len(list(results.glob("*.parquet"))) == 1
    assert project.query(runs) == [(2,)]
    # the first run's rows go on from catalog to catalog
    project.finops("run", "--date", "2026-11-04", "--allow-empty", check=True)
    assert project.query(runs) == [(3,)]
    assert (
        project.query(f"select count(*) from finance.data_quality_results where run_id = '{first.stem}'") == first_rows
    )


# Two days and a task crossing their midnight. Sonnet, 3 / 15 USD per million: a call of 1,000 input and n x 100
# output tokens costs (3,000 + 1,500 n) / 1e6: m1 0.0045, m2 0.006 (the night's task 0.0105), s1 0.0075, s2 0.009.
NIGHT = "2026-11-02", "2026-11-03"


def write_night(project: Project) -> None:
    write_jsonl(
        project.usage / "d1.jsonl",
        [
            event("m1", "2026-11-02T23:59:00Z", task_id="night"),
            event("s1", "2026-11-02T10:00:00Z", task_id="solo-1", output_tokens=300),
        ],
    )
    write_jsonl(
        project.usage / "d2.jsonl",
        [
            event("m2", "2026-11-03T00:01:00Z", task_id="night", output_tokens=200),
            event("s2", "2026-11-03T10:00:00Z", task_id="solo-2", output_tokens=400),
        ],
    )


def published_tasks(project: Project) -> list[tuple]:
    return project.query("""select usage_date::varchar, task_id, requests, round(cost_usd, 9)
                            from finance.fct_llm_tasks order by all""")


def backfill_night(project: Project) -> None:
    write_night(project)
    project.finops("backfill", "--from", NIGHT[0], "--to", NIGHT[1], check=True)


@pytest.fixture(scope="module")
def night_built(tmp_path_factory) -> Prebuilt:
    return Prebuilt(tmp_path_factory.mktemp("night") / "project", backfill_night)


@pytest.mark.parametrize(
    "order",
    [
        ["2026-11-03", "2026-11-02", "2026-11-02", "2026-11-03"],  # the day after first: a failed day rerun later
        ["2026-11-02", "2026-11-03", "2026-11-03", "2026-11-02"],
        ["backfill", "2026-11-03", "2026-11-02", "backfill"],
    ],
)
def test_a_task_crossing_midnight_is_counted_once_whatever_the_order_of_its_days(
    project: Project, night_built: Prebuilt, order
):
    if order[0] == "backfill":  # its first step is the module's backfilled night
        project = night_built.restore()
    else:
        write_night(project)
    # the tasks published once both days are built: the night's task is one task, on the day of its first call
    both = [("2026-11-02", "night", 2, 0.0105), ("2026-11-02", "solo-1", 1, 0.0075), ("2026-11-03", "solo-2", 1, 0.009)]
    # one day alone: its half of the night's task is all there is of it so far
    alone = {
        "2026-11-02": [("2026-11-02", "night", 1, 0.0045), ("2026-11-02", "solo-1", 1, 0.0075)],
        "2026-11-03": [("2026-11-03", "night", 1, 0.006), ("2026-11-03", "solo-2", 1, 0.009)],
    }
    built: set[str] = set()
    for step, day in enumerate(order, 1):
        args = ["backfill", "--from", NIGHT[0], "--to", NIGHT[1]] if day == "backfill" else ["run", "--date", day]
        if (step, day) != (1, "backfill"):
            project.finops(*args, check=True)
        built |= set(NIGHT) if day == "backfill" else {day}
        expected = both if len(built) == 2 else alone[day]
        assert published_tasks(project) == expected, f"after step {step} ({day})"
        total = round(sum(cost for *_, cost in expected), 9)  # both days: 0.027
        assert project.query("select round(sum(cost_usd), 9) from finance.fct_llm_tasks") == [(total,)]
        assert project.query("select round(sum(cost_usd), 9) from finance.fct_llm_requests") == [(total,)]


def test_a_task_whose_first_day_loses_its_call_moves_to_the_day_after(night_built: Prebuilt):
    """The night's task is published on 2026-11-02; the day's file is corrected without the task's call there:
    rebuilding that day alone moves the task, with its call of the day after, to 2026-11-03 (not lost)."""
    project = night_built.restore()  # write_night, backfilled
    write_jsonl(project.usage / "d1.jsonl", [event("s1", "2026-11-02T10:00:00Z", task_id="solo-1", output_tokens=300)])
    project.finops("run", "--date", NIGHT[0], check=True)
    assert published_tasks(project) == [
        ("2026-11-02", "solo-1", 1, 0.0075),
        ("2026-11-03", "night", 1, 0.006),
        ("2026-11-03", "solo-2", 1, 0.009),
    ]
    assert (
        project.query("select round(sum(cost_usd), 9) from finance.fct_llm_tasks")
        == project.query("select round(sum(cost_usd), 9) from finance.fct_llm_requests")
        == [(0.0225,)]
    )
