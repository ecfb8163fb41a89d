-- One row per price in force over a period: (provider, model, usage_type, service_tier, min_input_tokens)
-- from valid_from until valid_to (exclusive; NULL while in force).
-- Several sources may price the same key: the later source in the config wins from its first
-- effective date on; earlier sources still cover the days before it.
with rows as (

    select * from {{ ref('stg_raw__price_rows') }}

),

source_starts as (

    select
        provider, model, usage_type, service_tier, min_input_tokens, source_position,
        min(effective_from) as first_effective_from
    from rows
    group by provider, model, usage_type, service_tier, min_input_tokens, source_position

),

kept as (

    select rows.*
    from rows
    where not exists (
            select 1
            from source_starts as later
            where later.provider = rows.provider
                and later.model = rows.model
                and later.usage_type = rows.usage_type
                and later.service_tier = rows.service_tier
                and later.min_input_tokens = rows.min_input_tokens
                and later.source_position > rows.source_position
                and later.first_effective_from <= rows.effective_from
        )

)

select
    provider,
    model,
    usage_type,
    service_tier,
    min_input_tokens,
    usd_per_million,
    effective_from as valid_from,
    lead(effective_from) over (
        partition by provider, model, usage_type, service_tier, min_input_tokens
        order by effective_from
    ) as valid_to,
    source,
    source_name,
    landed_file

from kept
