{{ config(materialized='view') }}

-- One row per task of the days whose task partitions this build writes (each build day and the day before and after
-- it): the tasks it rebuilds (int_tasks__rebuilt; on DuckDB the Parquet partitions publishing moves for the build
-- days) and, on the neighbouring days, the published tasks it keeps as they are (int_tasks__kept).
select * from {{ ref('int_tasks__rebuilt') }}
union all
select * from {{ ref('int_tasks__kept') }}
