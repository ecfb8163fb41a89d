-- One row per provider, model with a standard output rate: the latest such rate and whether the model counts
-- as premium (that rate at or above var premium_min_output_usd_per_million). A model with no standard output
-- rate (unpriced, self-hosted) has no row and is not premium.
with output_rates as (

    select
        provider,
        model,
        usd_per_million,
        row_number() over (partition by provider, model order by valid_from desc) as recency
    from {{ ref('int_prices__history') }}
    where usage_type = 'output'
        and service_tier = 'standard'
        and min_input_tokens = 0

)

select
    provider,
    model,
    usd_per_million as output_usd_per_million,
    usd_per_million >= {{ var('premium_min_output_usd_per_million') }} as is_premium

from output_rates
where recency = 1
