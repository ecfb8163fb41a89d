-- One row per published usage day (its latest publish): the run that published it, when, its calls and cost, and
-- its status (complete, partial, empty).
with published as (

    select * from {{ ref('stg_raw__published_days') }}

),

daily as (

    select
        usage_date,
        cast(sum(requests) as {{ dbt.type_bigint() }}) as requests,
        sum(cost_usd) as cost_usd
    from {{ ref('int_agg_cost_daily__all_days') }}
    group by usage_date

)

select
    published.usage_date,
    published.run_id,
    published.published_at,
    coalesce(daily.requests, 0) as requests,
    coalesce(daily.cost_usd, {{ money(0) }}) as cost_usd,
    published.status
from published
left join daily on published.usage_date = daily.usage_date
