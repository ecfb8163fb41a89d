{{ config(materialized='table') }}

-- One row per event_id: the same event seen in several files (or twice in one) is one event.
-- The first occurrence wins: the file staged first, then the lowest line.
with events as (

    select * from {{ ref('stg_raw__usage_events') }}

),

ranked as (

    select
        *,
        row_number() over (partition by event_id order by file_seq, line_no) as occurrence

    from events

)

select * from ranked
where occurrence = 1
