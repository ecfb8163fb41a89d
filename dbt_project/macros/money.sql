{#- Money is a fixed-point decimal (12 places, far below a cent): sums are then exact and the same on every
    run, whatever order the engine adds rows in (a float sum is not), so a rerun never drifts. -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(38, 12))
{%- endmacro %}
