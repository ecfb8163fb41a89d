-- One row per configured deployment and UTC hour of the build days: what that hour costs.
-- A fixed hourly_cost_usd, or gpu_count x the lowest usd_per_gpu_hour among the latest offer of each
-- (provider, region, gpu_model, gpu_count, pricing_type) observed on or before the day, for the
-- deployment's gpu_model and pricing_type. NULL when no such offer has been observed yet.
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}

),

days as (

    select usage_date from {{ ref('stg_raw__build_days') }}

),

latest_offers as (

    select
        days.usage_date,
        offers.*,
        row_number() over (
            partition by
                days.usage_date, offers.provider, offers.region, offers.gpu_model, offers.gpu_count,
                offers.pricing_type
            order by offers.observed_on desc, offers.source_position desc
        ) as recency
    from {{ ref('stg_raw__gpu_offers') }} as offers
    inner join days on offers.observed_on <= days.usage_date

),

cheapest as (

    select usage_date, lower(gpu_model) as gpu_model, pricing_type, min(usd_per_gpu_hour) as usd_per_gpu_hour
    from latest_offers
    where recency = 1
    group by usage_date, lower(gpu_model), pricing_type

),

daily as (

    select
        deployments.deployment_id,
        days.usage_date,
        coalesce(deployments.hourly_cost_usd, deployments.gpu_count * cheapest.usd_per_gpu_hour) as hourly_cost_usd
    from deployments
    cross join days
    left join cheapest
        on days.usage_date = cheapest.usage_date
            and cheapest.gpu_model = lower(deployments.gpu_model)
            and deployments.pricing_type = cheapest.pricing_type

),

hours as (

    {{ hours_of_day_relation() }}

)

select
    daily.deployment_id,
    daily.usage_date,
    {{ dbt.dateadd('hour', 'hours.hour_of_day', 'cast(daily.usage_date as timestamp)') }} as hour_start,
    {{ money('daily.hourly_cost_usd') }} as hourly_cost_usd
from daily
cross join hours
