-- One row per price in force over a period.
select
    provider,
    model,
    usage_type,
    service_tier,
    min_input_tokens,
    usd_per_million,
    valid_from,
    valid_to,
    source,
    source_name,
    landed_file
from {{ ref('int_prices__history') }}
