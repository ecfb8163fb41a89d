-- One row per deployment_id, hour_start, tenant_id, feature of the build days: the hour's cost split over
-- its calls; an hour with no calls is booked whole to tenant and feature '__idle__'. The rows of the mart
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
    from {{ ref('int_self_hosted__hourly_cost') }} as hours
    where not exists (
            select 1 from calls
            where calls.deployment_id = hours.deployment_id
                and calls.hour_start = hours.hour_start
        )

)

select deployment_id, usage_date, hour_start, tenant_id, feature, cost_usd, weighted_tokens, requests from calls
union all
select deployment_id, usage_date, hour_start, tenant_id, feature, cost_usd, weighted_tokens, requests from idle
