{#- Generic tests the project needs (no hub packages can be installed offline). -#}

{#- All of a model's own rules in one test: one dbt node and one scan per model, rather than one per rule and
    column (on a 10M-call day a view's test reads the day's calls again; with tiny data each node is dbt's own
    ~40 ms). Row rules: NOT NULL columns, non-negative columns, accepted values (NULL is accepted, as in dbt's
    accepted_values), SQL expressions that every row must satisfy; unique_key: no two rows with the same values of
    these columns. The test returns one row per broken rule with how many rows break it (failing_rows), and its
    failures are their sum; `dbt show` of the test's compiled SQL names the broken rules. Plain SQL: DuckDB and
    Spark alike. -#}
{% test rules(model, unique_key=[], not_null=[], not_negative=[], accepted_values={}, expressions=[]) %}
{{ config(fail_calc="coalesce(sum(failing_rows), 0)") }}
{%- set checks = [] -%}
{%- for c in not_null -%}{%- do checks.append((c ~ " is null", c ~ " is null")) -%}{%- endfor -%}
{%- for c in not_negative -%}{%- do checks.append((c ~ " < 0", c ~ " < 0")) -%}{%- endfor -%}
{%- for c, values in accepted_values.items() -%}
  {%- set listed = [] -%}
  {%- for v in values -%}{%- do listed.append("'" ~ v ~ "'") -%}{%- endfor -%}
  {%- do checks.append((c ~ " not in (" ~ values | join(", ") ~ ")", c ~ " not in (" ~ listed | join(", ") ~ ")")) -%}
{%- endfor -%}
{%- for e in expressions -%}{%- do checks.append(("not (" ~ e ~ ")", "not (" ~ e ~ ")")) -%}{%- endfor -%}
{%- if not checks and not unique_key -%}
  {{ exceptions.raise_compiler_error("test rules on " ~ model ~ ": give unique_key or a row rule") }}
{%- endif -%}
{%- if checks %}
select rule, failing_rows
from (
    select
        rules.rule,
        case rules.id
        {%- for label, condition in checks %}
            when {{ loop.index }} then counts.rule_{{ loop.index }}
        {%- endfor %}
        end as failing_rows
    from (
        select
        {%- for label, condition in checks %}
            sum(case when {{ condition }} then 1 else 0 end) as rule_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    ) as counts
    cross join (
    {%- for label, condition in checks %}
        select {{ loop.index }} as id, '{{ label | replace("'", "") }}' as rule{{ " union all" if not loop.last }}
    {%- endfor %}
    ) as rules
) as broken
where failing_rows > 0
{% endif %}
{%- if checks and unique_key %}
union all
{% endif -%}
{%- if unique_key %}
select 'duplicate ({{ unique_key | join(", ") }})' as rule, count(*) as failing_rows
from (
    select {{ unique_key | join(", ") }}
    from {{ model }}
    group by {{ unique_key | join(", ") }}
    having count(*) > 1
) as duplicates
having count(*) > 0
{%- endif %}
{% endtest %}
