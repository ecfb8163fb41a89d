-- One row per request of a task that this build rebuilds: the build's own requests, plus the published requests
-- of the neighbouring days that belong to the same tasks (a task that crosses midnight is rebuilt whole) or to
-- a published task of the day before that crossed into a build day (its requests there may have changed).
-- Only those neighbouring requests are read: the day before's other tasks are kept as published (int_tasks__kept).
{%- set columns = 'task_id, tenant_id, feature, occurred_at, attempt, status, is_failed, is_retry, cost_usd,
                   cache_savings_usd, input_tokens, output_tokens, pricing_status' %}
{%- set files = var('history_request_files') %}
{%- set task_files = var('history_task_files') %}
with build_requests as (

    select {{ columns }} from {{ ref('fct_llm_requests') }}

)

select * from build_requests
{%- if files | length > 0 %}
union all
select {{ columns }}
from {{ read_partitions(files) }}
where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
  and task_id in (
      select task_id from build_requests
      {%- if task_files | length > 0 %}
      union
      select task_id from {{ read_partitions(task_files) }}
      where cast(ended_at as date) > cast(started_at as date)
      {%- endif %}
  )
{%- endif %}
