{{ config(materialized='view') }}

-- One row per distinct call attempt of the build days, with its cost: int_requests__costed (on DuckDB, the Parquet
-- partitions it wrote, which publishing moves).
select * from {{ ref('int_requests__costed') }}
