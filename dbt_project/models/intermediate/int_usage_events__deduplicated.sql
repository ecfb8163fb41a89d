{{ config(materialized='table') }}

-- One row per event_id: the same event seen in several files (or twice in one) is one event.
-- The first occurrence wins: the file staged first, then the lowest line. Only the event_ids seen more than
-- once are ranked (a few per thousand calls); the others pass straight through, so the day is not sorted.
with events as (

    select * from {{ ref('stg_raw__usage_events') }}

),

repeated_ids as (

    select event_id
    from events
    group by event_id
    having count(*) > 1

),

repeated_ranked as (

    select
        events.*,
        row_number() over (partition by events.event_id order by events.file_seq, events.line_no) as occurrence
    from events
    inner join repeated_ids on repeated_ids.event_id = events.event_id

)

select events.*, 1 as occurrence
from events
where not exists (select 1 from repeated_ids where repeated_ids.event_id = events.event_id)

union all

select * from repeated_ranked
where occurrence = 1
