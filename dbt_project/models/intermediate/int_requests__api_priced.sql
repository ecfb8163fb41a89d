-- One row per deduplicated call that is not served by a configured self-hosted deployment,
-- with its per-token cost (docs/spec.md#cost-rules). No rate in force for input or output = unpriced (NULL cost).
-- A view in DuckDB (a table on Spark): the price join is cheap next to writing the calls (docs/performance.md).
with events as (

    select * from {{ ref('int_usage_events__deduplicated') }}
    where deployment_id is null
        or deployment_id not in (select deployments.deployment_id from {{ ref('stg_raw__deployments') }} as deployments)

),

cards as (

    select * from {{ ref('int_prices__rate_cards') }}

),

rated as (

    select
        events.*,
        events.input_tokens - events.cache_read_tokens - events.cache_write_tokens
        - events.cache_write_1h_tokens as uncached_input_tokens,
        cards.input_usd_per_million,
        cards.output_usd_per_million,
        cards.cache_read_usd_per_million,
        cards.cache_write_usd_per_million,
        cards.cache_write_1h_usd_per_million,
        cards.list_input_usd_per_million,
        cards.list_output_usd_per_million
    from events
    left join cards
        on events.usage_date = cards.usage_date
            and events.provider = cards.provider
            and events.model = cards.model
            and events.service_tier = cards.service_tier
    -- the bands of a card cover every input size (int_prices__rate_cards), so exactly one matches a priced call:
    -- keeping it after the equality join is the same as joining on the band, and faster on a big day
    where cards.model is null
        or (
            (cards.band_min_input_tokens = 0 or events.input_tokens > cards.band_min_input_tokens)
            and (cards.band_max_input_tokens is null or events.input_tokens <= cards.band_max_input_tokens)
        )

),

costed as (

    select
        *,
        {{ money("case when input_usd_per_million is not null and output_usd_per_million is not null then
            ( uncached_input_tokens  * input_usd_per_million
            + cache_read_tokens      * cache_read_usd_per_million
            + cache_write_tokens     * cache_write_usd_per_million
            + cache_write_1h_tokens  * cache_write_1h_usd_per_million
            + output_tokens          * output_usd_per_million ) / 1e6
        end") }} as cost_usd,
        {{ money("case when input_usd_per_million is not null and output_usd_per_million is not null then
            ( input_tokens * input_usd_per_million + output_tokens * output_usd_per_million ) / 1e6
        end") }} as cost_without_cache_usd,
        {{ money("case when list_input_usd_per_million is not null and list_output_usd_per_million is not null then
            ( input_tokens * list_input_usd_per_million + output_tokens * list_output_usd_per_million ) / 1e6
        end") }} as list_cost_usd
    from rated

)

select
    *,
    cost_without_cache_usd - cost_usd as cache_savings_usd,
    case when cost_usd is null then 'unpriced' else 'priced' end as pricing_status

from costed
