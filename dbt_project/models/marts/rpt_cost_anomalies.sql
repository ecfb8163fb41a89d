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
        "dimension", "' '", "dimension_value", "' cost $'", as_text("round(observed_usd, 2)"),
        "' on '", as_text("usage_date"), "', '",
        "case when ratio is null then 'new spend vs' else " ~ as_text("round(ratio, 2)") ~ " || 'x' end",
        "' the trailing 7-day mean of $'", as_text("round(baseline_usd, 2)"),
        "' (+$'", as_text("round(increase_usd, 2)"), "')'"
    ]) }} as reason

from {{ ref('int_cost_anomalies__flagged') }}
