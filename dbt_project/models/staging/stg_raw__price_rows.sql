with source as (

    select * from {{ source('raw', 'price_rows') }}

),

renamed as (

    select
        provider,
        model,
        usage_type,
        service_tier,
        min_input_tokens,
        usd_per_million,
        effective_from,
        source,
        source_name,
        source_position,
        source_file as landed_file,
        source_line

    from source

)

select * from renamed
