-- One row per usage record that could not be read or broke a rule of docs/spec.md#usage-record.
select source, file, line, reason, raw, ingested_at
from {{ ref('stg_raw__quarantine') }}
