with source as (

    select * from {{ source('raw', 'build_days') }}

),

renamed as (

    select usage_date from source

)

select * from renamed
