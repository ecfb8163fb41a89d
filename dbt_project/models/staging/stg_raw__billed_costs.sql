with source as (

    select * from {{ source('raw', 'billed_costs') }}

),

renamed as (

    select
        usage_date,
        lower(provider) as provider,  -- noqa: RF04
        account_id,
        {{ money('billed_usd') }} as billed_usd,
        description,
        source_name,
        source_file as landed_file,
        source_line

    from source

)

select * from renamed
