{{ config(materialized='parquet_partitions' if target.type == 'duckdb' else 'table') }}

-- One row per task rebuilt by this build: each task_id of int_tasks__requests whose first request falls on a
-- build day or the day before or after it (a task that crosses midnight is rebuilt whole whichever of its two days
-- is built, and belongs to the day of its first call). The other tasks of those neighbouring days are unchanged:
-- int_tasks__kept; the mart fct_llm_tasks is both.
-- DuckDB: written once, as Parquet partitions (macros/parquet_partitions.sql); publishing moves those of the build
-- days and writes the neighbouring days' again with their kept tasks (warehouse/build.py task_days).
with requests as (

    select * from {{ ref('int_tasks__requests') }}

),

tasks as (

    select
        task_id,
        min_by(tenant_id, {{ call_order('occurred_at', 'attempt') }}) as tenant_id,
        min_by(feature, {{ call_order('occurred_at', 'attempt') }}) as feature,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as requests,
        cast(sum(case when is_failed then 1 else 0 end) as {{ dbt.type_bigint() }}) as failed_requests,
        cast(sum(case when is_retry then 1 else 0 end) as {{ dbt.type_bigint() }}) as retries,
        max_by(status, {{ call_order('occurred_at', 'attempt') }}) = 'success' as succeeded,
        sum(cost_usd) as cost_usd,
        coalesce(sum(case when is_failed then cost_usd end), {{ money(0) }}) as retry_cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,
        cast(sum(input_tokens) as {{ dbt.type_bigint() }}) as input_tokens,
        cast(sum(output_tokens) as {{ dbt.type_bigint() }}) as output_tokens,
        cast(sum(case when pricing_status = 'unpriced' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as unpriced_requests
    from requests
    group by task_id

),

task_days as (

    select usage_date from {{ ref('stg_raw__build_days') }}
    union
    select {{ dbt.dateadd('day', -1, 'usage_date') }} from {{ ref('stg_raw__build_days') }}
    union
    select {{ dbt.dateadd('day', 1, 'usage_date') }} from {{ ref('stg_raw__build_days') }}

)

select
    task_id,
    tenant_id,
    feature,
    started_at,
    ended_at,
    cast(started_at as date) as usage_date,
    requests,
    failed_requests,
    retries,
    succeeded,
    cost_usd,
    retry_cost_usd,
    cache_savings_usd,
    input_tokens,
    output_tokens,
    unpriced_requests

from tasks
where cast(started_at as date) in (select cast(task_days.usage_date as date) from task_days)
