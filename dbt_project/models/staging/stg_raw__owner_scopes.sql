with source as (

    select * from {{ source('raw', 'owner_scopes') }}

),

renamed as (

    select owner, feature, tenant_id from source

)

select * from renamed
