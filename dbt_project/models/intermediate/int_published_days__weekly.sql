-- One row per week_start (Monday) with a published day: how many of its 7 days are published once this build is.
select
    cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_start,
    cast(count(*) as {{ dbt.type_bigint() }}) as days_published
from {{ ref('stg_raw__published_days') }}
group by 1
