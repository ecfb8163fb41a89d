-- One row per deployment_id, hour_start, tenant_id, feature of the build days: what the hour's calls are charged
-- (int_self_hosted__request_shares); an hour with no calls is booked whole to tenant and feature '__idle__'; for a
-- rate_card deployment, the part of a busy hour's cost its calls did not pay is booked to tenant and feature
-- '__unrecovered__' (negative when they paid more). Each hour adds up to its cost. The rows of the mart
-- self_hosted_allocation, and the self-hosted part of spend_daily.
with calls as (

    select
        deployment_id,
        usage_date,
        hour_start,
        tenant_id,
        feature,
        sum(cost_usd) as cost_usd,
        sum(weighted_tokens) as weighted_tokens,
        count(*) as requests
    from {{ ref('int_self_hosted__request_shares') }}
    group by deployment_id, usage_date, hour_start, tenant_id, feature

),

paid as (

    select deployment_id, hour_start, coalesce(sum(cost_usd), 0) as cost_usd
    from calls
    group by deployment_id, hour_start

),

hours as (

    select * from {{ ref('int_self_hosted__hourly_cost') }}

),

idle as (

    select
        hours.deployment_id,
        hours.usage_date,
        hours.hour_start,
        '__idle__' as tenant_id,
        '__idle__' as feature,
        hours.hourly_cost_usd as cost_usd,
        0.0 as weighted_tokens,
        0 as requests
    from hours
    where not exists (
            select 1 from paid
            where paid.deployment_id = hours.deployment_id
                and paid.hour_start = hours.hour_start
        )

),

unrecovered as (

    select
        hours.deployment_id,
        hours.usage_date,
        hours.hour_start,
        '__unrecovered__' as tenant_id,
        '__unrecovered__' as feature,
        hours.hourly_cost_usd - paid.cost_usd as cost_usd,
        0.0 as weighted_tokens,
        0 as requests
    from hours
    inner join paid
        on hours.deployment_id = paid.deployment_id
            and hours.hour_start = paid.hour_start
    inner join {{ ref('stg_raw__deployments') }} as deployments
        on hours.deployment_id = deployments.deployment_id
    where deployments.allocation = 'rate_card'

)

select deployment_id, usage_date, hour_start, tenant_id, feature, cost_usd, weighted_tokens, requests from calls
union all
select deployment_id, usage_date, hour_start, tenant_id, feature, cost_usd, weighted_tokens, requests from idle
union all
select
    deployment_id, usage_date, hour_start, tenant_id, feature, {{ money('cost_usd') }} as cost_usd, weighted_tokens,
    requests
from unrecovered
