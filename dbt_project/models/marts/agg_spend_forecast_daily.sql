-- One row per as_of_date, month, tenant_id, feature: int_spend_forecast__daily.
select * from {{ ref('int_spend_forecast__daily') }}
