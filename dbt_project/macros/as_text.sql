{#- An expression as text. DuckDB: varchar; Spark has no varchar without a length: string. -#}
{% macro as_text(expression) -%}
    {{ return(adapter.dispatch('as_text', 'finops')(expression)) }}
{%- endmacro %}

{% macro default__as_text(expression) -%}
    cast({{ expression }} as varchar)
{%- endmacro %}

{% macro spark__as_text(expression) -%}
    cast({{ expression }} as string)
{%- endmacro %}
