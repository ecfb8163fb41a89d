-- One row per usage_date, hour_start, provider, model, deployment_id over the whole history: this build's days
-- plus the published days it does not rebuild (input of rent vs API and of the self-hosted weekly unit cost).
{%- set columns = 'usage_date, hour_start, provider, model, deployment_id, requests, input_tokens, output_tokens, '
    ~ 'cost_usd, unpriced_requests' %}
select {{ columns }} from {{ ref('int_usage_hourly__build_days') }}
{%- set files = build_var('history_usage_hourly_files') %}
{%- if files | length > 0 %}
union all
select {{ columns }} from {{ read_partitions(files) }}
where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
{%- endif %}
