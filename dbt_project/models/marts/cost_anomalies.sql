-- One row per flagged usage_date, dimension ('tenant' | 'feature' | 'model'), dimension_value, with a sentence
-- saying what was flagged and by how much (the rule is in int_cost_anomalies__flagged).
select
    usage_date,
    dimension,
    dimension_value,
    observed_usd,
    baseline_usd,
    increase_usd,
    ratio,
    {{ dbt.concat([
        "dimension", "' '", "dimension_value", "' cost $'", "cast(round(observed_usd, 2) as varchar)",
        "' on '", "cast(usage_date as varchar)", "', '",
        "case when ratio is null then 'new spend vs' else cast(round(ratio, 2) as varchar) || 'x' end",
        "' the trailing 7-day mean of $'", "cast(round(baseline_usd, 2) as varchar)",
        "' (+$'", "cast(round(increase_usd, 2) as varchar)", "')'"
    ]) }} as reason

from {{ ref('int_cost_anomalies__flagged') }}
