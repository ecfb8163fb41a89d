{#- The dimensions an anomaly is flagged on and broken down by, each with its expression over the rows of
    int_agg_cost_daily__all_days: (dimension, expression). The flagging rule and the drivers use this one list. -#}
{% macro anomaly_dimensions() -%}
    {{ return([('tenant', 'tenant_id'), ('feature', 'feature'), ('model', "provider || '/' || model")]) }}
{%- endmacro %}
