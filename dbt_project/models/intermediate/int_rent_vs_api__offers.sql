-- One row per [[self_host_options]] entry and month with a published day: the cheapest usd_per_gpu_hour for the
-- option's gpu_model and pricing_type among the latest offer of each (provider, region, gpu_model, gpu_count,
-- pricing_type) observed on or before the month's last published day, and its provider (the first by name on a
-- tie). No row when no such offer has been observed.
with options_months as (

    select
        self_host_options.option_id,
        self_host_options.gpu_model,
        self_host_options.pricing_type,
        calendar.month_start,
        calendar.as_of_date
    from {{ ref('stg_raw__self_host_options') }} as self_host_options
    cross join {{ ref('int_rent_vs_api__months') }} as calendar

),

latest_offers as (

    select
        options_months.option_id,
        options_months.month_start,
        offers.provider,
        offers.usd_per_gpu_hour,
        row_number() over (
            partition by
                options_months.option_id, options_months.month_start,
                offers.provider, offers.region, offers.gpu_model, offers.gpu_count, offers.pricing_type
            order by offers.observed_on desc, offers.source_position desc
        ) as recency
    from options_months
    inner join {{ ref('stg_raw__gpu_offers') }} as offers
        on lower(options_months.gpu_model) = lower(offers.gpu_model)
            and options_months.pricing_type = offers.pricing_type
            and options_months.as_of_date >= offers.observed_on

),

ranked as (

    select
        option_id,
        month_start,
        provider,
        usd_per_gpu_hour,
        row_number() over (partition by option_id, month_start order by usd_per_gpu_hour, provider) as cheapness
    from latest_offers
    where recency = 1

)

select
    option_id,
    month_start,
    provider as offer_provider,
    {{ money('usd_per_gpu_hour') }} as usd_per_gpu_hour
from ranked
where cheapness = 1
