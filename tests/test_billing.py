"""Reconciliation with what vendors billed (issue 20 item 5): [[billing.sources]], finance.billing_reconciliation and
the billing_gap suite, end to end through the CLI on hand-computed figures.

Anthropic sonnet at $3.00 per million input tokens (the bundled sheet), input tokens only:
    2026-11-02  10.5M tokens  $31.50
    2026-11-03  10.5M tokens  $31.50
    2026-11-04  0.1M tokens   $0.30
A bill of $31.50 agrees; $30.00 is a gap of +$1.50, +5.0% (over 2% and over $1.00: flagged); $0.20 for the $0.30
day is +50% but only $0.10 (under $1.00: not flagged); a day with no bill line is awaiting its bill (NULL).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project, event, write_jsonl
from fixture_server import FixtureServer

TOKENS = {"2026-11-02": 10_500_000, "2026-11-03": 10_500_000, "2026-11-04": 100_000}
SHEET_SOURCE = '[[billing.sources]]\nkind = "billing_sheet"\npath = "bills/*.csv"\n'
RECONCILIATION = """select cast(usage_date as varchar), provider, account_id, computed_usd, billed_usd, difference_usd,
                          round(difference_share, 6)
                   from finance.billing_reconciliation order by all"""


def usage(project: Project, days: list[str]) -> None:
    for day in days:
        write_jsonl(
            project.usage / f"{day}.jsonl",
            [event(f"e-{day}", f"{day}T09:00:00Z", input_tokens=TOKENS[day], output_tokens=0)],
        )


def bill(project: Project, lines: list[str], name: str = "anthropic.csv") -> Path:
    path = project.root / "bills" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("date,provider,account,usd,description\n" + "".join(f"{line}\n" for line in lines))
    return path


def configure(project: Project, source: str = SHEET_SOURCE, quality: str = "") -> None:
    project.write_config(
        extra=source,
        deployments="",
        quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.5\n" + quality,
    )


def test_a_bill_that_agrees_publishes_without_a_warning(project: Project):
    usage(project, ["2026-11-02"])
    bill(project, ["2026-11-02,anthropic,,31.50,Claude API"])
    configure(project)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0)]
    assert "gx.billing_gap" not in proc.stderr + proc.stdout
    report = (project.root / "warehouse" / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "<h2>Warnings</h2>" not in report


def test_a_bill_5_percent_off_is_a_warning_naming_the_provider_and_day(project: Project):
    usage(project, ["2026-11-02"])
    bill(project, ["2026-11-02,anthropic,,30.00,Claude API"])
    configure(project)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 0, proc.stderr
    # computed 31.50 - billed 30.00 = +1.50, +5.0% of the bill: published, with a warning
    assert project.query(RECONCILIATION) == [("2026-11-02", "anthropic", None, 31.5, 30.0, 1.5, 0.05)]
    warning = [line for line in proc.stderr.splitlines() if "usage_date 2026-11-02" in line]
    assert "gx.billing_gap" in proc.stderr
    assert warning and "provider anthropic" in warning[0] and "difference_usd 1.5" in warning[0], proc.stderr
    report = (project.root / "warehouse" / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "PASSED with 1 warning(s)" in report and "<h2>Warnings</h2>" in report
    assert "<b>provider</b> anthropic" in report and "<b>usage_date</b> 2026-11-02" in report


def test_a_billing_gap_blocks_publishing_when_configured(project: Project):
    usage(project, ["2026-11-02"])
    bill(project, ["2026-11-02,anthropic,,30.00,Claude API"])
    configure(project, quality="billing_gap_blocks = true")
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 1, proc.stderr
    assert "gx.billing_gap" in proc.stdout + proc.stderr
    assert not project.warehouse.exists()  # nothing published
    report = (project.root / "warehouse" / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "FAILED" in report and "<b>provider</b> anthropic" in report


def test_a_tiny_gap_is_not_flagged_and_a_day_without_a_bill_awaits_it(project: Project):
    usage(project, ["2026-11-02", "2026-11-03", "2026-11-04"])
    bill(project, ["2026-11-02,anthropic,,31.50,", "2026-11-04,anthropic,,0.20,"])
    configure(project)
    proc = project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-04")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [
        ("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0),
        ("2026-11-03", "anthropic", None, 31.5, None, None, None),  # awaiting the bill
        ("2026-11-04", "anthropic", None, 0.3, 0.2, 0.1, 0.5),  # +50%, but $0.10: not flagged
    ]
    assert "gx.billing_gap" not in proc.stderr


def test_a_bill_that_arrives_later_is_reconciled_by_the_next_run(project: Project):
    usage(project, ["2026-11-02", "2026-11-03"])
    bill(project, [])  # no bill yet
    configure(project)
    project.finops("run", "--date", "2026-11-02", check=True)
    bill(project, ["2026-11-02,anthropic,,30.00,"])  # the bill of 2026-11-02 arrives with the next day's run
    proc = project.finops("run", "--date", "2026-11-03")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [
        ("2026-11-02", "anthropic", None, 31.5, 30.0, 1.5, 0.05),
        ("2026-11-03", "anthropic", None, 31.5, None, None, None),
    ]
    assert "usage_date 2026-11-02" in proc.stderr


@pytest.fixture
def server():
    s = FixtureServer()
    yield s
    s.close()


def test_a_billing_sheet_at_a_url_is_fetched_and_landed(project: Project, server: FixtureServer):
    usage(project, ["2026-11-02"])
    url = server.serve(
        "/bill.csv", b"date,provider,account,usd\n2026-11-02,anthropic,,31.50\n", content_type="text/csv"
    )
    configure(project, source=f'[[billing.sources]]\nkind = "billing_sheet"\nname = "invoices"\nurl = "{url}"\n')
    project.finops("run", "--date", "2026-11-02", check=True)
    assert project.query(RECONCILIATION) == [("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0)]
    landed = list((project.root / "warehouse" / "landing" / "invoices").glob("*/*.csv"))
    assert len(landed) == 1 and landed[0].read_bytes().endswith(b"31.50\n")


def test_a_bad_billing_sheet_exits_2_naming_the_file_line_and_column(project: Project):
    usage(project, ["2026-11-02"])
    path = bill(project, ["2026-11-02,anthropic,,31.50,", "2026-11-03,anthropic,,USD 31.50,"])
    configure(project)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:3: column 'usd' is 'USD 31.50', expected an amount in USD" in proc.stderr


def test_a_billing_source_of_an_unknown_kind_exits_2(project: Project):
    usage(project, ["2026-11-02"])
    configure(project, source='[[billing.sources]]\nkind = "aws_cur"\npath = "usage/*"\n')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "key 'billing.sources[0].kind' is 'aws_cur', expected one of: openai_costs" in proc.stderr
