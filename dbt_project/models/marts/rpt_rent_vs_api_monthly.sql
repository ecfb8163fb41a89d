-- One row per month with a published day and [[self_host_options]] entry: the API cost of the usage the option
-- would replace against renting enough nodes for its busiest hour (docs/decisions.md#rent-vs-api). A month with
-- unpublished days is projected: its tokens and API cost x days_in_month / days_published.
with options as (

    select * from {{ ref('stg_raw__self_host_options') }}

),

months as (

    select * from {{ ref('int_rent_vs_api__months') }}

),

replaced as (

    select * from {{ ref('int_rent_vs_api__replaced_monthly') }}

),

offers as (

    select * from {{ ref('int_rent_vs_api__offers') }}

),

projected as (

    select
        replaced.option_id,
        replaced.month_start,
        months.days_in_month,
        months.days_published,
        months.days_published < months.days_in_month as is_projected,
        case
            when months.days_published < months.days_in_month
                then round(replaced.input_tokens * months.days_in_month / months.days_published)
            else replaced.input_tokens
        end as input_tokens,
        case
            when months.days_published < months.days_in_month
                then round(replaced.output_tokens * months.days_in_month / months.days_published)
            else replaced.output_tokens
        end as output_tokens,
        case
            when months.days_published < months.days_in_month
                -- (a decimal division is a double: rounded to a millionth of a dollar so that it is the same figure
                -- on every engine, far below a cent)
                then {{ money(
                    'cast(replaced.api_cost_usd * months.days_in_month / months.days_published as decimal(38, 6))'
                ) }}
            else replaced.api_cost_usd
        end as api_cost_usd,
        replaced.unpriced_requests,
        replaced.peak_hour_output_tokens
    from replaced
    inner join months on replaced.month_start = months.month_start

),

sized as (

    select
        projected.*,
        options.model,
        options.gpu_model,
        options.gpu_count,
        options.pricing_type,
        options.output_tokens_per_second,
        options.max_utilisation,
        {{ money('options.ops_usd_per_month') }} as ops_usd_per_month,
        cast(
            greatest(
                1,
                ceil(
                    projected.peak_hour_output_tokens
                    / (options.output_tokens_per_second * 3600 * options.max_utilisation)
                )
            ) as integer
        ) as nodes_needed,
        offers.offer_provider,
        offers.usd_per_gpu_hour,
        -- one node for the whole month, at the offer's rate (NULL without an offer)
        offers.usd_per_gpu_hour * options.gpu_count * projected.days_in_month * 24 as node_month_usd
    from projected
    inner join options on projected.option_id = options.option_id
    left join offers on projected.option_id = offers.option_id and projected.month_start = offers.month_start

),

costed as (

    select
        sized.*,
        sized.node_month_usd * sized.nodes_needed + sized.ops_usd_per_month as self_host_cost_usd
    from sized

)

select
    month_start,
    option_id,
    model,
    gpu_model,
    gpu_count,
    pricing_type,
    output_tokens_per_second,
    max_utilisation,
    is_projected,
    days_published,
    days_in_month,
    cast(input_tokens as {{ dbt.type_bigint() }}) as input_tokens,
    cast(output_tokens as {{ dbt.type_bigint() }}) as output_tokens,
    {{ money('api_cost_usd') }} as api_cost_usd,
    unpriced_requests,
    peak_hour_output_tokens,
    nodes_needed,
    offer_provider,
    {{ money('usd_per_gpu_hour') }} as usd_per_gpu_hour,
    {{ money('ops_usd_per_month') }} as ops_usd_per_month,
    {{ money('self_host_cost_usd') }} as self_host_cost_usd,
    cast(output_tokens as double)
    / (nodes_needed * output_tokens_per_second * days_in_month * 86400) as utilisation,
    case
        when output_tokens > 0 then {{ money('self_host_cost_usd * 1000000 / output_tokens') }}
    end as self_host_usd_per_million_output,
    case
        when output_tokens > 0 then {{ money('api_cost_usd * 1000000 / output_tokens') }}
    end as api_usd_per_million_output,
    {{ money('api_cost_usd - self_host_cost_usd') }} as savings_usd,
    case
        when api_cost_usd > 0
            then cast(
                    round(
                        (node_month_usd + ops_usd_per_month) * output_tokens / api_cost_usd
                    ) as {{ dbt.type_bigint() }}
                )
    end as break_even_output_tokens_per_month
from costed
