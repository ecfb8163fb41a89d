{{ config(materialized='table') }}

-- One row per usage_date, hour_start, provider, model, deployment_id of the build days: the calls' tokens and
-- cost per UTC hour (the rows of the mart agg_usage_hourly, published as usage_hourly). A table: the mart and
-- int_usage_hourly__all_days read it.
select
    usage_date,
    {{ dbt.date_trunc('hour', 'occurred_at') }} as hour_start,
    provider,
    model,
    deployment_id,
    count(*) as requests,
    cast(sum(input_tokens) as {{ dbt.type_bigint() }}) as input_tokens,
    cast(sum(output_tokens) as {{ dbt.type_bigint() }}) as output_tokens,
    sum(cost_usd) as cost_usd,
    cast(sum(case when pricing_status = 'unpriced' then 1 else 0 end) as {{ dbt.type_bigint() }}) as unpriced_requests
from {{ ref('int_requests__costed') }}
group by usage_date, {{ dbt.date_trunc('hour', 'occurred_at') }}, provider, model, deployment_id
