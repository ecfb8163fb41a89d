-- One row per request that can belong to a task rebuilt by this build: the build's own requests plus the
-- published requests of the neighbouring days (a task that crosses midnight is rebuilt whole).
{%- set columns = 'task_id, tenant_id, feature, occurred_at, attempt, status, is_failed, is_retry, cost_usd,
                   cache_savings_usd, input_tokens, output_tokens, pricing_status' %}
select {{ columns }}
from {{ ref('fct_llm_requests') }}
{%- set files = var('history_request_files') %}
{%- if files | length > 0 %}
union all
select {{ columns }}
from {{ read_partitions(files) }}
where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
{%- endif %}
