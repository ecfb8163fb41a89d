with source as (

    select * from {{ source('raw', 'self_host_options') }}

),

renamed as (

    select
        option_id,
        model,
        gpu_model,
        gpu_count,
        output_tokens_per_second,
        pricing_type,
        ops_usd_per_month,
        max_utilisation

    from source

)

select * from renamed
