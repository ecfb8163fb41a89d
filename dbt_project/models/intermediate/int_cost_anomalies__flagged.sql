-- One row per flagged usage_date, dimension ('tenant' | 'feature' | 'model'), dimension_value: a day whose
-- cost exceeds anomaly_ratio x the mean of the 7 days before it and by at least anomaly_min_usd.
-- The baseline needs 7 earlier days of data in the warehouse; a value with no cost on one of them counts 0.
{%- set ratio = build_var('anomaly_ratio') %}
{%- set min_usd = build_var('anomaly_min_usd') %}
with daily as (

    select * from {{ ref('int_agg_cost_daily__all_days') }}

),

by_value as (

    -- the set operator is Jinja's, which sqlfluff's indentation rule cannot place
    -- noqa: disable=LT02
    {%- for dimension, column in anomaly_dimensions() %}
        select usage_date, '{{ dimension }}' as dimension, {{ column }} as dimension_value, sum(cost_usd) as cost_usd
        from daily
        group by usage_date, {{ column }}
                {{ "union all" if not loop.last }}
    {%- endfor %}
    -- noqa: enable=LT02

),

known_days as (

    select distinct usage_date from daily

),

values_seen as (

    select distinct dimension, dimension_value from by_value

),

baseline as (

    select
        known_days.usage_date,
        values_seen.dimension,
        values_seen.dimension_value,
        count(distinct earlier.usage_date) as earlier_days,
        {{ money('coalesce(sum(earlier_cost.cost_usd), 0) / 7.0') }} as baseline_usd
    from known_days
    cross join values_seen
    inner join known_days as earlier
        on earlier.usage_date >= {{ dbt.dateadd('day', -7, 'known_days.usage_date') }}
            and known_days.usage_date > earlier.usage_date
    left join by_value as earlier_cost
        on earlier.usage_date = earlier_cost.usage_date
            and values_seen.dimension = earlier_cost.dimension
            and values_seen.dimension_value = earlier_cost.dimension_value
    group by known_days.usage_date, values_seen.dimension, values_seen.dimension_value

),

scored as (

    select
        observed.usage_date,
        observed.dimension,
        observed.dimension_value,
        observed.cost_usd as observed_usd,
        baseline.baseline_usd,
        observed.cost_usd - baseline.baseline_usd as increase_usd,
        case when baseline.baseline_usd > 0
                then cast(observed.cost_usd as double) / cast(baseline.baseline_usd as double)
        end as ratio
    from by_value as observed
    inner join baseline
        on observed.usage_date = baseline.usage_date
            and observed.dimension = baseline.dimension
            and observed.dimension_value = baseline.dimension_value
    where baseline.earlier_days = 7

)

select usage_date, dimension, dimension_value, observed_usd, baseline_usd, increase_usd, ratio
from scored
where observed_usd > {{ ratio }} * baseline_usd
    and increase_usd >= {{ min_usd }}
