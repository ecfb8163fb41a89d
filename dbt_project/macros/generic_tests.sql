{#- Generic tests the project needs (no hub packages can be installed offline). -#}

{#- All of a model's own rules in one test: one dbt node and one scan per model, rather than one per rule and
    column (on a 10M-call day a view's test reads the day's calls again; with tiny data each node is dbt's own
    ~40 ms). Row rules: NOT NULL columns, non-negative columns, accepted values (NULL is accepted, as in dbt's
    accepted_values), SQL expressions that every row must satisfy; unique_key: no two rows with the same values of
    these columns. The test returns one row per broken rule (its condition, quotes left out) with how many rows
    break it, and its failures are their sum: its compiled SQL, run on the build, names the broken rules. Plain
    SQL: DuckDB and Spark alike. -#}
{% test rules(model, unique_key=[], not_null=[], not_negative=[], accepted_values={}, expressions=[]) %}
{{ config(fail_calc="coalesce(sum(failing_rows), 0)") }}
{%- set broken_if = [] -%}
{%- for c in not_null -%}{%- do broken_if.append(c ~ " is null") -%}{%- endfor -%}
{%- for c in not_negative -%}{%- do broken_if.append(c ~ " < 0") -%}{%- endfor -%}
{%- for c, values in accepted_values.items() -%}
  {%- set quoted = [] -%}
  {%- for v in values -%}{%- do quoted.append("'" ~ v ~ "'") -%}{%- endfor -%}
  {%- do broken_if.append(c ~ " not in (" ~ quoted | join(", ") ~ ")") -%}
{%- endfor -%}
{%- for e in expressions -%}{%- do broken_if.append("not (" ~ e ~ ")") -%}{%- endfor -%}
{%- if not broken_if and not unique_key -%}
  {{ exceptions.raise_compiler_error("test rules on " ~ model ~ ": give unique_key or a row rule") }}
{%- endif -%}
{%- if broken_if %}
select rule, failing_rows
from (
    select
        rules.rule,
        case rules.id
        {%- for condition in broken_if %}
            when {{ loop.index }} then counts.rule_{{ loop.index }}
        {%- endfor %}
        end as failing_rows
    from (
        select
        {%- for condition in broken_if %}
            sum(case when {{ condition }} then 1 else 0 end) as rule_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    ) as counts
    cross join (
    {%- for condition in broken_if %}
        select {{ loop.index }} as id, '{{ condition | replace("'", "") }}' as rule{{ " union all" if not loop.last }}
    {%- endfor %}
    ) as rules
) as broken
where failing_rows > 0
{% endif %}
{%- if broken_if and unique_key %}
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
