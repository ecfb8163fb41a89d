-- One row per configured deployment and UTC hour of the build days: what the hour costs, which the gate's
-- self_hosted_balance suite compares with what self_hosted_allocation books.
select deployment_id, hour_start, hourly_cost_usd from {{ ref('int_self_hosted__hourly_cost') }}
