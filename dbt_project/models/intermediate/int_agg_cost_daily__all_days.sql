-- One row per usage_date, tenant_id, feature, provider, model over the whole history: this build's days
-- plus the published days it does not rebuild (input of the weekly showback and the anomaly scan).
{%- set columns = 'usage_date, tenant_id, feature, provider, model, requests, tasks, failed_requests, input_tokens, '
    ~ 'cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_usd, list_cost_usd, '
    ~ 'retry_cost_usd, cache_savings_usd, cache_hit_rate, unpriced_requests, unpriced_tokens, self_hosted_requests' %}
select {{ columns }} from {{ ref('int_agg_cost_daily__build_days') }}
{%- set files = build_var('history_agg_daily_files') %}
{%- if files | length > 0 %}
union all
select {{ columns }} from {{ read_partitions(files) }}
where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
{%- endif %}
