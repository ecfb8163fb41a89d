{{ config(materialized='table') }}

-- The published requests of the neighbouring days that belong to a task this build rebuilds: to a task with a
-- request on a build day (a task that crosses midnight is rebuilt whole), or to a published task that crossed
-- midnight into or out of a build day (its requests there may have changed or gone). Only those are read, not the
-- neighbouring days whole (history_request_files holds the day before and after each build day, no build day;
-- history_task_files the published tasks of the build days and those neighbours: warehouse/build.py plan_build).
-- A small table (the tasks that cross midnight), so the semi-join against the build's task ids is done once, not
-- by each reader of int_tasks__requests.
{%- set files = build_var('history_request_files') %}
{%- set task_files = build_var('history_task_files') %}
{%- if files | length > 0 %}
with build_days as (

    select cast(usage_date as date) as usage_date from {{ ref('stg_raw__build_days') }}

)

select {{ task_request_columns() }}
from {{ read_partitions(files) }}
where task_id in (
    select task_id from {{ ref('int_requests__costed') }}
    {%- if task_files | length > 0 %}
    union
    select task_id from {{ read_partitions(task_files) }}
    where cast(ended_at as date) > cast(started_at as date)
      and (cast(started_at as date) in (select usage_date from build_days)
           or cast(ended_at as date) in (select usage_date from build_days))
    {%- endif %}
)
{%- else %}
    select {{ task_request_columns() }}
    from {{ ref('int_requests__costed') }}
    where 1 = 0
{%- endif %}
