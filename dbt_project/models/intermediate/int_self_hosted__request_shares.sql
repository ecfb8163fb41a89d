{{ config(materialized='table') }}

-- One row per deduplicated call served by a configured self-hosted deployment, with its charge:
-- hourly_share: its share of the hour's cost, in proportion to its weighted tokens among that hour's calls
-- (equal shares when every call of the hour has zero weighted tokens);
-- rate_card: its weighted tokens x the month's rate per 1M (int_self_hosted__monthly_rates), whatever the others
-- used; what the hour's calls did not pay is booked to '__unrecovered__' (int_self_hosted__allocation). A month
-- with no rate (an "auto" rate with no previous month of calls) is charged by hourly share.
-- A table: its per-call tests and fct_llm_requests read it, rather than each recomputing the shares.
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}

),

calls as (

    select * from {{ ref('int_self_hosted__calls') }}

),

hour_totals as (

    select deployment_id, hour_start, sum(weighted_tokens) as hour_weighted_tokens, count(*) as hour_calls
    from calls
    group by deployment_id, hour_start

)

select
    calls.*,
    case
        when rates.rate_usd_per_million_weighted_tokens is not null
            then {{ money("calls.weighted_tokens * rates.rate_usd_per_million_weighted_tokens / 1000000") }}
        else {{ money("hourly.hourly_cost_usd * case
            when hour_totals.hour_weighted_tokens > 0 then calls.weighted_tokens / hour_totals.hour_weighted_tokens
            else 1.0 / hour_totals.hour_calls
        end") }}
    end as cost_usd
from calls
inner join deployments on calls.deployment_id = deployments.deployment_id
inner join hour_totals
    on calls.deployment_id = hour_totals.deployment_id
        and calls.hour_start = hour_totals.hour_start
left join {{ ref('int_self_hosted__hourly_cost') }} as hourly
    on calls.deployment_id = hourly.deployment_id
        and calls.hour_start = hourly.hour_start
left join {{ ref('int_self_hosted__monthly_rates') }} as rates
    on calls.deployment_id = rates.deployment_id
        and cast({{ dbt.date_trunc('month', 'calls.usage_date') }} as date) = rates.month
