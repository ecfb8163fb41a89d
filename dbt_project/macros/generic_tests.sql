{#- Generic tests the project needs (no hub packages can be installed offline). -#}

{#- One test per model for all its NOT NULL columns, and one for all its non-negative ones: a single scan and a
    single dbt node each, rather than one per column (on a 10M-call day, and in dbt's per-test overhead, that is
    the difference between seconds and minutes). A failing row shows which column broke the rule. -#}
{% test not_null_columns(model, columns) %}
select * from {{ model }}
where {% for c in columns %}{{ c }} is null{{ " or " if not loop.last }}{% endfor %}
{% endtest %}

{% test not_negative_columns(model, columns) %}
select * from {{ model }}
where {% for c in columns %}{{ c }} < 0{{ " or " if not loop.last }}{% endfor %}
{% endtest %}

{% test unique_combination(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test expression_is_true(model, expression) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
