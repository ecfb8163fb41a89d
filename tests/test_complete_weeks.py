"""Complete weeks only: showback_weekly.days_published and is_complete, and reports that compare a week with the
week before only when all 7 of its days are published ("n of 7 days" otherwise, "no data" for a week never built,
never $0).

Anthropic sonnet at $3/M input, one call a day for acme / search, no deployment:
    W45 (2026-11-02 .. 08): 1M input a day, $3.00 a day; W46 (2026-11-09 .. 15): 2M a day, $6.00 a day.
First only Thu 5 .. Sun 8 of W45 are built (4 of 7 days, $12.00) with the whole of W46 ($42.00): W46 is not
compared with W45. Then Mon 2 .. Wed 4 are built: W45 is complete ($21.00), W46 is +$21.00 (+100.0%) against
it, and W45's own prior week, W44, has no data.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta

from conftest import Project, event, write_jsonl

OWNERS = """
[reports]
dir = "out/reports"
outbox = "out/outbox"

[[owners]]
email = "search@example.com"
name = "Search"
features = ["search"]
"""


def calls() -> list[dict]:
    out = []
    for i in range(14):
        day = date(2026, 11, 2) + timedelta(days=i)
        tokens = 2_000_000 if day >= date(2026, 11, 9) else 1_000_000
        out.append(event(f"s-{day}", f"{day}T09:00:00Z", input_tokens=tokens, output_tokens=0))
    return out


def report(project: Project, week: str) -> tuple[str, list[str], email.message.EmailMessage]:
    """(showback.html, summary.csv lines, the Search owner's email) of `week`."""
    project.finops("report", "--week", week, check=True)
    reports, outbox = project.root / "out" / "reports" / week, project.root / "out" / "outbox" / week
    message = email.message_from_bytes((outbox / "search.eml").read_bytes(), policy=email.policy.default)
    return (reports / "showback.html").read_text(), (reports / "summary.csv").read_text().splitlines(), message


def test_a_partial_week_is_labelled_and_not_compared_until_it_is_complete(project: Project):
    write_jsonl(project.usage / "calls.jsonl", calls())
    project.write_config(OWNERS, deployments="")
    project.finops("backfill", "--from", "2026-11-05", "--to", "2026-11-15", check=True)

    assert project.query("""select week_start::varchar, days_published, is_complete, cost_usd, prior_week_cost_usd
                            from finance.showback_weekly order by 1""") == [
        ("2026-11-02", 4, False, 12.00, None),
        ("2026-11-09", 7, True, 42.00, None),
    ]
    showback, summary, message = report(project, "2026-W46")
    assert 'id="total-cost">$42.00</strong>' in showback
    assert 'prior week <span id="prior-week">2026-W45: 4 of 7 days, not compared</span>' in showback
    assert "$12.00" not in showback and "-$" not in showback and "+$" not in showback
    assert summary[0].startswith("week,cost_usd,api_usd,")  # no prior week, no change
    assert summary[1].startswith("2026-W46,42.00,42.00,")
    assert message["Subject"] == "AI spend 2026-W46, Search: $42.00 (prior week 2026-W45: 4 of 7 days, not compared)"
    text = message.get_body(("plain",)).get_content()
    assert "Total: $42.00; prior week 2026-W45: 4 of 7 days, not compared (only complete weeks are compared)." in text
    assert "$12.00" not in text

    # the rest of W45: W46 is compared with it; W45's prior week, W44, was never built: no data, not $0
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-04", check=True)
    assert project.query("""select week_start::varchar, days_published, is_complete, cost_usd, prior_week_cost_usd
                            from finance.showback_weekly order by 1""") == [
        ("2026-11-02", 7, True, 21.00, None),
        ("2026-11-09", 7, True, 42.00, 21.00),
    ]
    showback, summary, message = report(project, "2026-W46")
    assert "+$21.00 (+100.0%)" in showback and "$21.00 in 2026-W45" in showback
    assert summary[1].startswith("2026-W46,42.00,21.00,21.00,1.0000,42.00,")
    assert message["Subject"] == (
        "AI spend 2026-W46, Search: $42.00 (+$21.00 vs 2026-W45), biggest change: search +$21.00"
    )

    showback, summary, message = report(project, "2026-W45")
    assert 'prior week <span id="prior-week">2026-W44: no data</span>' in showback
    assert "$0.00" not in showback.split('id="summary"')[1].split("</p>")[0]
    assert message["Subject"] == "AI spend 2026-W45, Search: $21.00 (prior week 2026-W44: no data)"
    assert (
        "Total: $21.00; prior week 2026-W44: no data (only complete weeks are compared)."
        in message.get_body(("plain",)).get_content()
    )


def test_the_model_mix_alert_compares_complete_weeks_only(project: Project):
    """acme: one sonnet call of 1M input a day ($3.00), and from W46 on one opus call of 1M input too ($15.00, a
    premium model: output $75/M). W45 has only Sun 8 built ($3.00, premium share 0); W46 is $126.00 of which $105.00
    premium (share 105/126 = 0.833333). W46 is not compared with 1 day of W45; once W45 is whole ($21.00, share 0),
    it is: +0.833333 and the alert."""
    records = []
    for i in range(14):
        day = date(2026, 11, 2) + timedelta(days=i)
        records.append(event(f"s-{day}", f"{day}T09:00:00Z", input_tokens=1_000_000, output_tokens=0))
        if day >= date(2026, 11, 9):
            records.append(
                event(f"o-{day}", f"{day}T10:00:00Z", model="claude-opus-4", input_tokens=1_000_000, output_tokens=0)
            )
    write_jsonl(project.usage / "calls.jsonl", records)
    project.write_config(deployments="")
    shares = """select week_start::varchar, cost_usd, premium_cost_usd, round(premium_share, 6),
                       round(prior_week_premium_share, 6), round(premium_share_change, 6), is_alert
                from finance.premium_share_weekly where tenant_id = 'acme' order by 1"""

    project.finops("backfill", "--from", "2026-11-08", "--to", "2026-11-15", check=True)
    assert project.query(shares) == [
        ("2026-11-02", 3.00, 0.00, 0.0, None, None, False),
        ("2026-11-09", 126.00, 105.00, 0.833333, None, None, False),
    ]

    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-07", check=True)
    assert project.query(shares) == [
        ("2026-11-02", 21.00, 0.00, 0.0, None, None, False),
        ("2026-11-09", 126.00, 105.00, 0.833333, 0.0, 0.833333, True),
    ]
