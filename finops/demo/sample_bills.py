"""Sample vendor bills for `finops demo`: what the demo's vendors "billed" for its days, written as billing sheets
(docs/spec.md#billing) beside the sample usage, so that the demo shows a reconciliation with a gap to find.

The bills are the sample's own computed cost per provider and day (finance.agg_cost_daily; self_hosted: each
deployment's allocated + idle hours from finance.spend_daily, as a GPU cloud's invoice per deployment), except that
the vendor billed WRONG_PRICE's model at a price WRONG_PRICE_FACTOR times the bundled prices' (a price the catalog has
wrong), and the last AWAITING_DAYS days have no bill yet (vendors report a day or more late)."""

from __future__ import annotations

from pathlib import Path

import duckdb

WRONG_PRICE = ("openai", "gpt-5")  # the model whose bundled price is "wrong" for this demo
WRONG_PRICE_FACTOR = 1.08  # the vendor billed it 8% above the bundled price
AWAITING_DAYS = 1

BILLING_SOURCE = """
[[billing.sources]]                    # what the vendors billed (sample invoices: finops/demo/sample_bills.py)
kind = "billing_sheet"
name = "sample_bills"
path = "bills/*.csv"
"""


def write_sample_bills(con: duckdb.DuckDBPyConnection, folder: Path) -> Path:
    """bills/<provider>.csv under `folder`, from the published warehouse `con`; returns the folder."""
    bills = folder / "bills"
    bills.mkdir(parents=True, exist_ok=True)
    rows = con.execute(
        f"""
        with days as (
            select max(usage_date) - {AWAITING_DAYS} as last_billed from finance.spend_daily),
        api as (
            select usage_date, provider, '' as account,
                   sum(cost_usd * case when provider = $provider and model = $model then $factor else 1 end) as usd
            from finance.agg_cost_daily
            where provider <> 'self_hosted'
            group by 1, 2),
        gpu as (
            select usage_date, 'self_hosted' as provider, deployment_id as account, sum(cost_usd) as usd
            from finance.spend_daily
            where provider = 'self_hosted'
            group by 1, 3)
        select provider, usage_date, account, round(usd, 2)
        from (select * from api union all select * from gpu), days
        where usage_date <= days.last_billed and usd is not null
        order by provider, usage_date, account""",
        {"provider": WRONG_PRICE[0], "model": WRONG_PRICE[1], "factor": WRONG_PRICE_FACTOR},
    ).fetchall()
    for provider in sorted({r[0] for r in rows}):
        lines = ["date,provider,account,usd,description"] + [
            f"{day},{p},{account},{usd:.2f},sample invoice" for p, day, account, usd in rows if p == provider
        ]
        (bills / f"{provider}.csv").write_text("\n".join(lines) + "\n")
    return bills
