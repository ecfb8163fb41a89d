{{ config(materialized='view') }}

-- One row per usage_date, hour_start, provider, model, deployment_id of the build days: int_usage_hourly__build_days.
select * from {{ ref('int_usage_hourly__build_days') }}
