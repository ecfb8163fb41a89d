{#- The value of the row with the lowest (min_by) or highest (max_by) ordering key within a group, the key
    being one or more columns compared in order (an aggregate: no window over the rows is needed). Both engines
    have min_by / max_by; only the ordering key, a struct of the columns, is spelt differently. -#}
{% macro min_by(value, keys) -%}
    min_by({{ value }}, {{ struct_of(keys) }})
{%- endmacro %}

{% macro max_by(value, keys) -%}
    max_by({{ value }}, {{ struct_of(keys) }})
{%- endmacro %}

{% macro struct_of(columns) -%}
    {{ return(adapter.dispatch('struct_of', 'finops')(columns)) }}
{%- endmacro %}

{% macro default__struct_of(columns) -%}
    struct_pack({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__struct_of(columns) -%}
    struct({{ columns | join(', ') }})
{%- endmacro %}
