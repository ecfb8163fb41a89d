{{ config(materialized='table') }}

-- The rows of `finops export focus` (docs/focus.md): one per usage_date, provider, model, service_tier, account_id,
-- tenant_id, feature, token type and rate of the build days' priced API calls (a token type's tokens times its
-- rate in force; cost_usd sums to the calls' cost), and one per self-hosted deployment, hour, tenant and feature
-- (int_self_hosted__allocation: allocated and idle). Unpriced usage has no row (its cost is NULL, not 0: the export
-- counts it from fct_llm_requests). The FOCUS column names and constants are the export's (warehouse/focus.py).
{#- the token types of an API call: (token_type, its tokens, its rate, its list rate), one select each #}
{%- set token_types = [
    ('input', 'uncached_input_tokens', 'input_usd_per_million', 'list_input_usd_per_million'),
    ('cache_read', 'cache_read_tokens', 'cache_read_usd_per_million', 'list_input_usd_per_million'),
    ('cache_write_5m', 'cache_write_tokens', 'cache_write_usd_per_million', 'list_input_usd_per_million'),
    ('cache_write_1h', 'cache_write_1h_tokens', 'cache_write_1h_usd_per_million', 'list_input_usd_per_million'),
    ('output', 'output_tokens', 'output_usd_per_million', 'list_output_usd_per_million'),
] %}

with calls as (

    -- the priced calls summed per day, dimensions and rates first: the token types below then unpivot a few
    -- thousand rows, not every call five times
    select
        usage_date,
        provider,
        model,
        service_tier,
        account_id,
        tenant_id,
        feature,
        sum(uncached_input_tokens) as uncached_input_tokens,
        sum(cache_read_tokens) as cache_read_tokens,
        sum(cache_write_tokens) as cache_write_tokens,
        sum(cache_write_1h_tokens) as cache_write_1h_tokens,
        sum(output_tokens) as output_tokens,
        input_usd_per_million,
        cache_read_usd_per_million,
        cache_write_usd_per_million,
        cache_write_1h_usd_per_million,
        output_usd_per_million,
        list_input_usd_per_million,
        list_output_usd_per_million
    from {{ ref('int_requests__api_priced') }}
    where cost_usd is not null
    group by
        usage_date, provider, model, service_tier, account_id, tenant_id, feature, input_usd_per_million,
        cache_read_usd_per_million, cache_write_usd_per_million, cache_write_1h_usd_per_million,
        output_usd_per_million, list_input_usd_per_million, list_output_usd_per_million

),

token_types as (
    {%- for token_type, tokens, rate, list_rate in token_types %}

        select
            usage_date,
            provider,
            model,
            service_tier,
            account_id,
            tenant_id,
            feature,
            '{{ token_type }}' as token_type,
            {{ tokens }} as tokens,
            {{ rate }} as usd_per_million,
            {{ list_rate }} as list_usd_per_million
        from calls
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

api as (

    select
        usage_date,
        cast(usage_date as timestamp) as charge_period_start,
        cast({{ dbt.dateadd('day', 1, 'usage_date') }} as timestamp) as charge_period_end,
        'api' as category,
        provider,
        model,
        service_tier,
        token_type,
        account_id,
        cast(null as {{ dbt.type_string() }}) as deployment_id,
        tenant_id,
        feature,
        cast(sum(tokens) as {{ dbt.type_bigint() }}) as tokens,
        cast(null as double) as hours,
        {{ money('usd_per_million') }} as unit_price_usd,
        {{ money('list_usd_per_million') }} as list_unit_price_usd,
        {{ money('sum(tokens) * usd_per_million / 1e6') }} as cost_usd,
        {{ money('sum(tokens) * list_usd_per_million / 1e6') }} as list_cost_usd
    from token_types
    group by
        usage_date, provider, model, service_tier, token_type, account_id, tenant_id, feature, usd_per_million,
        list_usd_per_million
    having sum(tokens) > 0

),

self_hosted as (

    select
        allocation.usage_date,
        allocation.hour_start as charge_period_start,
        {{ dbt.dateadd('hour', 1, 'allocation.hour_start') }} as charge_period_end,
        {{ self_hosted_category('allocation.tenant_id') }} as category,
        'self_hosted' as provider,  -- noqa: RF04
        allocation.deployment_id as model,  -- noqa: RF04
        'standard' as service_tier,
        cast(null as {{ dbt.type_string() }}) as token_type,
        cast(null as {{ dbt.type_string() }}) as account_id,
        allocation.deployment_id,
        allocation.tenant_id,
        allocation.feature,
        cast(null as {{ dbt.type_bigint() }}) as tokens,
        cast(allocation.cost_usd as double) / nullif(cast(hourly.hourly_cost_usd as double), 0) as hours,
        hourly.hourly_cost_usd as unit_price_usd,
        hourly.hourly_cost_usd as list_unit_price_usd,
        allocation.cost_usd,
        allocation.cost_usd as list_cost_usd
    from {{ ref('int_self_hosted__allocation') }} as allocation
    inner join {{ ref('int_self_hosted__hourly_cost') }} as hourly
        on allocation.deployment_id = hourly.deployment_id and allocation.hour_start = hourly.hour_start
    where allocation.cost_usd is not null

)

select * from api
union all
select * from self_hosted
