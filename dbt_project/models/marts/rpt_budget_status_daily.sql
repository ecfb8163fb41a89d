-- One row per published day (as_of_date) and [[budgets]] entry: the spend of the budget's scope in the as-of day's
-- month to date and its forecast (int_spend_forecast__daily), against the budget. A budget's scope: the rows of its
-- tenant_id and feature (when given) that its owner's features or tenants cover (when given); all of the bill when
-- it names none. status: over (spent >= the budget), at_risk (the forecast reaches its lowest alert level), ok.
with budgets as (

    select * from {{ ref('stg_raw__budgets') }}

),

forecast as (

    select * from {{ ref('int_spend_forecast__daily') }}

),

in_scope as (

    select distinct budgets.budget, forecast.*
    from budgets
    inner join forecast
        on (budgets.tenant_id is null or budgets.tenant_id = forecast.tenant_id)
            and (budgets.feature is null or budgets.feature = forecast.feature)
    left join {{ ref('stg_raw__owner_scopes') }} as owners
        on budgets.owner = owners.owner
            and (forecast.feature = owners.feature or forecast.tenant_id = owners.tenant_id)
    where budgets.owner is null or owners.owner is not null

),

days as (

    select
        usage_date as as_of_date,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month  -- noqa: RF04
    from {{ ref('stg_raw__published_days') }}

),

summed as (

    select
        days.as_of_date,
        budgets.budget,
        days.month,
        {{ money('budgets.monthly_usd') }} as budget_usd,
        budgets.first_alert_at,
        {{ money('coalesce(sum(in_scope.month_to_date_usd), 0)') }} as spent_usd,
        {{ money('coalesce(sum(in_scope.forecast_month_usd), 0)') }} as forecast_month_usd
    from days
    cross join budgets
    left join in_scope
        on days.as_of_date = in_scope.as_of_date
            and budgets.budget = in_scope.budget
    group by days.as_of_date, budgets.budget, days.month, budgets.monthly_usd, budgets.first_alert_at

)

select
    as_of_date,
    budget,
    month,
    budget_usd,
    spent_usd,
    forecast_month_usd,
    cast(spent_usd / budget_usd as double) as spent_share,
    cast(forecast_month_usd / budget_usd as double) as forecast_share,
    case
        when spent_usd >= budget_usd then 'over'
        when forecast_month_usd >= budget_usd * first_alert_at then 'at_risk'
        else 'ok'
    end as status
from summed
