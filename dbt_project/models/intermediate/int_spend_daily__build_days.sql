{{ config(materialized='table') }}

-- One row per usage_date, category, provider, account_id, deployment_id, tenant_id, feature of the build days: the
-- whole bill (the rows of the mart spend_daily).
-- api: the calls priced per token; self_hosted_allocated: the deployments' hours booked to their calls;
-- self_hosted_idle: the hours with no call (tenant_id and feature '__idle__'); self_hosted_unrecovered: what a
-- rate_card deployment's calls did not pay of its busy hours (tenant_id and feature '__unrecovered__', negative when
-- they paid more). A day's total is its API cost plus every deployment's full hourly cost.
-- A table: the mart, its tests and the models after it (billing, forecasts, budgets) read it, rather than each
-- deduplicating and pricing the calls again (a view cost one pass over the day's calls per reader).
with api as (

    select
        usage_date,
        'api' as category,
        provider,
        account_id,
        cast(null as {{ dbt.type_string() }}) as deployment_id,
        tenant_id,
        feature,
        count(*) as requests,
        sum(cost_usd) as cost_usd
    from {{ ref('int_requests__api_priced') }}
    group by usage_date, provider, account_id, tenant_id, feature

),

self_hosted as (

    select
        usage_date,
        {{ self_hosted_category('tenant_id') }} as category,
        'self_hosted' as provider,  -- noqa: RF04
        cast(null as {{ dbt.type_string() }}) as account_id,
        deployment_id,
        tenant_id,
        feature,
        sum(requests) as requests,
        sum(cost_usd) as cost_usd
    from {{ ref('int_self_hosted__allocation') }}
    group by usage_date, deployment_id, tenant_id, feature

),

unioned as (

    select * from api
    union all
    select * from self_hosted

)

select
    usage_date,
    category,
    provider,
    account_id,
    deployment_id,
    tenant_id,
    feature,
    cast(requests as {{ dbt.type_bigint() }}) as requests,
    {{ money('cost_usd') }} as cost_usd
from unioned
