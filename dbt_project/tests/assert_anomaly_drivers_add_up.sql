-- The drivers of an anomaly explain it: for each flagged value and each driver dimension, the drivers'
-- increases add up to the anomaly's increase_usd (to the cent).
{{ config(meta={'dagster': {'ref': {'name': 'rpt_cost_anomaly_drivers'}}}) }}  -- shown as a check on this asset
with drivers as (

    select usage_date, dimension, dimension_value, driver_dimension, sum(increase_usd) as increase_usd
    from {{ ref('rpt_cost_anomaly_drivers') }}
    group by usage_date, dimension, dimension_value, driver_dimension

)

select
    anomalies.usage_date, anomalies.dimension, anomalies.dimension_value, drivers.driver_dimension,
    anomalies.increase_usd as anomaly_increase_usd, drivers.increase_usd
from {{ ref('rpt_cost_anomalies') }} as anomalies
left join drivers
    on anomalies.usage_date = drivers.usage_date
        and anomalies.dimension = drivers.dimension
        and anomalies.dimension_value = drivers.dimension_value
where drivers.increase_usd is null
    or abs(drivers.increase_usd - anomalies.increase_usd) >= 0.005
