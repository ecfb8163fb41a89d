{{ config(materialized='table') }}

-- One row per event_id seen more than once in the build days (the same event in several files, or twice in one):
-- where its first occurrence is, the file staged first and then the lowest line. A few per thousand calls, so a
-- small table: int_usage_events__deduplicated keeps that occurrence and passes every other event straight through.
with events as (

    select event_id, file_seq, line_no from {{ ref('stg_raw__usage_events') }}

),

repeated_ids as (

    select event_id
    from events
    group by event_id
    having count(*) > 1

),

ranked as (

    select
        events.event_id,
        events.file_seq,
        events.line_no,
        row_number() over (partition by events.event_id order by events.file_seq, events.line_no) as occurrence
    from events
    inner join repeated_ids on repeated_ids.event_id = events.event_id

)

select event_id, file_seq, line_no
from ranked
where occurrence = 1
