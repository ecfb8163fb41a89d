{{ config(materialized='view') }}

-- One row per usage_date, category, provider, account_id, deployment_id, tenant_id, feature of the build days: the
-- whole bill, int_spend_daily__build_days.
select * from {{ ref('int_spend_daily__build_days') }}
