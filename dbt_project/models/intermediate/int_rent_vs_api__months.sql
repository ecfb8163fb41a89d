-- One row per calendar month with a published day: how many of its days are published and the last of them
-- (the day its figures and GPU offers are as of). A month with fewer published days than days is projected.
with days as (

    select usage_date from {{ ref('stg_raw__published_days') }}

),

months as (

    select
        cast({{ dbt.date_trunc('month', 'usage_date') }} as date) as month_start,
        count(*) as days_published,
        max(usage_date) as as_of_date
    from days
    group by cast({{ dbt.date_trunc('month', 'usage_date') }} as date)

),

bounds as (

    select
        month_start,
        days_published,
        as_of_date,
        {{ dbt.last_day('month_start', 'month') }} as month_end
    from months

)

select
    month_start,
    cast(extract(day from month_end) as integer) as days_in_month,
    cast(days_published as integer) as days_published,
    as_of_date
from bounds
