"""A fair charge for shared GPUs ([[deployments]] allocation, docs/decisions.md): rate_card against hourly_share on
the same calls, with hand-computed figures.

Three deployments at $10.00 an hour, output weight 1, each serving the same calls at 10:00 (1,000,000 input tokens
for acme, 3,000,000 for globex on Mon 2026-11-02; globex doubles to 6,000,000 on Tue 2026-11-03):
    llama-share  hourly_share   Mon acme 1/4 x 10 = $2.50, globex $7.50; Tue acme 1/7 x 10 = $1.428571428571,
                                globex $8.571428571429: acme pays less for the same tokens because globex grew
    llama-card   rate_card $2.00 per 1M weighted tokens: acme $2.00 both days; globex $6.00 then $12.00;
                                unrecovered 10 - 8 = $2.00 on Mon, 10 - 14 = -$4.00 on Tue (over-recovered)
    llama-auto   rate_card "auto": October's cost / its weighted tokens. Sat 2026-10-31, published first, is the only
                                day of October: $240.00 for 240,000,000 tokens (acme at 10:00) -> $1.00 per 1M in
                                November: acme $1.00, globex $3.00 then $6.00; unrecovered $6.00, then $3.00.
                                On 2026-10-31 itself there is no September of calls: it is charged by hourly share,
                                acme $10.00 (unrecovered $0).
Every deployment day costs 24 x $10.00 = $240.00: the 23 hours without calls are idle ($230.00) and each busy hour
balances, charged + unrecovered = $10.00.
"""

from __future__ import annotations

import csv

import pytest
from conftest import Project, event, write_jsonl

DEPLOYMENTS = """
[[deployments]]
id = "llama-share"
hourly_cost_usd = 10.0

[[deployments]]
id = "llama-card"
hourly_cost_usd = 10.0
allocation = "rate_card"
rate_usd_per_million_weighted_tokens = 2.0

[[deployments]]
id = "llama-auto"
hourly_cost_usd = 10.0
allocation = "rate_card"
rate_usd_per_million_weighted_tokens = "auto"
"""
TENANT_TOKENS = {
    "2026-11-02": {"acme": 1_000_000, "globex": 3_000_000},
    "2026-11-03": {"acme": 1_000_000, "globex": 6_000_000},
}


def self_hosted(event_id: str, at: str, tenant: str, deployment: str, tokens: int) -> dict:
    return event(
        event_id,
        at,
        tenant=tenant,
        feature="chat",
        provider="self_hosted",
        model="llama-3.3-70b",
        deployment_id=deployment,
        input_tokens=tokens,
        output_tokens=0,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("rate_card") / "project")
    project.write_config('[reports]\ndir = "out/reports"\n', deployments=DEPLOYMENTS)
    write_jsonl(
        project.usage / "october.jsonl",
        [self_hosted("oct", "2026-10-31T10:00:00Z", "acme", "llama-auto", 240_000_000)],
    )
    project.finops("backfill", "--from", "2026-10-31", "--to", "2026-10-31", check=True)
    calls = [
        self_hosted(f"{deployment}-{tenant}-{day}", f"{day}T10:{minute:02d}:00Z", tenant, deployment, tokens)
        for day, tenants in TENANT_TOKENS.items()
        for deployment in ("llama-share", "llama-card", "llama-auto")
        for minute, (tenant, tokens) in enumerate(tenants.items())
    ]
    write_jsonl(project.usage / "november.jsonl", calls)
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-08", "--allow-empty", check=True)
    return project


def charges(project: Project, deployment: str) -> list[tuple]:
    return project.query(f"""select usage_date::varchar, tenant_id, cost_usd from finance.self_hosted_allocation
                             where deployment_id = '{deployment}' and tenant_id <> '__idle__'
                             order by usage_date, tenant_id""")


def test_hourly_share_moves_a_tenant_charge_with_the_other_tenant_usage(built):
    assert charges(built, "llama-share") == [
        ("2026-11-02", "acme", 2.50),
        ("2026-11-02", "globex", 7.50),
        ("2026-11-03", "acme", 1.428571428571),
        ("2026-11-03", "globex", 8.571428571429),
    ]


def test_a_rate_card_tenant_pays_its_own_tokens_and_the_rest_is_unrecovered(built):
    assert charges(built, "llama-card") == [
        ("2026-11-02", "__unrecovered__", 2.00),
        ("2026-11-02", "acme", 2.00),
        ("2026-11-02", "globex", 6.00),
        ("2026-11-03", "__unrecovered__", -4.00),
        ("2026-11-03", "acme", 2.00),
        ("2026-11-03", "globex", 12.00),
    ]
    # fct_llm_requests carries the same charge per call
    assert built.query("""select event_id, cost_usd from finance.fct_llm_requests
                          where deployment_id = 'llama-card' and tenant_id = 'acme' order by 1""") == [
        ("llama-card-acme-2026-11-02", 2.00),
        ("llama-card-acme-2026-11-03", 2.00),
    ]


def test_an_auto_rate_is_the_previous_month_cost_over_its_tokens(built):
    assert charges(built, "llama-auto") == [
        ("2026-10-31", "__unrecovered__", 0.00),
        ("2026-10-31", "acme", 10.00),
        ("2026-11-02", "__unrecovered__", 6.00),
        ("2026-11-02", "acme", 1.00),
        ("2026-11-02", "globex", 3.00),
        ("2026-11-03", "__unrecovered__", 3.00),
        ("2026-11-03", "acme", 1.00),
        ("2026-11-03", "globex", 6.00),
    ]


def test_every_deployment_day_balances_to_the_cent_and_spend_daily_is_the_whole_bill(built):
    # 3 deployments x 8 days (2026-10-31, 2026-11-02 .. 2026-11-08), each $240.00
    assert built.query("""select count(*), min(cost_usd), max(cost_usd) from (
                              select deployment_id, usage_date, sum(cost_usd) as cost_usd
                              from finance.self_hosted_allocation group by 1, 2)""") == [(24, 240.00, 240.00)]
    assert built.query("""select category, sum(cost_usd) from finance.spend_daily
                          where usage_date = '2026-11-03' group by 1 order by 1""") == [
        ("self_hosted_allocated", 10.00 + 14.00 + 7.00),
        ("self_hosted_idle", 3 * 230.00),
        ("self_hosted_unrecovered", -4.00 + 3.00),
    ]


def test_the_showback_shows_what_rate_cards_did_not_recover(built):
    built.finops("report", "--week", "2026-W45", check=True)
    reports = built.root / "out" / "reports" / "2026-W45"
    # unrecovered in W45: llama-card 2.00 - 4.00, llama-auto 6.00 + 3.00
    assert (
        "+ self-hosted busy hours not recovered by rate cards <strong>$7.00</strong>"
        in (reports / "showback.html").read_text()
    )
    with (reports / "self_hosted.csv").open() as f:
        rows = {r["deployment_id"]: r for r in csv.DictReader(f)}
    # 7 days x 24 hours x $10.00 = $1,680.00 a deployment; 2 busy hours
    assert {k: rows["llama-card"][k] for k in ("allocated_usd", "unrecovered_usd", "idle_usd", "total_usd")} == {
        "allocated_usd": "22.00",
        "unrecovered_usd": "-2.00",
        "idle_usd": "1660.00",
        "total_usd": "1680.00",
    }
