"""Budgets and forecasts ([[budgets]], finance.spend_forecast_daily, finance.budget_status_daily) on hand-computed
figures.

Anthropic sonnet at $3/M input, 1M input tokens a call. Every day of 2026-11-01 .. 2026-11-07 (November: 30 days):
    search / acme   one call a day: $3.00          chat / acme  one call: $3.00        chat / globex  one call: $3.00
and on 2026-11-08 search / acme makes a 27M-token call: $81.00.
Forecast as of a day = month to date + (the 7 days ending on it / 7) x the days of the month after it:
    search / acme as of 11-06: 18.00 + 18.00 / 7 x 24 = 79.714285714286
                  as of 11-07: 21.00 + 21.00 / 7 x 23 = 90.00
                  as of 11-08: 102.00 + (18.00 + 81.00) / 7 x 22 = 413.142857142857
Budgets:
    search      feature search, $100:    11-06 ok (79.7% forecast), 11-07 at_risk (90%), 11-08 over (spent 102%)
    chat-acme   owner Chat (feature chat) and tenant acme, $50: 11-07 spent 21.00 (chat / globex is not in it),
                forecast 90.00: at_risk
    company     the whole bill, $1,000: 11-07 spent 63.00, forecast 63.00 + 9.00 x 23 = 270.00: ok
"""

from __future__ import annotations

import csv
import email
import email.policy
import json

import pytest
from conftest import Project, event, write_jsonl
from fixture_server import FixtureServer
from test_reports import Recorder, smtp_config, smtp_server  # noqa: F401 (smtp_server: the fixture)

BUDGETS = """
[[owners]]
email = "chat@example.com"
name = "Chat"
features = ["chat"]

[[budgets]]
name = "search"
feature = "search"
monthly_usd = 100

[[budgets]]
name = "chat-acme"
owner = "Chat"
tenant_id = "acme"
monthly_usd = 50

[[budgets]]
name = "company"
monthly_usd = 1000
"""


def calls() -> list[dict]:
    out = []
    for day in range(1, 8):
        at = f"2026-11-{day:02d}T09:00:00Z"
        for tenant, feature in (("acme", "search"), ("acme", "chat"), ("globex", "chat")):
            out.append(
                event(
                    f"{tenant}-{feature}-{day}",
                    at,
                    tenant=tenant,
                    feature=feature,
                    input_tokens=1_000_000,
                    output_tokens=0,
                )
            )
    out.append(event("big", "2026-11-08T09:00:00Z", feature="search", input_tokens=27_000_000, output_tokens=0))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("budgets") / "project")
    write_jsonl(project.usage / "calls.jsonl", calls())
    project.write_config(BUDGETS, deployments="")
    project.finops("backfill", "--from", "2026-11-01", "--to", "2026-11-08", check=True)
    return project


def test_the_forecast_is_month_to_date_plus_the_last_7_days_mean_for_the_rest_of_the_month(built):
    assert built.query("""select as_of_date::varchar, month::varchar, month_to_date_usd, forecast_month_usd
                          from finance.spend_forecast_daily
                          where tenant_id = 'acme' and feature = 'search' and as_of_date >= '2026-11-06'
                          order by 1""") == [
        ("2026-11-06", "2026-11-01", 18.00, 79.714285714286),
        ("2026-11-07", "2026-11-01", 21.00, 90.00),
        ("2026-11-08", "2026-11-01", 102.00, 413.142857142857),
    ]


def test_a_budget_is_ok_then_at_risk_by_forecast_then_over_by_spend(built):
    assert built.query("""select as_of_date::varchar, budget_usd, spent_usd, forecast_month_usd,
                                 round(spent_share, 4), round(forecast_share, 4), status
                          from finance.budget_status_daily
                          where budget = 'search' and as_of_date >= '2026-11-06' order by 1""") == [
        ("2026-11-06", 100.00, 18.00, 79.714285714286, 0.18, 0.7971, "ok"),
        ("2026-11-07", 100.00, 21.00, 90.00, 0.21, 0.9, "at_risk"),
        ("2026-11-08", 100.00, 102.00, 413.142857142857, 1.02, 4.1314, "over"),
    ]


def test_a_budget_scope_is_its_tenant_feature_and_owner(built):
    assert built.query("""select budget, month::varchar, spent_usd, forecast_month_usd, status
                          from finance.budget_status_daily where as_of_date = '2026-11-07' order by 1""") == [
        ("chat-acme", "2026-11-01", 21.00, 90.00, "at_risk"),
        ("company", "2026-11-01", 63.00, 270.00, "ok"),
        ("search", "2026-11-01", 21.00, 90.00, "at_risk"),
    ]


def test_the_showback_and_the_owner_email_show_budget_status(built):
    built.finops("report", "--week", "2026-W45", check=True)
    with (built.root / "warehouse" / "reports" / "2026-W45" / "budgets.csv").open() as f:
        rows = [
            (r["budget"], r["as_of_date"], r["spent_usd"], r["forecast_month_usd"], r["status"])
            for r in csv.DictReader(f)
        ]
    # as of 2026-11-08: chat-acme 21.00 + 18.00 / 7 x 22; company 144.00 + 135.00 / 7 x 22
    assert rows == [
        ("chat-acme", "2026-11-08", "21.00", "77.57", "at_risk"),
        ("company", "2026-11-08", "144.00", "568.29", "ok"),
        ("search", "2026-11-08", "102.00", "413.14", "over"),
    ]
    chat = email.message_from_bytes(
        (built.root / "warehouse" / "outbox" / "2026-W45" / "chat.eml").read_bytes(), policy=email.policy.default
    )
    text = chat.get_body(("plain",)).get_content()
    assert "Your budgets" in text and "chat-acme" in text and "at_risk" in text
    assert "search" not in text.split("Your budgets")[1]


ALERTED = """
[[owners]]
email = "search@example.com"
name = "Search"
features = ["search"]

[[budgets]]
name = "search"
owner = "Search"
monthly_usd = 100
"""


def test_a_budget_alerts_once_at_80_by_forecast_then_once_at_100_by_spend(tmp_path, smtp_server, monkeypatch):
    handler = Recorder()
    hook = FixtureServer()
    url = hook.serve("/hooks/finops", b"")
    monkeypatch.setenv("FINOPS_TEST_HOOK_TOKEN", "s3cret")
    project = Project(tmp_path / "project")
    write_jsonl(project.usage / "calls.jsonl", calls())
    project.write_config(
        ALERTED
        + smtp_config(smtp_server(handler))
        + f'\n[alerts]\nwebhook_url = "{url}"\ntoken_env = "FINOPS_TEST_HOOK_TOKEN"\n',
        deployments="",
    )
    try:
        project.finops("backfill", "--from", "2026-11-01", "--to", "2026-11-07", check=True)
        project.finops("run", "--date", "2026-11-07", check=True)  # published again: nothing new to say
        first = "Budget search: 80% of $100.00 reached by forecast, 2026-11"
        assert [m["Subject"] for m in handler.messages] == [first]
        assert [json.loads(body) for _, _, body in hook.posts] == [
            {"text": f"{first}. Spent $21.00 (21%) to 2026-11-07; forecast for the month $90.00 (90%); status at_risk."}
        ]
        assert hook.posts[0][1]["Authorization"] == "Bearer s3cret"
        assert handler.recipients == [["search@example.com"]]

        project.finops("run", "--date", "2026-11-08", check=True)
        project.finops("run", "--date", "2026-11-08", check=True)
        second = "Budget search: 100% of $100.00 reached by spend, 2026-11"
        assert [m["Subject"] for m in handler.messages] == [first, second]
        assert json.loads(hook.posts[1][2]) == {
            "text": f"{second}. Spent $102.00 (102%) to 2026-11-08; forecast for the month $413.14 (413%); status over."
        }
        assert len(hook.posts) == 2
        logs = sorted(p.name for p in (project.root / "warehouse" / "outbox" / "alerts" / "2026-11").iterdir())
        assert logs == ["search-100.eml", "search-100.jsonl", "search-80.eml", "search-80.jsonl"]
    finally:
        hook.close()
