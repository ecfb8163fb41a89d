"""`finops export focus --month YYYY-MM`: a month of the bill as a FOCUS 1.2 cost and usage dataset (the FinOps
Foundation's FinOps Open Cost and Usage Specification), for FinOps tools (docs/focus.md).

The rows are finance.focus_cost_daily's (dbt_project/models/marts/agg_focus_cost_daily.sql: one per day, provider,
model, service tier, account, tenant, feature, token type and rate of the priced API calls; one per self-hosted
deployment, hour, tenant and feature, allocated and idle). This module names them in FOCUS: COLUMNS, each FOCUS
column and its SQL over that table, declared once; the GX suite of the export (expectations/focus.py) checks the
names, types and values the version allows."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import duckdb

from warehouse.sql_output import write_result

FOCUS_VERSION = "1.2"

# The values this export uses of the columns whose values FOCUS 1.2 restricts.
CHARGE_CATEGORY = "Usage"
CHARGE_FREQUENCY = "Usage-Based"
PRICING_CATEGORY = "Standard"
SERVICE_CATEGORY = "AI and Machine Learning"
SERVICE_SUBCATEGORY = "Generative AI"
CURRENCY = "USD"


@dataclass(frozen=True)
class Column:
    name: str  # the FOCUS column (x_: ours)
    sql: str  # over finance.focus_cost_daily as f; $period_start / $period_end: the billing period
    kind: str  # decimal, string, datetime or json: the FOCUS data type
    nullable: bool  # whether FOCUS 1.2 lets it be null in these rows


def _utc(timestamp: str) -> str:
    """FOCUS date-times: ISO 8601 in UTC with a Z (the warehouse's timestamps are UTC)."""
    return f"strftime({timestamp}, '%Y-%m-%dT%H:%M:%SZ')"


def _json(*pairs: tuple[str, str]) -> str:
    return "to_json({" + ", ".join(f"'{key}': {value}" for key, value in pairs) + "})::varchar"


COLUMNS = (
    Column("BilledCost", "f.cost_usd", "decimal", False),
    Column("EffectiveCost", "f.cost_usd", "decimal", False),
    Column("ListCost", "f.list_cost_usd", "decimal", False),
    Column("ContractedCost", "f.cost_usd", "decimal", False),
    Column("BillingCurrency", f"'{CURRENCY}'", "string", False),
    Column("BillingAccountId", "f.provider", "string", False),
    Column("BillingAccountName", "f.provider", "string", True),
    Column("SubAccountId", "f.account_id", "string", True),
    Column("SubAccountName", "f.account_id", "string", True),
    Column("BillingPeriodStart", _utc("$period_start"), "datetime", False),
    Column("BillingPeriodEnd", _utc("$period_end"), "datetime", False),
    Column("ChargePeriodStart", _utc("f.charge_period_start"), "datetime", False),
    Column("ChargePeriodEnd", _utc("f.charge_period_end"), "datetime", False),
    Column("ChargeCategory", f"'{CHARGE_CATEGORY}'", "string", False),
    Column("ChargeClass", "null::varchar", "string", True),
    Column("ChargeFrequency", f"'{CHARGE_FREQUENCY}'", "string", False),
    Column(
        "ChargeDescription",
        "case when f.category = 'api' then f.model || ' ' || replace(f.token_type, '_', ' ') || ' tokens, ' "
        "|| f.service_tier || ' tier' else 'self-hosted ' || f.deployment_id || ', ' "
        "|| case when f.category = 'self_hosted_idle' then 'idle hour' else 'allocated share of the hour' end end",
        "string",
        False,
    ),
    Column("ConsumedQuantity", "coalesce(f.tokens::decimal(38, 12), f.hours::decimal(38, 12))", "decimal", False),
    Column("ConsumedUnit", "case when f.category = 'api' then 'Tokens' else 'Hours' end", "string", False),
    Column(
        "PricingQuantity", "coalesce((f.tokens / 1e6)::decimal(38, 12), f.hours::decimal(38, 12))", "decimal", False
    ),
    Column("PricingUnit", "case when f.category = 'api' then '1000000 Tokens' else 'Hours' end", "string", False),
    Column("PricingCategory", f"'{PRICING_CATEGORY}'", "string", False),
    Column("PricingCurrency", f"'{CURRENCY}'", "string", False),
    Column("ListUnitPrice", "f.list_unit_price_usd", "decimal", False),
    Column("ContractedUnitPrice", "f.unit_price_usd", "decimal", False),
    Column("ProviderName", "f.provider", "string", False),
    Column("PublisherName", "f.provider", "string", False),
    Column("InvoiceIssuerName", "f.provider", "string", False),
    Column("ServiceCategory", f"'{SERVICE_CATEGORY}'", "string", False),
    Column("ServiceSubcategory", f"'{SERVICE_SUBCATEGORY}'", "string", False),
    Column(
        "ServiceName",
        "case when f.category = 'api' then f.provider || ' API' else 'Self-hosted inference' end",
        "string",
        False,
    ),
    Column("ResourceId", "coalesce(f.deployment_id, f.provider || '/' || f.model)", "string", False),
    Column("ResourceName", "coalesce(f.deployment_id, f.model)", "string", False),
    Column("ResourceType", "case when f.category = 'api' then 'Model' else 'Deployment' end", "string", False),
    Column("SkuId", "f.provider || '/' || f.model || '/' || coalesce(f.token_type, 'hour')", "string", False),
    Column(
        "SkuPriceId",
        "f.provider || '/' || f.model || '/' || coalesce(f.token_type, 'hour') || '/' || f.service_tier "
        "|| '/' || rtrim(rtrim(f.unit_price_usd::varchar, '0'), '.')",
        "string",
        False,
    ),
    Column(
        "SkuPriceDetails",
        _json(("ModelId", "f.model"), ("TokenType", "coalesce(f.token_type, 'deployment_hour')")),
        "json",
        False,
    ),
    Column(
        "Tags",
        _json(("tenant", "f.tenant_id"), ("feature", "f.feature"), ("account", "f.account_id")),
        "json",
        False,
    ),
    Column("x_ServiceTier", "f.service_tier", "string", False),
    Column("x_TokenType", "f.token_type", "string", True),
    Column("x_Model", "f.model", "string", False),
    Column("x_DeploymentId", "f.deployment_id", "string", True),
    Column("x_TenantId", "f.tenant_id", "string", False),
    Column("x_Feature", "f.feature", "string", False),
    Column("x_CostCategory", "f.category", "string", False),
)


def focus_query() -> str:
    select = ",\n    ".join(f'{column.sql} as "{column.name}"' for column in COLUMNS)
    return (
        f"select\n    {select}\nfrom finance.focus_cost_daily as f\n"
        "where f.usage_date >= $month_start and f.usage_date < $month_end\n"
        "order by f.charge_period_start, f.category, f.provider, f.model, f.token_type, f.tenant_id, f.feature, "
        "f.account_id, f.unit_price_usd"
    )


@dataclass(frozen=True)
class FocusExport:
    rows: int
    billed_usd: Decimal  # the export's BilledCost
    bill_usd: Decimal  # finance.spend_daily's cost_usd of the month: the same to the cent
    unpriced_requests: int  # calls of the month with no price: not in the export (their cost is NULL, not 0)


def export_focus(con: duckdb.DuckDBPyConnection, month: date, fmt: str, out: Path) -> FocusExport:
    """Write the month's FOCUS rows to `out` (csv or parquet)."""
    month_end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    window = {"month_start": month, "month_end": month_end}
    period = {"period_start": datetime(month.year, month.month, 1), "period_end": datetime.combine(month_end, time())}
    relation = con.sql(focus_query(), params={**window, **period})
    rows = relation.fetchall()
    write_result(relation.columns, rows, relation.fetch_arrow_table, fmt, out, sys.stdout)
    billed = sum((row[0] for row in rows), Decimal(0))
    [(bill,)] = con.execute(
        "select coalesce(sum(cost_usd), 0) from finance.spend_daily "
        "where usage_date >= $month_start and usage_date < $month_end",
        window,
    ).fetchall()
    [(unpriced,)] = con.execute(
        "select count(*) from finance.fct_llm_requests "
        "where usage_date >= $month_start and usage_date < $month_end and cost_usd is null",
        window,
    ).fetchall()
    return FocusExport(len(rows), billed, Decimal(bill), unpriced)
