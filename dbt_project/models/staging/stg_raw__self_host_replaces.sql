with source as (

    select * from {{ source('raw', 'self_host_replaces') }}

),

renamed as (

    select
        option_id,
        provider,
        model

    from source

)

select * from renamed
