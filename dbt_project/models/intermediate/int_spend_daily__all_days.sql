-- One row per usage_date, category, provider, account_id, deployment_id, tenant_id, feature over the whole history:
-- this build's days plus the published days it does not rebuild (input of the billing reconciliation).
{%- set columns = 'usage_date, category, provider, account_id, deployment_id, tenant_id, feature, requests, cost_usd' %}
select {{ columns }} from {{ ref('int_spend_daily__build_days') }}
{%- set files = build_var('history_spend_daily_files') %}
{%- if files | length > 0 %}
union all
select {{ columns }} from {{ read_partitions(files) }}
where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
{%- endif %}
