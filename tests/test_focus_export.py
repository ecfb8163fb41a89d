"""`finops export focus --month YYYY-MM` (docs/focus.md): the month's bill as FOCUS 1.2 rows, whose BilledCost sums
to the finance tables' total of the month, and which the FOCUS 1.2 conformance suite (expectations/focus.py)
accepts; the suite rejects a file that breaks the rules.

The warehouse: 2026-10-31 .. 2026-11-03 built, the test config's two self-hosted deployments idle every hour, and
- 2026-11-02 a claude-sonnet-4-6 call of 10,000 prompt tokens (4,000 cache reads at $0.30/M, 2,000 5-minute cache
  writes at $3.75/M, 1,000 1-hour writes at $6/M, 3,000 uncached at $3/M) and 500 output tokens at $15/M:
  $0.009 + $0.0012 + $0.0075 + $0.006 + $0.0075 = $0.0312;
- 2026-11-02 a batch gpt-5 call, 1,000 input and 100 output tokens at half the $5 / $20 sheet rates: $0.0035;
- 2026-11-03 a call of a model with no price (unpriced: not in the export, counted) and a claude-sonnet-4-6 call of
  1,000 input and 100 output tokens ($0.003 + $0.0015);
- 2026-10-31 a call outside the month."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from conftest import Project, event, write_jsonl

from expectations.focus import check_focus_file


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Project, object]:
    project = Project(tmp_path_factory.mktemp("focus") / "project")
    project.write_config(quality="max_unpriced_share = 0.5\nmax_quarantined_share = 0.5")
    write_jsonl(
        project.usage / "calls.jsonl",
        [
            event(
                "cached",
                "2026-11-02T10:00:00Z",
                input_tokens=10_000,
                cache_read_tokens=4_000,
                cache_write_tokens=2_000,
                cache_write_1h_tokens=1_000,
                output_tokens=500,
            ),
            event(
                "batch",
                "2026-11-02T11:00:00Z",
                provider="openai",
                model="gpt-5",
                service_tier="batch",
                tenant="globex",
                feature="summaries",
            ),
            event("unpriced", "2026-11-03T09:00:00Z", provider="openai", model="mystery-1"),
            event("plain", "2026-11-03T10:00:00Z"),
            event("october", "2026-10-31T09:00:00Z"),
            # two calls of the self-hosted llama-fixed ($10 an hour) in one hour: the one with no tokens is booked $0
            event("hosted", "2026-11-02T12:00:00Z", provider="meta", model="llama", deployment_id="llama-fixed"),
            event(
                "empty",
                "2026-11-02T12:30:00Z",
                provider="meta",
                model="llama",
                deployment_id="llama-fixed",
                tenant="initech",
                input_tokens=0,
                output_tokens=0,
            ),
        ],
    )
    project.finops("backfill", "--from", "2026-10-31", "--to", "2026-11-03", "--allow-empty", check=True)
    out = project.root / "focus-2026-11.csv"
    proc = project.finops("export", "focus", "--month", "2026-11", "--out", str(out))
    return project, proc


def test_the_parquet_export_passes_the_suite_too(exported):
    project, _ = exported
    proc = project.finops("export", "focus", "--month", "2026-11")  # default: focus-2026-11.parquet, here
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "written to focus-2026-11.parquet" in proc.stdout and ", 0 failed" in proc.stdout
    frame = pd.read_parquet(project.root / "focus-2026-11.parquet")
    assert str(frame["BilledCost"].dtype) == "object" and isinstance(frame["BilledCost"][0], Decimal)
    # the call with no tokens: $0, written 0E-12 by Arrow's text and 0.000000000000 by DuckDB's (before: the suite
    # read Arrow's and failed the decimal check)
    assert Decimal(0) in set(frame["BilledCost"])


def test_the_export_is_the_month_s_bill_in_focus_rows(exported):
    project, proc = exported
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = pd.read_csv(project.root / "focus-2026-11.csv", dtype=str, keep_default_na=False)
    [(bill,)] = project.query(
        "select sum(cost_usd)::varchar from finance.spend_daily where usage_date between '2026-11-01' and '2026-11-30'"
    )
    assert sum(Decimal(v) for v in rows["BilledCost"]) == Decimal(bill)
    assert f"the month's bill (finance.spend_daily) ${Decimal(bill):,.2f}" in proc.stdout
    assert "1 unpriced call(s) of the month are not in it" in proc.stdout
    assert "FOCUS 1.2 conformance (GX): " in proc.stdout and ", 0 failed" in proc.stdout
    api = rows[rows["x_CostCategory"] == "api"]
    assert sorted(zip(api["SkuPriceId"], api["ConsumedQuantity"], api["BilledCost"], api["ListCost"], strict=True)) == [
        (
            "anthropic/claude-sonnet-4-6/cache_read/standard/0.3",
            "4000.000000000000",
            "0.001200000000",
            "0.012000000000",
        ),
        (
            "anthropic/claude-sonnet-4-6/cache_write_1h/standard/6",
            "1000.000000000000",
            "0.006000000000",
            "0.003000000000",
        ),
        (
            "anthropic/claude-sonnet-4-6/cache_write_5m/standard/3.75",
            "2000.000000000000",
            "0.007500000000",
            "0.006000000000",
        ),
        ("anthropic/claude-sonnet-4-6/input/standard/3", "1000.000000000000", "0.003000000000", "0.003000000000"),
        ("anthropic/claude-sonnet-4-6/input/standard/3", "3000.000000000000", "0.009000000000", "0.009000000000"),
        ("anthropic/claude-sonnet-4-6/output/standard/15", "100.000000000000", "0.001500000000", "0.001500000000"),
        ("anthropic/claude-sonnet-4-6/output/standard/15", "500.000000000000", "0.007500000000", "0.007500000000"),
        ("openai/gpt-5/input/batch/2.5", "1000.000000000000", "0.002500000000", "0.005000000000"),
        ("openai/gpt-5/output/batch/10", "100.000000000000", "0.001000000000", "0.002000000000"),
    ]
    assert sum(Decimal(v) for v in api["BilledCost"]) == Decimal("0.0392")
    batch = api[api["x_ServiceTier"] == "batch"].iloc[0]
    assert (batch["PricingCategory"], batch["SkuId"], batch["Tags"]) == (
        "Standard",
        "openai/gpt-5/input",
        '{"tenant":"globex","feature":"summaries","account":null}',
    )
    assert batch["ChargePeriodStart"] == "2026-11-02T00:00:00Z" and batch["BillingPeriodEnd"] == "2026-12-01T00:00:00Z"
    # the self-hosted deployments: one row per idle hour of 1, 2 and 3 November, each of the two deployments
    idle = rows[rows["x_CostCategory"] == "self_hosted_idle"]
    assert len(idle) == 3 * 24 * 2 - 1 and set(idle["ConsumedQuantity"]) == {"1.000000000000"}
    allocated = rows[rows["x_CostCategory"] == "self_hosted_allocated"]
    assert sorted(
        zip(allocated["x_TenantId"], allocated["BilledCost"], allocated["ConsumedQuantity"], strict=True)
    ) == [
        ("acme", "10.000000000000", "1.000000000000"),
        ("initech", "0.000000000000", "0.000000000000"),
    ]
    assert len(rows) == len(api) + len(idle) + len(allocated)


def test_the_suite_rejects_a_file_that_breaks_focus_rules(exported, tmp_path):
    project, _ = exported
    rows = pd.read_csv(project.root / "focus-2026-11.csv", dtype=str, keep_default_na=False)
    rows.loc[0, "ChargeCategory"] = "usage"  # not an allowed value (FOCUS values are case-sensitive)
    rows.loc[1, "ChargePeriodStart"] = "2026-11-02 00:00:00"  # not ISO 8601 UTC with a Z
    rows.loc[2, "BilledCost"] = ""  # BilledCost is never null
    rows["Team"] = "search"  # a custom column not prefixed x_
    broken = tmp_path / "broken.csv"
    rows.to_csv(broken, index=False)
    failed = sorted(
        (r.expectation.split("(")[0], r.unexpected_count) for r in check_focus_file(broken) if not r.success
    )
    assert failed == [
        ("custom column prefixed x_", 1),
        ("expect_column_pair_values_a_to_be_greater_than_b", 1),  # row 1's start is no longer before its end
        ("expect_column_values_to_be_in_set", 1),
        ("expect_column_values_to_match_regex", 1),
        ("expect_column_values_to_not_be_null", 1),
    ]
