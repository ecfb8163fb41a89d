-- One row per week_start (Monday), tenant_id, provider, model: what the tenant spent on each model that week.
select
    week_start,
    tenant_id,
    provider,
    model,
    is_premium,
    requests,
    cost_usd,
    unpriced_requests,
    cast(cost_usd as double) / nullif(cast(sum(cost_usd) over (partition by week_start, tenant_id) as double), 0)
        as share_of_tenant_cost

from {{ ref('int_model_mix__weekly') }}
