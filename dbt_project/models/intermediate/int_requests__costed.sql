{{ config(materialized='parquet_partitions' if target.type == 'duckdb' else 'view') }}

-- One row per distinct call attempt of the build days, with its cost (docs/spec.md#cost-rules): the rows of the
-- mart fct_llm_requests. DuckDB: written once, as the Parquet partitions that publishing moves into the warehouse
-- (macros/parquet_partitions.sql); the mart, the gate and the task and daily models read those files.
{%- set call_columns = 'event_id, occurred_at, usage_date, tenant_id, feature, task_id, provider, model,
    deployment_id, account_id, service_tier, status, attempt, input_tokens, cache_read_tokens, cache_write_tokens,
    cache_write_1h_tokens, output_tokens, reasoning_tokens' %}
with api as (

    select
        {{ call_columns }},
        cost_usd, list_cost_usd, cache_savings_usd, pricing_status
    from {{ ref('int_requests__api_priced') }}

),

self_hosted as (

    select
        {{ call_columns }},
        cost_usd,
        cost_usd as list_cost_usd,
        case when cost_usd is null then null else {{ money(0) }} end as cache_savings_usd,
        case when cost_usd is null then 'unpriced' else 'self_hosted' end as pricing_status
    from {{ ref('int_self_hosted__request_shares') }}

),

unioned as (

    select * from api
    union all
    select * from self_hosted

)

select
    event_id,
    occurred_at,
    usage_date,
    tenant_id,
    feature,
    task_id,
    provider,
    model,
    deployment_id,
    account_id,
    service_tier,
    status,
    attempt,
    input_tokens,
    cache_read_tokens,
    cache_write_tokens,
    cache_write_1h_tokens,
    output_tokens,
    reasoning_tokens,
    cost_usd,
    list_cost_usd,
    cache_savings_usd,
    attempt > 1 as is_retry,
    status <> 'success' as is_failed,
    pricing_status

from unioned
