-- The whole bill adds up: for each build day, spend_daily's total = the calls' cost (agg_cost_daily) + the
-- deployments' idle hours and what rate_card calls did not pay of the busy hours (self_hosted_allocation), to the
-- cent.
{{ config(meta={'dagster': {'ref': {'name': 'agg_spend_daily'}}}) }}  -- shown as a check on this asset
with bill as (

    select usage_date, coalesce(sum(cost_usd), 0) as cost_usd from {{ ref('agg_spend_daily') }}
    group by usage_date

),

calls as (

    select usage_date, coalesce(sum(cost_usd), 0) as cost_usd from {{ ref('agg_cost_daily') }}
    group by usage_date

),

not_charged as (

    select usage_date, coalesce(sum(cost_usd), 0) as cost_usd
    from {{ ref('fct_self_hosted_allocation') }}
    where tenant_id in ('__idle__', '__unrecovered__')
    group by usage_date

)

select bill.usage_date, bill.cost_usd, calls.cost_usd as calls_cost_usd, not_charged.cost_usd as not_charged_cost_usd
from bill
left join calls on bill.usage_date = calls.usage_date
left join not_charged on bill.usage_date = not_charged.usage_date
where abs(bill.cost_usd - coalesce(calls.cost_usd, 0) - coalesce(not_charged.cost_usd, 0)) >= 0.005
