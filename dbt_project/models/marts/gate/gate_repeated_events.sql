-- One row per event_id recorded more than once on the build days: the gate's duplicate_events suite and the
-- run's summary of repeats read it.
select usage_date, event_id, versions from {{ ref('int_usage_events__repeated') }}
