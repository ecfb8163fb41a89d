-- One row per deployment_id, hour_start, tenant_id, feature of the build days: int_self_hosted__allocation.
select * from {{ ref('int_self_hosted__allocation') }}
