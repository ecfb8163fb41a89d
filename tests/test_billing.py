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

import json
from pathlib import Path

import pytest
from conftest import Project, event, write_jsonl
from fixture_server import FixtureServer

TOKENS = {"2026-11-02": 10_500_000, "2026-11-03": 10_500_000, "2026-11-04": 100_000}
WEEK = [f"2026-11-0{d}" for d in range(2, 9)]  # 2026-W45: 11-05 .. 11-08 at 1M tokens, $3.00 a day
TOKENS.update(dict.fromkeys(WEEK[3:], 1_000_000))
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
    usage(project, WEEK)
    bill(project, ["2026-11-02,anthropic,,31.50,", "2026-11-04,anthropic,,0.20,"])
    configure(project)
    proc = project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-08")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION)[:4] == [
        ("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0),
        ("2026-11-03", "anthropic", None, 31.5, None, None, None),  # awaiting the bill
        ("2026-11-04", "anthropic", None, 0.3, 0.2, 0.1, 0.5),  # +50%, but $0.10: not flagged
        ("2026-11-05", "anthropic", None, 3.0, None, None, None),
    ]
    assert "gx.billing_gap" not in proc.stderr
    # the showback: the week's $75.30 computed; $31.70 billed for 2 days, +$0.10 on them (+0.3%); 5 days awaiting
    project.finops("report", "--week", "2026-W45", check=True)
    reports = project.root / "warehouse" / "reports" / "2026-W45"
    assert (reports / "billing.csv").read_text().splitlines()[1] == "2026-W45,anthropic,75.30,31.70,0.10,0.0032,2,5"
    page = (reports / "showback.html").read_text()
    assert "Computed vs billed" in page and "$31.70" in page


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


def test_a_bill_at_a_url_that_agrees_is_landed_and_publishes_without_a_warning(project: Project, server: FixtureServer):
    usage(project, ["2026-11-02"])
    url = server.serve(
        "/bill.csv", b"date,provider,account,usd\n2026-11-02,anthropic,,31.50\n", content_type="text/csv"
    )
    configure(project, source=f'[[billing.sources]]\nkind = "billing_sheet"\nname = "invoices"\nurl = "{url}"\n')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0)]
    assert "gx.billing_gap" not in proc.stderr + proc.stdout
    report = (project.root / "warehouse" / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "<h2>Warnings</h2>" not in report
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


# --- each kind, parsed from a fixture ----------------------------------------------------------------------------

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _billed(frame) -> list[tuple]:
    return [
        (str(r["usage_date"]), r["provider"], r["account_id"], r["billed_usd"]) for r in frame.iter_rows(named=True)
    ]


@pytest.mark.unit
def test_openai_costs_pages_become_billed_amounts_per_project():
    from ingest.bills import read_openai_costs

    rows = read_openai_costs(FIXTURES / "billing" / "openai_costs.json")
    # the bucket starting 1767225600 is 2026-01-01 00:00 UTC; amount.value is USD
    assert _billed(rows) == [
        ("2026-01-01", "openai", "proj_finops01", 0.1008),
        ("2026-01-01", "openai", "proj_finops01", 0.062),
        ("2026-01-01", "openai", "proj_finops01", 0.1536),
        ("2026-01-01", "openai", "proj_etl02", 0.18),
    ]
    assert rows["description"].to_list()[3] == "gpt-4o-mini-2024-07-18, input | batch"


@pytest.mark.unit
def test_anthropic_cost_report_amounts_are_cents_per_workspace():
    from ingest.bills import read_anthropic_cost_report

    rows = read_anthropic_cost_report(FIXTURES / "billing" / "anthropic_cost_report.json")
    assert _billed(rows) == [
        ("2026-11-02", "anthropic", "wrkspc_01Search", 31.5),  # "3150.00" cents
        ("2026-11-03", "anthropic", None, 12.345678),  # "1234.5678" cents, web search, no workspace
        ("2026-11-03", "anthropic", "wrkspc_01Search", 0.005),  # "0.5" cents
    ]


@pytest.mark.unit
def test_litellm_spend_logs_bill_the_spend_per_provider_and_team_or_key():
    from ingest.bills import read_litellm_spend

    rows = read_litellm_spend(FIXTURES / "usage" / "litellm_spend_logs.json")
    key = "5e2a9b7c1d3f4e6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a"
    assert _billed(rows) == [
        ("2026-11-02", "openai", "team-3c1f", 0.004775),
        ("2026-11-02", "anthropic", "team-88aa", 0.016779),
        ("2026-11-02", "google", "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b", 0.000435),
        ("2026-11-02", "anthropic", key, 0.0),
        ("2026-11-02", "openai", None, 0.0),  # a response-cache hit: LiteLLM recorded no spend
        ("2026-11-02", "openai", None, 1.02e-05),
        ("2026-11-02", "anthropic", None, 0.00218),
    ]
    csv_rows = read_litellm_spend(FIXTURES / "usage" / "litellm_spend_logs.csv")
    assert _billed(csv_rows)[0] == ("2026-11-02", "openai", "team-3c1f", 0.004775)


@pytest.mark.unit
def test_a_bill_in_another_currency_is_refused_naming_the_file_and_result(tmp_path: Path):
    from ingest.bills import read_openai_costs
    from ingest.sheets import SheetError

    page = tmp_path / "costs.json"
    page.write_text(
        '{"data": [{"start_time": 1767225600, "results": [{"amount": {"value": 1.5, "currency": "eur"}}]}]}'
    )
    with pytest.raises(SheetError, match=r"costs.json: result 1: currency 'eur', expected USD"):
        read_openai_costs(page)


def test_an_anthropic_cost_report_at_a_url_and_a_gpu_cloud_sheet_per_deployment(
    project: Project, server: FixtureServer
):
    """The report's 2026-11-02 ($31.50, workspace wrkspc_01Search) agrees with the day's sonnet calls; the GPU cloud's
    sheet bills deployment llama-fixed ($10.00 an hour, no call: 24 idle hours = $240.00) $252.00 for the day:
    -$12.00, -4.8%, a warning naming self_hosted. The workspace gets no row of its own: no usage record names it
    (account_id), so its computed cost is unknown (not $0)."""
    usage(project, ["2026-11-02"])
    report = (FIXTURES / "billing" / "anthropic_cost_report.json").read_bytes()
    url = server.serve("/v1/organizations/cost_report", report)
    bill(project, ["2026-11-02,self_hosted,llama-fixed,252.00,GPU cloud invoice"], name="gpu.csv")
    source = f"""
[[billing.sources]]
kind = "anthropic_cost_report"
name = "anthropic_costs"
url = "{url}"

[[billing.sources]]
kind = "billing_sheet"
path = "bills/gpu.csv"
"""
    project.write_config(
        extra=source,
        deployments='[[deployments]]\nid = "llama-fixed"\nhourly_cost_usd = 10.0\n',
        quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.5",
    )
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [
        ("2026-11-02", "anthropic", None, 31.5, 31.5, 0.0, 0.0),
        ("2026-11-02", "self_hosted", "llama-fixed", 240.0, 252.0, -12.0, -0.047619),
        ("2026-11-02", "self_hosted", None, 240.0, 252.0, -12.0, -0.047619),
    ]
    assert "provider self_hosted" in proc.stderr
    assert list((project.root / "warehouse" / "landing" / "anthropic_costs").glob("*/*.json"))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            'kind = "billing_sheet"\npath = "bills/*.csv"\neffective_from = "2026-01-01"',
            "key 'billing.sources[0].effective_from' applies to price and GPU sources only (a bill dates its own rows)",
        ),
        (
            'kind = "billing_sheet"\npath = "bills/*.csv"\nname = "prices_0"',
            "[[prices.sources]], [[gpu.sources]] and [[billing.sources]] names must be unique",
        ),
        ('kind = "openai_costs"\nurl = "ftp://example.com/costs"', "expected an http:// or https:// URL"),
    ],
)
def test_a_bad_billing_source_exits_2_naming_the_key(project: Project, source: str, message: str):
    usage(project, ["2026-11-02"])
    bill(project, ["2026-11-02,anthropic,,31.50,"])
    configure(project, source=f"[[billing.sources]]\n{source}\n")
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr


def _openai_costs_page(project: Project, account: str, usd: float) -> None:
    """One Costs API page (a file per project) billing `usd` on 2026-11-02 (start_time 1793577600) to `account`."""
    result = {"object": "organization.costs.result", "amount": {"value": usd, "currency": "usd"}, "project_id": account}
    page = {"object": "page", "data": [{"start_time": 1793577600, "end_time": 1793664000, "results": [result]}]}
    path = project.root / "bills" / f"openai_{account}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({**page, "has_more": False, "next_page": None}))


def test_each_openai_project_the_usage_names_is_reconciled_on_its_own(project: Project):
    """gpt-5 at $5.00 per million input tokens (the bundled sheet), on 2026-11-02:
        proj_a  20M tokens  $100.00   billed $100.00: agrees
        proj_b  6.3M tokens  $31.50   billed $30.00: +$1.50, +5.0% (over 2% and $1.00: a warning)
        no account  1M tokens  $5.00  (a record without account_id: in the whole provider only)
        proj_c  no usage names it     billed $5.00: no row of its own (its computed cost is unknown, not $0)
    The whole provider: $136.50 computed, $135.00 billed, +$1.50, +1.1% (under 2%: not flagged)."""
    calls = [("a", "proj_a", 20_000_000), ("b", "proj_b", 6_300_000), ("c", None, 1_000_000)]
    write_jsonl(
        project.usage / "2026-11-02.jsonl",
        [
            event(
                f"e-{name}",
                "2026-11-02T09:00:00Z",
                provider="openai",
                model="gpt-5",
                input_tokens=tokens,
                output_tokens=0,
                **({"account_id": account} if account else {}),
            )
            for name, account, tokens in calls
        ],
    )
    for account, usd in (("proj_a", 100.00), ("proj_b", 30.00), ("proj_c", 5.00)):
        _openai_costs_page(project, account, usd)
    configure(project, source='[[billing.sources]]\nkind = "openai_costs"\npath = "bills/openai_*.json"\n')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 0, proc.stderr
    assert project.query(RECONCILIATION) == [
        ("2026-11-02", "openai", "proj_a", 100.0, 100.0, 0.0, 0.0),
        ("2026-11-02", "openai", "proj_b", 31.5, 30.0, 1.5, 0.05),
        ("2026-11-02", "openai", None, 136.5, 135.0, 1.5, 0.011111),
    ]
    assert project.query("select account_id, cost_usd from finance.fct_llm_requests order by event_id") == [
        ("proj_a", 100.0),
        ("proj_b", 31.5),
        (None, 5.0),
    ]
    warnings = [line for line in proc.stderr.splitlines() if "usage_date 2026-11-02" in line]
    assert len(warnings) == 1, proc.stderr
    assert "provider openai" in warnings[0] and "account_id proj_b" in warnings[0], proc.stderr
