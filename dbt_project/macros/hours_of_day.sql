{#- The 24 hours of a day, as a relation with one column, hour_of_day. -#}
{% macro hours_of_day_relation() -%}
    {{ return(adapter.dispatch('hours_of_day_relation', 'finops')()) }}
{%- endmacro %}

{% macro default__hours_of_day_relation() -%}
    {%- for h in range(24) %}
    select {{ h }} as hour_of_day{{ " union all" if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- Spark: one row source instead of a union of 24 (each branch of a union is a task of its own). -#}
{% macro spark__hours_of_day_relation() -%}
    select explode(sequence(0, 23)) as hour_of_day
{%- endmacro %}
