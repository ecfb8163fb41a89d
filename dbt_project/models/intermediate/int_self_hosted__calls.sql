-- One row per deduplicated call served by a configured self-hosted deployment: the call, its UTC hour and its
-- weighted tokens (input_tokens + output_weight x output_tokens), what both allocations charge by.
with deployments as (

    select * from {{ ref('stg_raw__deployments') }}

)

select
    events.*,
    {{ dbt.date_trunc('hour', 'events.occurred_at') }} as hour_start,
    events.input_tokens + deployments.output_weight * events.output_tokens as weighted_tokens
from {{ ref('int_usage_events__deduplicated') }} as events
inner join deployments on events.deployment_id = deployments.deployment_id
