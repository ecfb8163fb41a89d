{#- The value of the row with the lowest (min_by) or highest (max_by) ordering key within a group, the key
    being one or more columns compared in order (an aggregate: no window over the rows is needed). -#}
{% macro min_by(value, keys) -%}
    {{ return(adapter.dispatch('min_by', 'finops')(value, keys)) }}
{%- endmacro %}

{% macro max_by(value, keys) -%}
    {{ return(adapter.dispatch('max_by', 'finops')(value, keys)) }}
{%- endmacro %}

{% macro default__min_by(value, keys) -%}
    min_by({{ value }}, struct_pack({{ keys | join(', ') }}))
{%- endmacro %}

{% macro default__max_by(value, keys) -%}
    max_by({{ value }}, struct_pack({{ keys | join(', ') }}))
{%- endmacro %}

{% macro spark__min_by(value, keys) -%}
    min_by({{ value }}, struct({{ keys | join(', ') }}))
{%- endmacro %}

{% macro spark__max_by(value, keys) -%}
    max_by({{ value }}, struct({{ keys | join(', ') }}))
{%- endmacro %}
