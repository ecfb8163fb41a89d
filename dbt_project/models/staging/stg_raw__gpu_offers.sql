with source as (

    select * from {{ source('raw', 'gpu_offers') }}

),

renamed as (

    select
        observed_on,
        provider,
        gpu_model,
        gpu_count,
        vram_gb,
        pricing_type,
        region,
        usd_per_hour,
        usd_per_hour / gpu_count as usd_per_gpu_hour,
        source,
        source_name,
        source_position,
        source_file as landed_file

    from source

)

select * from renamed
