-- The gate: on each build day, the share of calls with no price in force stays at or under
-- [quality].max_unpriced_share (an unpriced call is never $0; too many of them means a missing price).
{{ config(meta={'dagster': {'ref': {'name': 'fct_llm_requests'}}}) }}  -- shown as a check on this asset
select usage_date, count(*) as requests,
       sum(case when pricing_status = 'unpriced' then 1 else 0 end) as unpriced_requests
from {{ ref('fct_llm_requests') }}
group by usage_date
having sum(case when pricing_status = 'unpriced' then 1 else 0 end) > {{ var('max_unpriced_share') }} * count(*)
