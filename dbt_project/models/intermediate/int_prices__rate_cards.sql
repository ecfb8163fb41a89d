{{ config(materialized='table') }}

-- One row per provider, model, service tier, usage day and input-size band: the five rates
-- (USD per million tokens) a call in that band pays, after the rules of docs/spec.md#cost-rules:
--   long context: a band starts at a min_input_tokens threshold; for each usage type the row with
--                 the highest threshold at or below the band applies (to the whole call);
--   tiers:        a tier's own rows where they exist, else batch = 50% of standard, other tiers = standard;
--   fallbacks:    cache_read and cache_write fall back to input, cache_write_1h to cache_write.
-- A call is in band (band_min_input_tokens, band_max_input_tokens]: above the threshold (or the 0 band).
with days as (

    select usage_date from {{ ref('stg_raw__build_days') }}

),

in_force as (

    select days.usage_date, prices.*
    from {{ ref('int_prices__history') }} as prices
    inner join days
        on prices.valid_from <= days.usage_date
            and (prices.valid_to is null or prices.valid_to > days.usage_date)

),

thresholds as (

    select distinct usage_date, provider, model, min_input_tokens as threshold from in_force
    union
    select distinct usage_date, provider, model, 0 as threshold from in_force

),

bands as (

    select
        usage_date, provider, model,
        threshold as band_min_input_tokens,
        lead(threshold) over (partition by usage_date, provider, model order by threshold) as band_max_input_tokens
    from thresholds

),

tiers as (

    {% for tier in var('service_tiers') -%}
        select '{{ tier }}' as service_tier
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

-- for each band, tier and usage type: the row with the highest threshold at or below the band
band_rates as (

    select
        bands.usage_date, bands.provider, bands.model, bands.band_min_input_tokens,
        in_force.service_tier, in_force.usage_type, in_force.usd_per_million,
        row_number() over (
            partition by
                bands.usage_date, bands.provider, bands.model, bands.band_min_input_tokens,
                in_force.service_tier, in_force.usage_type
            order by in_force.min_input_tokens desc
        ) as rank_in_band
    from bands
    inner join in_force
        on bands.usage_date = in_force.usage_date
            and bands.provider = in_force.provider
            and bands.model = in_force.model
            and bands.band_min_input_tokens >= in_force.min_input_tokens

),

pivoted as (

    select
        bands.usage_date, bands.provider, bands.model, tiers.service_tier,
        bands.band_min_input_tokens, bands.band_max_input_tokens,
        -- the comma is Jinja's, which sqlfluff's indentation rule cannot place
        -- noqa: disable=LT02
        {%- for usage_type in ['input', 'output', 'cache_read', 'cache_write', 'cache_write_1h'] %}
        max(case when r.service_tier = tiers.service_tier and r.usage_type = '{{ usage_type }}'
                then r.usd_per_million
            end) as tier_{{ usage_type }},
        max(case when r.service_tier = 'standard' and r.usage_type = '{{ usage_type }}'
                then r.usd_per_million
            end) as standard_{{ usage_type }}{{ "," if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from bands
    cross join tiers
    left join band_rates as r
        on bands.usage_date = r.usage_date
            and bands.provider = r.provider
            and bands.model = r.model
            and bands.band_min_input_tokens = r.band_min_input_tokens
            and r.rank_in_band = 1
    group by
        bands.usage_date, bands.provider, bands.model, tiers.service_tier,
        bands.band_min_input_tokens, bands.band_max_input_tokens

),

tiered as (

    select
        *,
        -- the comma is Jinja's, which sqlfluff's indentation rule cannot place
        -- noqa: disable=LT02
        {%- for usage_type in ['input', 'output', 'cache_read', 'cache_write', 'cache_write_1h'] %}
        coalesce(
            tier_{{ usage_type }},
            case when service_tier = 'batch' then 0.5 else 1.0 end * standard_{{ usage_type }}
        ) as rate_{{ usage_type }}{{ "," if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from pivoted

)

select
    usage_date,
    provider,
    model,
    service_tier,
    band_min_input_tokens,
    band_max_input_tokens,
    rate_input as input_usd_per_million,
    rate_output as output_usd_per_million,
    coalesce(rate_cache_read, rate_input) as cache_read_usd_per_million,
    coalesce(rate_cache_write, rate_input) as cache_write_usd_per_million,
    coalesce(rate_cache_write_1h, rate_cache_write, rate_input) as cache_write_1h_usd_per_million,
    standard_input as list_input_usd_per_million,
    standard_output as list_output_usd_per_million

from tiered
