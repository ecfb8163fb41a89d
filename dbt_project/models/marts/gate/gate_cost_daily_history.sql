-- One row per usage_date, tenant_id, feature, provider, model over the whole history: the calls and cost that the
-- gate's sums_agree (weeks of showback_weekly) and row_counts (the trailing week) suites read.
select usage_date, requests, cost_usd from {{ ref('int_agg_cost_daily__all_days') }}
