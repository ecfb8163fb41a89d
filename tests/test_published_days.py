"""Days that cannot be complete are refused or marked (issue 20 item 3): today only with --partial (status partial),
a day with no usage record fails the row-count check when the days before it have calls (a missing export looks
exactly like that) and is published as `empty` with --allow-empty or when it has no history; finance.published_days
says which day is which.

Anthropic sonnet at $3/M input, one call a day of 1M input tokens for acme / search: $3.00 a day, no deployment.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import Project, event, write_jsonl

from warehouse.build import day_status

OWNERS = """
[reports]
dir = "out/reports"
outbox = "out/outbox"

[[owners]]
email = "search@example.com"
name = "Search"
features = ["search"]
"""
ROW_COUNTS_FAILED = (
    "gx.row_counts / expect_column_values_to_be_between(ratio, min_value=0.25) on fct_llm_requests: 1 unexpected"
)


def one_call_a_day(first: date, days: int) -> list[dict]:
    return [
        event(f"c-{day}", f"{day}T09:00:00Z", input_tokens=1_000_000, output_tokens=0)
        for day in (first + timedelta(days=i) for i in range(days))
    ]


def published_days(project: Project) -> list[tuple]:
    return project.query("""select usage_date::varchar, requests, cost_usd, status
                            from finance.published_days order by usage_date""")


@pytest.mark.unit
def test_a_days_status_is_partial_until_it_ends_then_empty_or_complete():
    today = date(2026, 11, 9)
    assert day_status("2026-11-09", 5, today) == "partial"
    assert day_status("2026-11-09", 0, today) == "partial"
    assert day_status("2026-11-08", 5, today) == "complete"
    assert day_status("2026-11-08", 0, today) == "empty"


def test_an_empty_day_after_a_full_trailing_week_fails_the_row_count_check(project: Project):
    write_jsonl(project.usage / "calls.jsonl", one_call_a_day(date(2026, 11, 2), 7))  # Mon 2 .. Sun 8
    project.write_config(deployments="")
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-08", check=True)

    empty = project.finops("run", "--date", "2026-11-09")
    assert empty.returncode == 1, empty.stderr
    assert ROW_COUNTS_FAILED in empty.stderr
    assert "'usage_date': '2026-11-09', 'requests': 0, 'trailing_mean': 1.0" in empty.stderr


def test_an_empty_day_after_two_days_of_calls_fails_unless_allowed_then_is_published_as_empty(project: Project):
    # only Sat 7 and Sun 8 before it (2 calls / 7 = 0.2857 a day): a day with no call at all still looks like a
    # missing export
    write_jsonl(project.usage / "calls.jsonl", one_call_a_day(date(2026, 11, 7), 2))
    project.write_config(deployments="")
    project.finops("backfill", "--from", "2026-11-07", "--to", "2026-11-08", check=True)

    empty = project.finops("run", "--date", "2026-11-09")
    assert empty.returncode == 1, empty.stderr
    assert ROW_COUNTS_FAILED in empty.stderr
    assert "'usage_date': '2026-11-09', 'requests': 0, 'trailing_mean': 0.2857" in empty.stderr
    assert published_days(project) == [("2026-11-07", 1, 3.0, "complete"), ("2026-11-08", 1, 3.0, "complete")]

    allowed = project.finops("run", "--date", "2026-11-09", "--allow-empty")
    assert allowed.returncode == 0, allowed.stderr
    assert "2026-11-09 published as empty: no usage record from any source ($0)" in allowed.stdout
    assert "2026-11-09 published as empty: no usage record from any source, $0" in allowed.stderr
    assert published_days(project) == [
        ("2026-11-07", 1, 3.0, "complete"),
        ("2026-11-08", 1, 3.0, "complete"),
        ("2026-11-09", 0, 0.0, "empty"),
    ]
    assert project.query("select days_published, is_complete from finance.showback_weekly") == [(2, False)]


def test_an_empty_day_without_history_is_published_as_empty(project: Project):
    write_jsonl(project.usage / "calls.jsonl", one_call_a_day(date(2026, 11, 10), 1))
    project.write_config(deployments="")
    run = project.finops("backfill", "--from", "2026-11-09", "--to", "2026-11-10")
    assert run.returncode == 0, run.stderr
    assert "2026-11-09 published as empty" in run.stdout
    assert published_days(project) == [("2026-11-09", 0, 0.0, "empty"), ("2026-11-10", 1, 3.0, "complete")]
    (run_id,) = {r[0] for r in project.query("select run_id from finance.published_days")}
    assert project.query("select count(*) from finance.published_days where published_at is null") == [(0,)]
    assert project.query("select count(*) from finance.data_quality_results where run_id = ?", [run_id])[0][0] > 0


def test_today_is_published_only_with_partial_and_marked_partial(project: Project):
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    write_jsonl(project.usage / "calls.jsonl", one_call_a_day(yesterday, 2))
    project.write_config(deployments="")

    for args in (["run", "--date", str(today)], ["backfill", "--from", str(yesterday), "--to", str(today)]):
        refused = project.finops(*args)
        assert refused.returncode == 2, refused.stderr
        option = "--date" if args[0] == "run" else "--to"
        assert f"finops: {option} {today} is today (UTC): the day is not over" in refused.stderr
        assert "pass --partial to publish it marked partial" in refused.stderr
        assert not project.warehouse.exists()

    run = project.finops("backfill", "--from", str(yesterday), "--to", str(today), "--partial")
    assert run.returncode == 0, run.stderr
    assert f"{today} published as partial: the day is not over" in run.stdout
    assert published_days(project) == [(str(yesterday), 1, 3.0, "complete"), (str(today), 1, 3.0, "partial")]


def test_a_partial_day_becomes_complete_when_a_run_after_it_ends_rebuilds_it(project: Project):
    # W45, run on Sun 2026-11-08 at noon: Mon 2 .. Sat 7 complete, Sun 8 (its morning call) partial
    write_jsonl(project.usage / "calls.jsonl", one_call_a_day(date(2026, 11, 2), 7))
    project.write_config(deployments="")
    project.finops_at(
        "2026-11-08T12:00:00Z", "backfill", "--from", "2026-11-02", "--to", "2026-11-08", "--partial", check=True
    )
    assert published_days(project)[-2:] == [("2026-11-07", 1, 3.0, "complete"), ("2026-11-08", 1, 3.0, "partial")]
    assert project.query("select days_published, is_complete from finance.showback_weekly") == [(7, False)]

    # the report of the week names the partial day, and reports it with --allow-partial
    project.write_config(OWNERS, deployments="")
    refused = project.finops("report", "--week", "2026-W45")
    assert refused.returncode == 1, refused.stderr
    assert (
        "week 2026-W45 is not complete in the published warehouse: 2026-11-08 is partial (published before the "
        "day ended) (pass --allow-partial to report it as it is" in refused.stderr
    )
    assert not (project.root / "out" / "reports" / "2026-W45").exists()
    allowed = project.finops("report", "--week", "2026-W45", "--allow-partial")
    assert allowed.returncode == 0, allowed.stderr
    showback = (project.root / "out" / "reports" / "2026-W45" / "showback.html").read_text()
    assert "partial: 2026-11-08 (published before the day ended, its figures will change)" in showback
    assert 'id="total-cost">$21.00</strong>' in showback
    text = (project.root / "out" / "outbox" / "2026-W45" / "search.eml").read_text()
    assert "Partial: 2026-11-08 published before the day ended; its figures will change." in text

    # Mon 9 at 06:00: the nightly run for another day rebuilds Sun 8 too, now complete
    later = project.finops_at("2026-11-09T06:00:00Z", "run", "--date", "2026-11-07")
    assert later.returncode == 0, later.stderr
    assert "also rebuilding 1 day(s) published as partial that have ended: 2026-11-08" in later.stderr
    assert published_days(project)[-2:] == [("2026-11-07", 1, 3.0, "complete"), ("2026-11-08", 1, 3.0, "complete")]
    assert project.query("select days_published, is_complete from finance.showback_weekly") == [(7, True)]
    assert project.finops("report", "--week", "2026-W45").returncode == 0
