{{ config(materialized='table') }}

-- One row per deduplicated call served by a configured self-hosted deployment, with its share of the
-- hour's cost: in proportion to input_tokens + output_weight * output_tokens among that hour's calls
-- (equal shares when every call of the hour has zero weighted tokens).
-- A table: its per-call tests and fct_llm_requests read it, rather than each recomputing the shares.
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}

),

calls as (

    select
        events.*,
        {{ dbt.date_trunc('hour', 'events.occurred_at') }} as hour_start,
        events.input_tokens + deployments.output_weight * events.output_tokens as weighted_tokens
    from {{ ref('int_usage_events__deduplicated') }} as events
    inner join deployments on events.deployment_id = deployments.deployment_id

),

hour_totals as (

    select deployment_id, hour_start, sum(weighted_tokens) as hour_weighted_tokens, count(*) as hour_calls
    from calls
    group by deployment_id, hour_start

)

select
    calls.*,
    {{ money("hourly.hourly_cost_usd * case
        when hour_totals.hour_weighted_tokens > 0 then calls.weighted_tokens / hour_totals.hour_weighted_tokens
        else 1.0 / hour_totals.hour_calls
    end") }} as cost_usd
from calls
inner join hour_totals
    on calls.deployment_id = hour_totals.deployment_id
        and calls.hour_start = hour_totals.hour_start
left join {{ ref('int_self_hosted__hourly_cost') }} as hourly
    on calls.deployment_id = hourly.deployment_id
        and calls.hour_start = hourly.hour_start
