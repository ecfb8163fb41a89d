-- The input-size bands of every rate card (day, provider, model, tier) cover every input size: the first starts
-- at 0, each ends where the next begins and the last is open. int_requests__api_priced relies on it: exactly one
-- band matches a priced call. Returns the bands that break it.
with bands as (

    select
        usage_date, provider, model, service_tier, band_min_input_tokens, band_max_input_tokens,
        lead(band_min_input_tokens) over (
            partition by usage_date, provider, model, service_tier order by band_min_input_tokens
        ) as next_band_min,
        row_number() over (
            partition by usage_date, provider, model, service_tier order by band_min_input_tokens
        ) as position
    from {{ ref('int_prices__rate_cards') }}

)

select * from bands
where (position = 1 and band_min_input_tokens <> 0)
    or (next_band_min is null and band_max_input_tokens is not null)
    or (next_band_min is not null and band_max_input_tokens is distinct from next_band_min)
