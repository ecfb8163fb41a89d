-- One row per week_start (Monday), tenant_id, feature, over the whole history. A week is complete when its 7 days
-- are published and none of them is partial; the prior week's cost is compared only between two complete weeks
-- (NULL otherwise).
with daily as (

    select * from {{ ref('int_agg_cost_daily__all_days') }}

),

published as (

    select * from {{ ref('int_published_days__weekly') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_start,
        tenant_id,
        feature,
        cast(sum(requests) as {{ dbt.type_bigint() }}) as requests,
        sum(cost_usd) as cost_usd,
        cast(sum(tasks) as {{ dbt.type_bigint() }}) as tasks,
        cast(sum(cache_read_tokens) as {{ dbt.type_bigint() }}) as cache_read_tokens,
        cast(sum(input_tokens) as {{ dbt.type_bigint() }}) as input_tokens,
        sum(retry_cost_usd) as retry_cost_usd,
        sum(cache_savings_usd) as cache_savings_usd,
        cast(sum(unpriced_requests) as {{ dbt.type_bigint() }}) as unpriced_requests
    from daily
    group by 1, 2, 3

)

select
    this_week.week_start,
    this_week.tenant_id,
    this_week.feature,
    coalesce(this_days.days_published, 0) as days_published,
    coalesce(this_days.days_published = 7 and this_days.partial_days = 0, false) as is_complete,
    this_week.cost_usd,
    case when this_days.days_published = 7 and this_days.partial_days = 0
            and prior_days.days_published = 7 and prior_days.partial_days = 0
            then prior_week.cost_usd
    end as prior_week_cost_usd,
    this_week.requests,
    this_week.tasks,
    case when this_week.tasks > 0 then this_week.cost_usd / this_week.tasks end as cost_per_task_usd,
    case when this_week.input_tokens > 0
            then cast(this_week.cache_read_tokens as double) / this_week.input_tokens
    end as cache_hit_rate,
    this_week.retry_cost_usd,
    this_week.cache_savings_usd,
    this_week.unpriced_requests

from weekly as this_week
left join weekly as prior_week
    on this_week.tenant_id = prior_week.tenant_id
        and this_week.feature = prior_week.feature
        and prior_week.week_start = cast({{ dbt.dateadd('day', -7, 'this_week.week_start') }} as date)
left join published as this_days
    on this_week.week_start = this_days.week_start
left join published as prior_days
    on prior_days.week_start = cast({{ dbt.dateadd('day', -7, 'this_week.week_start') }} as date)
