with source as (

    select * from {{ source('raw', 'usage_events') }}
    where reason is null

),

renamed as (

    select
        event_id,
        occurred_at,
        usage_date,
        tenant_id,
        feature,
        coalesce(task_id, event_id) as task_id,
        provider,
        model,
        deployment_id,
        account_id,
        coalesce(service_tier, 'standard') as service_tier,
        coalesce(status, 'success') as status,
        coalesce(attempt, 1) as attempt,
        input_tokens,
        coalesce(cache_read_tokens, 0) as cache_read_tokens,
        coalesce(cache_write_tokens, 0) as cache_write_tokens,
        coalesce(cache_write_1h_tokens, 0) as cache_write_1h_tokens,
        output_tokens,
        coalesce(reasoning_tokens, 0) as reasoning_tokens,
        source as source_name,
        file as source_file,
        file_seq,
        line_no

    from source

)

select * from renamed
