-- One row per week_start (Monday) with a published day: how many of its 7 days are published once this build is,
-- and how many of those are partial (today's unfinished day).
select
    cast({{ dbt.date_trunc('week', 'usage_date') }} as date) as week_start,
    cast(count(*) as {{ dbt.type_bigint() }}) as days_published,
    cast(sum(case when status = 'partial' then 1 else 0 end) as {{ dbt.type_bigint() }}) as partial_days
from {{ ref('stg_raw__published_days') }}
group by 1
