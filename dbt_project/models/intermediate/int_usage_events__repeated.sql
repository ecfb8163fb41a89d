{{ config(materialized='table') }}

-- One row per event_id seen more than once in the build days (the same event in several files, or twice in one):
-- where its first occurrence is, the file staged first and then the lowest line, and whether its occurrences agree.
-- A few per thousand calls, so a small table: int_usage_events__deduplicated keeps that occurrence and passes every
-- other event straight through. Occurrences that differ in any column the finance tables read (the call's time,
-- attribution, account, model, tier, status, attempt or tokens, after staging's defaults) are a conflicting duplicate:
-- versions > 1. The first occurrence is still the one kept; the gate's duplicate_events suite, the run log and the
-- quality report count them apart from exact repeats.
with repeated_ids as (

    select event_id, count(*) as occurrences
    from {{ ref('stg_raw__usage_events') }}
    group by event_id
    having count(*) > 1

),

occurrences as (   -- every record of a repeated event: its place in staging order, and which of its contents it has

    select
        usage.event_id,
        usage.usage_date,
        usage.file_seq,
        usage.line_no,
        repeated_ids.occurrences,
        row_number() over (partition by usage.event_id order by usage.file_seq, usage.line_no) as occurrence,
        dense_rank() over (
            partition by usage.event_id
            order by
                usage.occurred_at, usage.tenant_id, usage.feature, usage.task_id, usage.provider, usage.model,
                usage.deployment_id, usage.account_id, usage.service_tier, usage.status, usage.attempt,
                usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens,
                usage.output_tokens, usage.reasoning_tokens
        ) as content
    from {{ ref('stg_raw__usage_events') }} as usage
    inner join repeated_ids on usage.event_id = repeated_ids.event_id

),

versions as (

    select event_id, max(content) as versions
    from occurrences
    group by event_id

)

select
    occurrences.event_id,
    occurrences.usage_date,
    occurrences.file_seq,
    occurrences.line_no,
    occurrences.occurrences,
    versions.versions

from occurrences
inner join versions on occurrences.event_id = versions.event_id
where occurrences.occurrence = 1
