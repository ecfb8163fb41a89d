-- One row per rate_card deployment and month of the build days: what its calls pay per 1M weighted tokens that
-- month. The configured rate, or for "auto" the previous calendar month's deployment cost (every hour of it:
-- allocated, unrecovered and idle) / its weighted tokens, over that month's days that this build computes or that
-- are published (history_self_hosted_files); NULL when that month had no weighted tokens or its cost is unknown
-- (int_self_hosted__request_shares then charges that month by hourly share).
{%- set files = build_var('history_self_hosted_files') %}
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}
    where allocation = 'rate_card'

),

build_months as (

    select distinct cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month  -- noqa: RF04
    from {{ ref('stg_raw__build_days') }}

),

daily as (

    select deployment_id, usage_date, hourly_cost_usd as cost_usd, 0 as weighted_tokens
    from {{ ref('int_self_hosted__hourly_cost') }}
    union all
    select deployment_id, usage_date, 0 as cost_usd, weighted_tokens
    from {{ ref('int_self_hosted__calls') }}
    {%- if files | length > 0 %}
    union all
    select deployment_id, usage_date, cost_usd, weighted_tokens
    from {{ read_partitions(files) }}
    where usage_date not in (select usage_date from {{ ref('stg_raw__build_days') }})
    {%- endif %}

),

monthly as (

    select
        deployment_id,
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month,  -- noqa: RF04
        sum(cost_usd) as cost_usd,
        sum(weighted_tokens) as weighted_tokens
    from daily
    group by deployment_id, cast({{ dbt.date_trunc('month', 'usage_date') }} as date)

)

select
    deployments.deployment_id,
    build_months.month,
    {{ money("coalesce(
        deployments.rate_usd_per_million_weighted_tokens,
        previous.cost_usd * 1000000 / nullif(previous.weighted_tokens, 0)
    )") }} as rate_usd_per_million_weighted_tokens
from deployments
cross join build_months
left join monthly as previous
    on deployments.deployment_id = previous.deployment_id
        and previous.month = cast({{ dbt.dateadd('month', -1, 'build_months.month') }} as date)
