with source as (

    select * from {{ source('raw', 'published_days') }}

),

renamed as (

    select usage_date from source

)

select * from renamed
