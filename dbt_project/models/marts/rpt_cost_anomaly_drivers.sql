-- One row per flagged usage_date, dimension, dimension_value (as in cost_anomalies), driver_dimension and
-- driver_value: how much one value of another dimension moved inside the flagged slice. For a flagged feature
-- the drivers are its tenants and its models; for a tenant, its features and models; for a model, its tenants
-- and features. Each driver is compared with its own trailing 7-day mean inside the slice, so the increases
-- of one driver_dimension add up to the anomaly's increase_usd.
{%- set dimensions = anomaly_dimensions() %}
with flagged as (

    select usage_date, dimension, dimension_value, increase_usd as anomaly_increase_usd
    from {{ ref('int_cost_anomalies__flagged') }}

),

daily as (

    select
        usage_date,
        {%- for dimension, expression in dimensions %}
            {{ expression }} as {{ dimension }},
        {%- endfor %}
        cost_usd
    from {{ ref('int_agg_cost_daily__all_days') }}

),

-- the rows of each flagged slice on the flagged day and the 7 days before it
slices as (

    select
        flagged.usage_date as flagged_date,
        flagged.dimension,
        flagged.dimension_value,
        flagged.anomaly_increase_usd,
        daily.*
    from flagged
    inner join daily
        on daily.usage_date >= {{ dbt.dateadd('day', -7, 'flagged.usage_date') }}
            and daily.usage_date < {{ dbt.dateadd('day', 1, 'flagged.usage_date') }}
            and flagged.dimension_value = case flagged.dimension
                {%- for dimension, _ in dimensions %}
                    when '{{ dimension }}' then daily.{{ dimension }}
                {%- endfor %}
            end

),

by_driver as (

    -- the set operator is Jinja's, which sqlfluff's indentation rule cannot place
    -- noqa: disable=LT02
    {%- for driver, _ in dimensions %}
        select
            flagged_date,
            dimension,
            dimension_value,
            anomaly_increase_usd,
            '{{ driver }}' as driver_dimension,
            {{ driver }} as driver_value,
            coalesce(sum(case when usage_date = flagged_date then cost_usd end), 0) as observed_usd,
            {{ money('coalesce(sum(case when usage_date < flagged_date then cost_usd end), 0) / 7.0') }} as baseline_usd
        from slices
        where dimension <> '{{ driver }}'
        group by flagged_date, dimension, dimension_value, anomaly_increase_usd, {{ driver }}
                {{ "union all" if not loop.last }}
    {%- endfor %}
    -- noqa: enable=LT02

),

increases as (

    select *, observed_usd - baseline_usd as increase_usd
    from by_driver

)

select
    flagged_date as usage_date,
    dimension,
    dimension_value,
    driver_dimension,
    driver_value,
    observed_usd,
    baseline_usd,
    increase_usd,
    cast(increase_usd as double) / nullif(cast(anomaly_increase_usd as double), 0) as share_of_increase,
    row_number() over (
        partition by flagged_date, dimension, dimension_value, driver_dimension
        order by increase_usd desc, driver_value asc
    ) as driver_rank

from increases
