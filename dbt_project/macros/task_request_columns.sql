{#- The columns of a request that the task aggregation reads (int_tasks__requests and its neighbouring-day part). -#}
{% macro task_request_columns() -%}
    task_id, tenant_id, feature, occurred_at, attempt, status, is_failed, is_retry, cost_usd, cache_savings_usd,
    input_tokens, output_tokens, pricing_status
{%- endmacro %}
