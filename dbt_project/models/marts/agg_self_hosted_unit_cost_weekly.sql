-- One row per week (Monday) with a published day and configured deployment with a cost that week: what the
-- deployment cost (allocated + unrecovered + idle hours), its tokens and busy hours, its cost per 1M output tokens,
-- and the same tokens priced at the API it is compared with ([[deployments]] compare_with, standard rates): what it
-- saves.
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}

),

days as (

    select
        usage_date,
        cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_start
    from {{ ref('stg_raw__published_days') }}

),

weeks as (

    select week_start, count(*) as days_published
    from days
    group by week_start

),

costs as (

    select
        days.week_start,
        spend.deployment_id,
        -- the busy hours' cost: charged to calls, and with a rate_card what the calls did not pay of it
        sum(case when spend.category in ('self_hosted_allocated', 'self_hosted_unrecovered') then spend.cost_usd end)
            as allocated_usd,
        sum(case when spend.category = 'self_hosted_idle' then spend.cost_usd end) as idle_usd,
        -- NULL when an hour of the week has no known cost (a GPU without an offer): never $0
        case when count(*) = count(spend.cost_usd) then sum(spend.cost_usd) end as cost_usd
    from {{ ref('int_spend_daily__all_days') }} as spend
    inner join days on spend.usage_date = days.usage_date
    where spend.category in ('self_hosted_allocated', 'self_hosted_unrecovered', 'self_hosted_idle')
    group by days.week_start, spend.deployment_id

),

daily_usage as (

    select
        hourly.deployment_id,
        hourly.usage_date,
        sum(hourly.requests) as requests,
        sum(hourly.input_tokens) as input_tokens,
        sum(hourly.output_tokens) as output_tokens,
        count(distinct hourly.hour_start) as busy_hours
    from {{ ref('int_usage_hourly__all_days') }} as hourly
    inner join deployments on hourly.deployment_id = deployments.deployment_id
    group by hourly.deployment_id, hourly.usage_date

),

-- the compared API's standard input and output rates in force on each day (no long-context band)
rates as (

    select
        daily_usage.deployment_id,
        daily_usage.usage_date,
        max(case when prices.usage_type = 'input' then prices.usd_per_million end) as input_usd_per_million,
        max(case when prices.usage_type = 'output' then prices.usd_per_million end) as output_usd_per_million
    from daily_usage
    inner join deployments on daily_usage.deployment_id = deployments.deployment_id
    inner join {{ ref('int_prices__history') }} as prices
        on deployments.compare_provider = prices.provider
            and deployments.compare_model = prices.model
            and prices.service_tier = 'standard'
            and prices.min_input_tokens = 0
            and daily_usage.usage_date >= prices.valid_from
            and (prices.valid_to is null or daily_usage.usage_date < prices.valid_to)
    group by daily_usage.deployment_id, daily_usage.usage_date

),

weekly_usage as (

    select
        daily_usage.deployment_id,
        days.week_start,
        sum(daily_usage.requests) as requests,
        sum(daily_usage.input_tokens) as input_tokens,
        sum(daily_usage.output_tokens) as output_tokens,
        sum(daily_usage.busy_hours) as busy_hours,
        -- NULL when a day's tokens have no rate of the compared API: never $0
        case
            when count(*) = count(rates.input_usd_per_million * rates.output_usd_per_million)
                then sum(
                        (
                            daily_usage.input_tokens * rates.input_usd_per_million
                            + daily_usage.output_tokens * rates.output_usd_per_million
                        ) / 1e6
                    )
        end as compare_api_cost_usd
    from daily_usage
    inner join days on daily_usage.usage_date = days.usage_date
    left join rates
        on daily_usage.deployment_id = rates.deployment_id
            and daily_usage.usage_date = rates.usage_date
    group by daily_usage.deployment_id, days.week_start

),

joined as (

    select
        costs.week_start,
        costs.deployment_id,
        weeks.days_published,
        coalesce(weekly_usage.busy_hours, 0) as busy_hours,
        coalesce(weekly_usage.requests, 0) as requests,
        coalesce(weekly_usage.input_tokens, 0) as input_tokens,
        coalesce(weekly_usage.output_tokens, 0) as output_tokens,
        coalesce(costs.allocated_usd, 0) as allocated_usd,
        coalesce(costs.idle_usd, 0) as idle_usd,
        costs.cost_usd,
        deployments.compare_provider,
        deployments.compare_model,
        case
            when deployments.compare_provider is null then null
            when weekly_usage.deployment_id is null then 0  -- no call that week: nothing to pay the API
            else weekly_usage.compare_api_cost_usd
        end as compare_api_cost_usd
    from costs
    inner join weeks on costs.week_start = weeks.week_start
    inner join deployments on costs.deployment_id = deployments.deployment_id
    left join weekly_usage
        on costs.deployment_id = weekly_usage.deployment_id
            and costs.week_start = weekly_usage.week_start

)

select
    week_start,
    deployment_id,
    cast(days_published as integer) as days_published,
    cast(days_published * 24 as integer) as hours,
    cast(busy_hours as integer) as busy_hours,
    cast(requests as {{ dbt.type_bigint() }}) as requests,
    cast(input_tokens as {{ dbt.type_bigint() }}) as input_tokens,
    cast(output_tokens as {{ dbt.type_bigint() }}) as output_tokens,
    {{ money('allocated_usd') }} as allocated_usd,
    {{ money('idle_usd') }} as idle_usd,
    {{ money('cost_usd') }} as cost_usd,
    case when output_tokens > 0 then {{ money('cost_usd * 1000000 / output_tokens') }} end as usd_per_million_output,
    case
        when compare_provider is not null then {{ dbt.concat(['compare_provider', "'/'", 'compare_model']) }}
    end as compare_with,
    {{ money('compare_api_cost_usd') }} as compare_api_cost_usd,
    {{ money('compare_api_cost_usd - cost_usd') }} as savings_usd
from joined
