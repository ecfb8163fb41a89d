with source as (

    select * from {{ source('raw', 'budgets') }}

),

renamed as (

    select budget, monthly_usd, tenant_id, feature, owner, first_alert_at from source

)

select * from renamed
