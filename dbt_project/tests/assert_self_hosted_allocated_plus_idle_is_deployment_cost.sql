-- For every deployment and hour, what is booked (to tenants, or to __idle__) is the hour's cost, to the cent.
{{ config(meta={'dagster': {'ref': {'name': 'self_hosted_allocation'}}}) }}  -- shown as a check on this asset
with booked as (
    select deployment_id, hour_start, sum(cost_usd) as cost_usd
    from {{ ref('self_hosted_allocation') }}
    group by deployment_id, hour_start
)
select hours.deployment_id, hours.hour_start, hours.hourly_cost_usd, booked.cost_usd
from {{ ref('int_self_hosted__hourly_cost') }} as hours
left join booked
    on booked.deployment_id = hours.deployment_id
   and booked.hour_start = hours.hour_start
where abs(coalesce(booked.cost_usd, -1) - coalesce(hours.hourly_cost_usd, -1)) >= 0.005
