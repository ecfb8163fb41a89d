-- One row per [[self_host_options]] entry and month with a published day: the usage the option would replace
-- (its `replaces` provider/models), month to date: tokens, API cost, unpriced calls and the busiest hour's output.
with replaces as (

    select * from {{ ref('stg_raw__self_host_replaces') }}

),

hourly as (

    select
        replaces.option_id,
        cast({{ dbt.date_trunc('month', 'usage.usage_date') }} as date) as month_start,
        usage.hour_start,
        sum(usage.input_tokens) as input_tokens,
        sum(usage.output_tokens) as output_tokens,
        sum(usage.cost_usd) as cost_usd,
        sum(usage.unpriced_requests) as unpriced_requests
    from {{ ref('int_usage_hourly__all_days') }} as usage
    inner join replaces on usage.provider = replaces.provider and usage.model = replaces.model
    group by
        replaces.option_id,
        cast({{ dbt.date_trunc('month', 'usage.usage_date') }} as date),
        usage.hour_start

),

monthly as (

    select
        option_id,
        month_start,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(cost_usd) as api_cost_usd,
        sum(unpriced_requests) as unpriced_requests,
        max(output_tokens) as peak_hour_output_tokens
    from hourly
    group by option_id, month_start

),

options_months as (

    select self_host_options.option_id, calendar.month_start
    from {{ ref('stg_raw__self_host_options') }} as self_host_options
    cross join {{ ref('int_rent_vs_api__months') }} as calendar

)

-- a month without replaced usage has 0 tokens and $0 of API cost (nothing to replace), not NULL
select
    options_months.option_id,
    options_months.month_start,
    cast(coalesce(monthly.input_tokens, 0) as {{ dbt.type_bigint() }}) as input_tokens,
    cast(coalesce(monthly.output_tokens, 0) as {{ dbt.type_bigint() }}) as output_tokens,
    case
        when coalesce(monthly.unpriced_requests, 0) = 0 then {{ money('coalesce(monthly.api_cost_usd, 0)') }}
    end as api_cost_usd,
    cast(coalesce(monthly.unpriced_requests, 0) as {{ dbt.type_bigint() }}) as unpriced_requests,
    cast(coalesce(monthly.peak_hour_output_tokens, 0) as {{ dbt.type_bigint() }}) as peak_hour_output_tokens
from options_months
left join monthly
    on options_months.option_id = monthly.option_id
        and options_months.month_start = monthly.month_start
