{{ config(materialized='table') }}

-- One row per usage_date, tenant_id, feature, provider, model of the build days: the rows of the mart
-- agg_cost_daily. A table: the mart and int_agg_cost_daily__all_days read it, rather than each aggregating the calls.
select
    usage_date,
    tenant_id,
    feature,
    provider,
    model,
    count(*) as requests,
    count(distinct task_id) as tasks,
    cast(sum(case when is_failed then 1 else 0 end) as {{ dbt.type_bigint() }}) as failed_requests,
    cast(sum(input_tokens) as {{ dbt.type_bigint() }}) as input_tokens,
    cast(sum(cache_read_tokens) as {{ dbt.type_bigint() }}) as cache_read_tokens,
    cast(sum(cache_write_tokens + cache_write_1h_tokens) as {{ dbt.type_bigint() }}) as cache_write_tokens,
    cast(sum(output_tokens) as {{ dbt.type_bigint() }}) as output_tokens,
    cast(sum(reasoning_tokens) as {{ dbt.type_bigint() }}) as reasoning_tokens,
    sum(cost_usd) as cost_usd,
    sum(list_cost_usd) as list_cost_usd,
    coalesce(sum(case when is_failed then cost_usd end), {{ money(0) }}) as retry_cost_usd,
    sum(cache_savings_usd) as cache_savings_usd,
    case when sum(input_tokens) > 0
            then cast(sum(cache_read_tokens) as double) / sum(input_tokens)
    end as cache_hit_rate,
    cast(sum(case when pricing_status = 'unpriced' then 1 else 0 end) as {{ dbt.type_bigint() }}) as unpriced_requests,
    cast(
        sum(
            case when pricing_status = 'unpriced' then input_tokens + output_tokens else 0 end
        ) as {{ dbt.type_bigint() }}
    )
        as unpriced_tokens,
    cast(sum(case when pricing_status = 'self_hosted' then 1 else 0 end) as {{ dbt.type_bigint() }})
        as self_hosted_requests

from {{ ref('int_requests__costed') }}
group by usage_date, tenant_id, feature, provider, model
