-- Each deployment's day balances, whatever its allocation: what its calls are charged + unrecovered + idle = the
-- deployment's cost (every hour of int_self_hosted__hourly_cost), to the cent.
{{ config(meta={'dagster': {'ref': {'name': 'fct_self_hosted_allocation'}}}) }}  -- shown as a check on this asset
with booked as (

    select deployment_id, usage_date, coalesce(sum(cost_usd), 0) as cost_usd
    from {{ ref('fct_self_hosted_allocation') }}
    group by deployment_id, usage_date

),

cost as (

    select deployment_id, usage_date, coalesce(sum(hourly_cost_usd), 0) as cost_usd
    from {{ ref('int_self_hosted__hourly_cost') }}
    group by deployment_id, usage_date

)

select cost.deployment_id, cost.usage_date, cost.cost_usd, booked.cost_usd as booked_usd
from cost
left join booked on cost.deployment_id = booked.deployment_id and cost.usage_date = booked.usage_date
where abs(cost.cost_usd - coalesce(booked.cost_usd, 0)) >= 0.005
