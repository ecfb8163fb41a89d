{{ config(materialized='view') }}

-- One row per usage_date, tenant_id, feature, provider, model of the build days: int_agg_cost_daily__build_days.
select * from {{ ref('int_agg_cost_daily__build_days') }}
