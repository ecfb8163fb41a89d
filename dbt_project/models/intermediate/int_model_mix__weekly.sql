-- One row per week_start (Monday), tenant_id, provider, model over the whole history, with the model's tier.
with daily as (

    select * from {{ ref('int_agg_cost_daily__all_days') }}

),

tiers as (

    select * from {{ ref('int_prices__model_tiers') }}

)

select
    cast({{ dbt.date_trunc('week', 'daily.usage_date') }} as date) as week_start,
    daily.tenant_id,
    daily.provider,
    daily.model,
    coalesce(tiers.is_premium, false) as is_premium,
    cast(sum(daily.requests) as {{ dbt.type_bigint() }}) as requests,
    sum(daily.cost_usd) as cost_usd,
    cast(sum(daily.unpriced_requests) as {{ dbt.type_bigint() }}) as unpriced_requests

from daily
left join tiers
    on daily.provider = tiers.provider
        and daily.model = tiers.model
group by 1, 2, 3, 4, 5
