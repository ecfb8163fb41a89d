with source as (

    select * from {{ source('raw', 'deployments') }}

),

renamed as (

    select
        deployment_id,
        hourly_cost_usd,
        gpu_model,
        gpu_count,
        pricing_type,
        output_weight,
        compare_provider,
        compare_model,
        allocation,
        rate_usd_per_million_weighted_tokens

    from source

)

select * from renamed
