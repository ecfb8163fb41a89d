-- Sums agree across tables: the build days' request cost is the same in fct_llm_requests and
-- agg_cost_daily, and the tasks started on the build days carry the cost of their requests.
{{ config(meta={'dagster': {'ref': {'name': 'agg_cost_daily'}}}) }}  -- shown as a check on this asset
with requests as (
    select coalesce(sum(cost_usd), 0) as cost_usd, count(*) as n from {{ ref('fct_llm_requests') }}
),
daily as (
    select coalesce(sum(cost_usd), 0) as cost_usd, coalesce(sum(requests), 0) as n from {{ ref('agg_cost_daily') }}
),
task_requests as (
    select coalesce(sum(cost_usd), 0) as cost_usd from {{ ref('int_tasks__requests') }}
    where task_id in (select task_id from {{ ref('fct_llm_tasks') }})
),
tasks as (
    select coalesce(sum(cost_usd), 0) as cost_usd from {{ ref('fct_llm_tasks') }}
)
select requests.cost_usd as requests_cost, daily.cost_usd as daily_cost, tasks.cost_usd as tasks_cost
from requests, daily, task_requests, tasks
where abs(requests.cost_usd - daily.cost_usd) > 1e-6
   or requests.n <> daily.n
   or abs(task_requests.cost_usd - tasks.cost_usd) > 1e-6
