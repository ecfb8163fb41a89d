-- One row per published day (as_of_date), tenant_id, feature with spend in the as-of day's month to date or in the
-- 7 days ending on it: the month to date and the month's forecast (docs/decisions.md#budgets-and-forecasts):
--   forecast_month_usd = month_to_date_usd + (the spend of the 7 days ending on the as-of day / 7)
--                        x the days of the month after the as-of day
-- over the whole bill (int_spend_daily__all_days: API, self-hosted allocated, idle and unrecovered).
with spend as (

    select usage_date, tenant_id, feature, sum(cost_usd) as cost_usd
    from {{ ref('int_spend_daily__all_days') }}
    group by usage_date, tenant_id, feature

),

days as (

    select
        usage_date as as_of_date,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month,  -- noqa: RF04
        cast({{ dbt.last_day('usage_date', 'month') }} as date) as month_end,
        cast({{ dbt.dateadd('day', -6, 'usage_date') }} as date) as week_start
    from {{ ref('stg_raw__published_days') }}

),

windowed as (

    select
        days.as_of_date,
        days.month,
        days.month_end,
        spend.tenant_id,
        spend.feature,
        sum(case when spend.usage_date >= days.month then spend.cost_usd end) as month_to_date_usd,
        sum(case when spend.usage_date >= days.week_start then spend.cost_usd end) as last_7_days_usd
    from days
    inner join spend
        on days.as_of_date >= spend.usage_date
            and (days.month <= spend.usage_date or days.week_start <= spend.usage_date)
    group by days.as_of_date, days.month, days.month_end, spend.tenant_id, spend.feature

)

select
    as_of_date,
    month,
    tenant_id,
    feature,
    {{ money('coalesce(month_to_date_usd, 0)') }} as month_to_date_usd,
    {{ money("coalesce(month_to_date_usd, 0) + coalesce(last_7_days_usd, 0) / 7.0 * "
        ~ dbt.datediff('as_of_date', 'month_end', 'day')) }} as forecast_month_usd
from windowed
