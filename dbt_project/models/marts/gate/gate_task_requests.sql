-- One row per request of a task this build rebuilds: what the gate's sums_agree suite adds up against the tasks.
select task_id, cost_usd from {{ ref('int_tasks__requests') }}
