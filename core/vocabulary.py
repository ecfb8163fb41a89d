"""The project's vocabularies, each declared once: the values a column or a config key may take. Python imports
them from here; dbt gets them as vars (DBT_VARS, passed by warehouse/dbt_args.py on every build, with the same
defaults in dbt_project/dbt_project.yml: tests/test_vocabulary.py checks the two agree), which the models and
the accepted_values tests read with var()."""

from __future__ import annotations

# A call's service tier (the canonical record's service_tier; price rows are per tier) and status.
SERVICE_TIERS = ("standard", "batch", "flex", "priority")
STATUSES = ("success", "error", "timeout", "rate_limited", "cancelled")
# How a call is costed: per-token rates in force, none in force (cost NULL, never $0), or a self-hosted share.
PRICING_STATUSES = ("priced", "unpriced", "self_hosted")
# What a per-token price is for (price rows' usage_type).
USAGE_TYPES = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
# How a GPU is paid for (GPU offers' pricing_type, deployments' pricing).
PRICINGS = ("on_demand", "spot", "reserved")
# How a deployment's cost is charged to its calls ([[deployments]] allocation, docs/decisions.md): each hour's cost
# split over its calls by weighted tokens, or a fixed rate per 1M weighted tokens for the month.
ALLOCATIONS = ("hourly_share", "rate_card")
# The parts of the whole bill (spend_daily.category); self_hosted_unrecovered: the cost of a rate_card deployment's
# busy hours that its calls did not pay at the rate (negative when they paid more).
SPEND_CATEGORIES = ("api", "self_hosted_allocated", "self_hosted_idle", "self_hosted_unrecovered")
# A budget's status on a day (finance.budget_status_daily.status): spent below the budget and forecast below its
# lowest alert level; forecast at or above it; spent at or above the budget.
BUDGET_STATUSES = ("ok", "at_risk", "over")
# A published day's status (finance.published_days.status): complete; partial (today, not over, --partial);
# empty (no usage record from any source).
DAY_STATUSES = ("complete", "partial", "empty")
# What an anomaly is flagged on (cost_anomalies.dimension) and broken down by.
ANOMALY_DIMENSIONS = ("tenant", "feature", "model")

# The kinds of the configured sources (docs/config.md).
USAGE_KINDS = ("canonical", "openai_usage", "anthropic_usage", "gemini_usage", "otel_genai", "litellm_spend_logs")
PRICE_KINDS = ("price_sheet", "litellm_json", "openrouter_json", "html_table")
GPU_KINDS = ("gpu_sheet", "runpod_json", "vast_json", "html_table")
SHEET_KINDS = ("price_sheet", "gpu_sheet")  # canonical CSV sheets; every other price/GPU kind is scraped
# what vendors billed (docs/spec.md#billing): each dates its own rows, like a sheet
BILLING_KINDS = ("openai_costs", "anthropic_cost_report", "litellm_spend_logs", "billing_sheet")

# The vocabularies dbt reads: var name -> values.
DBT_VARS = {
    "service_tiers": SERVICE_TIERS,
    "statuses": STATUSES,
    "usage_types": USAGE_TYPES,
    "pricings": PRICINGS,
    "allocations": ALLOCATIONS,
    "spend_categories": SPEND_CATEGORIES,
    "anomaly_dimensions": ANOMALY_DIMENSIONS,
    "day_statuses": DAY_STATUSES,
    "budget_statuses": BUDGET_STATUSES,
}
