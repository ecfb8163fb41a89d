-- One row per observed GPU rental offer.
select
    observed_on,
    provider,
    gpu_model,
    gpu_count,
    vram_gb,
    pricing_type,
    region,
    usd_per_hour,
    usd_per_gpu_hour,
    source,
    source_name,
    landed_file
from {{ ref('stg_raw__gpu_offers') }}
