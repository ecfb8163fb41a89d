-- The published tasks of the day before and after each build day that this build does not rebuild (none of their
-- requests is in int_tasks__requests). A day's tasks are one partition, so the publish writes them again,
-- unchanged, with the rebuilt tasks (int_tasks__rebuilt; the mart fct_llm_tasks is both); read from the published
-- partitions, not recomputed from their calls. (history_task_files also holds the build days' own published
-- partitions: those are rebuilt whole.)
{%- set task_files = build_var('history_task_files') %}
{%- set columns = 'task_id, tenant_id, feature, started_at, ended_at, usage_date, requests, failed_requests, retries,
                   succeeded, cost_usd, retry_cost_usd, cache_savings_usd, input_tokens, output_tokens,
                   unpriced_requests' %}
{%- if task_files | length > 0 %}
select {{ columns }}
from {{ read_partitions(task_files) }}
where cast(usage_date as date) not in (select cast(usage_date as date) from {{ ref('stg_raw__build_days') }})
  and task_id not in (select task_id from {{ ref('int_tasks__rebuilt') }})
{%- else %}
    select {{ columns }}
    from {{ ref('int_tasks__rebuilt') }}
    where 1 = 0
{%- endif %}
