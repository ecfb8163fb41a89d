"""The whole bill: finance.spend_daily, the showback headline and the owners' emails, on hand-computed figures.

One self-hosted deployment, llama-fixed at $10.00 an hour (output weight 4), and Anthropic sonnet at $3/M input,
every day of 2026-11-02 .. 2026-11-15 (ISO weeks 2026-W45 and 2026-W46):
    search / acme   sonnet 1M input a day in W45, 2M in W46        $3.00 / $6.00 a day
    chat / acme     llama-fixed, Mon 2026-11-09 10:10, 1,000 in + 100 out: weight 1,400     $2.80
    chat / globex   llama-fixed, Mon 2026-11-09 10:40, 3,000 in + 150 out: weight 3,600     $7.20
W46: API $42.00 + allocated $10.00 (the one busy hour) + idle 7 x 24 - 1 = 167 hours x $10 = $1,670.00
     = $1,722.00; W45: API $21.00 + idle 168 hours = $1,680.00, $1,701.00 in all: +$21.00 (+1.2%).
Owners: Search (feature search) $42.00, Chat (feature chat) $10.00; the $1,670.00 of idle is no owner's.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta

import pytest
from conftest import Project, event, write_jsonl

WEEK = "2026-W46"
DEPLOYMENT = """
[[deployments]]
id = "llama-fixed"
hourly_cost_usd = 10.0
output_weight = 4
"""
OWNERS = """
[reports]
dir = "out/reports"
outbox = "out/outbox"

[[owners]]
email = "search@example.com"
name = "Search"
features = ["search"]

[[owners]]
email = "chat@example.com"
name = "Chat"
features = ["chat"]
"""


def calls() -> list[dict]:
    out = []
    for i in range(14):
        day = date(2026, 11, 2) + timedelta(days=i)
        tokens = 2_000_000 if day >= date(2026, 11, 9) else 1_000_000
        out.append(
            event(f"s-{day}", f"{day}T09:00:00Z", tenant="acme", feature="search", input_tokens=tokens, output_tokens=0)
        )
    out += [
        event(
            "sh-a",
            "2026-11-09T10:10:00Z",
            tenant="acme",
            feature="chat",
            provider="self_hosted",
            model="llama-3.3-70b",
            deployment_id="llama-fixed",
            input_tokens=1_000,
            output_tokens=100,
        ),
        event(
            "sh-b",
            "2026-11-09T10:40:00Z",
            tenant="globex",
            feature="chat",
            provider="self_hosted",
            model="llama-3.3-70b",
            deployment_id="llama-fixed",
            input_tokens=3_000,
            output_tokens=150,
        ),
    ]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("bill") / "project")
    write_jsonl(project.usage / "calls.jsonl", calls())
    project.write_config(OWNERS, deployments=DEPLOYMENT)
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-15", check=True)
    return project


def test_spend_daily_is_api_plus_every_deployment_hour(built):
    assert built.query("""select category, provider, deployment_id, tenant_id, feature, requests, cost_usd
                          from finance.spend_daily where usage_date = '2026-11-09' order by category, tenant_id""") == [
        ("api", "anthropic", None, "acme", "search", 1, 6.00),
        ("self_hosted_allocated", "self_hosted", "llama-fixed", "acme", "chat", 1, 2.80),
        ("self_hosted_allocated", "self_hosted", "llama-fixed", "globex", "chat", 1, 7.20),
        ("self_hosted_idle", "self_hosted", "llama-fixed", "__idle__", "__idle__", 0, 230.00),
    ]
    # every day: its API cost + 24 hours of the deployment
    assert built.query("""select usage_date::varchar, sum(cost_usd) from finance.spend_daily
                          where usage_date in ('2026-11-08', '2026-11-10') group by 1 order by 1""") == [
        ("2026-11-08", 243.00),
        ("2026-11-10", 246.00),
    ]
    assert built.query("""select category, sum(cost_usd) from finance.spend_daily
                          where usage_date >= '2026-11-09' group by 1 order by 1""") == [
        ("api", 42.00),
        ("self_hosted_allocated", 10.00),
        ("self_hosted_idle", 1670.00),
    ]


def test_the_showback_headline_is_the_whole_bill_with_its_parts(built):
    built.finops("report", "--week", WEEK, check=True)
    reports = built.root / "out" / "reports" / WEEK
    showback = (reports / "showback.html").read_text()
    assert 'id="total-cost">$1,722.00</strong>' in showback
    assert "+$21.00 (+1.2%)" in showback and "$1,701.00 in 2026-W45" in showback
    assert (
        "API calls <strong>$42.00</strong>\n"
        "    + self-hosted GPU hours allocated to calls <strong>$10.00</strong>\n"
        "    + self-hosted GPU hours with no call (idle) <strong>$1,670.00</strong>"
    ) in showback
    summary = (reports / "summary.csv").read_text().splitlines()
    assert summary[0].startswith(
        "week,cost_usd,prior_week_cost_usd,change_usd,change_ratio,api_usd,allocated_usd,idle_usd,requests,"
    )
    assert summary[1].startswith("2026-W46,1722.00,1701.00,21.00,0.0123,42.00,10.00,1670.00,9,")


def test_an_owner_keeps_their_share_and_is_told_the_idle_cost_no_one_was_charged(built):
    built.finops("report", "--week", WEEK, check=True)
    outbox = built.root / "out" / "outbox" / WEEK
    chat = email.message_from_bytes((outbox / "chat.eml").read_bytes(), policy=email.policy.default)
    text = chat.get_body(("plain",)).get_content()
    html = chat.get_body(("html",)).get_content()
    assert chat["Subject"] == "AI spend 2026-W46, Chat: $10.00 (+$10.00 vs 2026-W45), biggest change: chat +$10.00"
    assert "Total: $10.00, +$10.00" in text
    idle = (
        "Self-hosted GPU hours with no call cost $1,670.00 this week: no owner was charged for them "
        "(they are in the company's whole bill of $1,722.00)."
    )
    assert idle in text
    assert " ".join(idle.split()) in " ".join(html.split())
    search = email.message_from_bytes((outbox / "search.eml").read_bytes(), policy=email.policy.default)
    assert "Total: $42.00, +$21.00 (+100.0%) vs $21.00 in 2026-W45." in search.get_body(("plain",)).get_content()
