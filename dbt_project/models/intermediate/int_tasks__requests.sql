-- One row per request of a task that this build rebuilds: the build's requests, plus the published requests of
-- the neighbouring days that belong to the same tasks (int_tasks__neighbour_requests).
-- The day before's other tasks are kept as published (int_tasks__kept).
select {{ task_request_columns() }} from {{ ref('int_requests__costed') }}
union all
select {{ task_request_columns() }} from {{ ref('int_tasks__neighbour_requests') }}
