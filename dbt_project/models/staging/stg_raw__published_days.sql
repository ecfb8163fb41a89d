with source as (

    select * from {{ source('raw', 'published_days') }}

),

renamed as (

    select usage_date, run_id, published_at, status from source

)

select * from renamed
