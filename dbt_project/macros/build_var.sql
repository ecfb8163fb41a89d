{#- A value of the build's context (the vars of dbt_project.yml under "The build window and its context"): the
    build's own value, which warehouse/dbt_args.py passes as the environment variable FINOPS_VAR_<NAME> (JSON), or
    else the var (its default, or a unit test's override). Not a --vars value: dbt parses the whole project again
    whenever its command-line vars change, while a changed environment variable makes it parse again only the
    files that read it. -#}
{% macro build_var(name) %}
  {%- set value = env_var('FINOPS_VAR_' ~ name | upper, '') -%}
  {{ return(fromjson(value) if value else var(name)) }}
{% endmacro %}
