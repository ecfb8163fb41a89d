-- One row per event_id: the same event seen in several files (or twice in one) is one event, its first
-- occurrence (int_usage_events__repeated). A view in DuckDB: the day's calls are read from the staged Parquet
-- files by each model that needs them (a scan is much cheaper than writing them as a table of the build
-- database: docs/performance.md).
with events as (

    select * from {{ ref('stg_raw__usage_events') }}

),

repeated as (

    select * from {{ ref('int_usage_events__repeated') }}

)

select events.*
from events
left join repeated on events.event_id = repeated.event_id
where repeated.event_id is null
    or (repeated.file_seq = events.file_seq and repeated.line_no = events.line_no)
