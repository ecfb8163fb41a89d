with source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        source,
        file,
        line_no as line,
        reason,
        raw,
        ingested_at

    from source

)

select * from renamed
