-- One row per week_start (Monday), tenant_id: the share of the tenant's spend that went to premium models,
-- against the week before when both weeks are complete (their 7 days published, none partial: as showback_weekly).
-- is_alert (the model-mix alert) when the share rose by at least var premium_share_jump (a fraction: 0.1 = 10
-- percentage points) and the premium spend by at least anomaly_min_usd.
with tenant_weeks as (

    select
        week_start,
        tenant_id,
        sum(cost_usd) as cost_usd,
        coalesce(sum(case when is_premium then cost_usd end), {{ money(0) }}) as premium_cost_usd
    from {{ ref('int_model_mix__weekly') }}
    group by week_start, tenant_id

),

complete_weeks as (

    select week_start from {{ ref('int_published_days__weekly') }}
    where days_published = 7 and partial_days = 0

),

shares as (

    select
        *,
        case when cost_usd > 0 then cast(premium_cost_usd as double) / cast(cost_usd as double) end as premium_share
    from tenant_weeks

),

complete_shares as (

    select shares.* from shares
    inner join complete_weeks on shares.week_start = complete_weeks.week_start

)

select
    this_week.week_start,
    this_week.tenant_id,
    this_week.cost_usd,
    this_week.premium_cost_usd,
    this_week.premium_share,
    prior_week.premium_cost_usd as prior_week_premium_cost_usd,
    prior_week.premium_share as prior_week_premium_share,
    this_week.premium_share - prior_week.premium_share as premium_share_change,
    coalesce(
        this_week.premium_share - prior_week.premium_share >= {{ var('premium_share_jump') }}
        and this_week.premium_cost_usd - prior_week.premium_cost_usd >= {{ build_var('anomaly_min_usd') }},
        false
    ) as is_alert

from shares as this_week
left join complete_weeks as this_complete
    on this_week.week_start = this_complete.week_start
left join complete_shares as prior_week
    on this_week.tenant_id = prior_week.tenant_id
        and this_complete.week_start is not null
        and prior_week.week_start = cast({{ dbt.dateadd('day', -7, 'this_week.week_start') }} as date)
