{#- The order of a task's calls as one ordering key, by time then by attempt: the key of min_by / max_by in
    fct_llm_tasks (both engines have those aggregates; the key is spelt per engine). -#}
{% macro call_order(occurred_at, attempt) -%}
    {{ return(adapter.dispatch('call_order', 'finops')(occurred_at, attempt)) }}
{%- endmacro %}

{#- A struct of the two columns, compared field by field. -#}
{% macro default__call_order(occurred_at, attempt) -%}
    struct({{ occurred_at }}, {{ attempt }})
{%- endmacro %}

{#- DuckDB: one 128-bit number, epoch microseconds * 2^32 + attempt (a 32-bit integer >= 1, so the order is the
    same as the struct's). DuckDB compares it faster than a struct (docs/performance.md). -#}
{% macro duckdb__call_order(occurred_at, attempt) -%}
    cast(epoch_us({{ occurred_at }}) as hugeint) * 4294967296 + {{ attempt }}
{%- endmacro %}
