{#- Marts go to the schema named in their config (`finance`), not `<target>_finance`: in DuckDB that schema is in
    the build's own file. On Spark the catalog is shared with the published tables, so a build's marts go to
    `<target schema>_finance` (warehouse/engines/spark/publish.py copies them to the published database after the gate). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ return(adapter.dispatch('build_schema_name', 'finops')(custom_schema_name, node)) }}
{%- endmacro %}

{% macro default__build_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}

{% macro spark__build_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ target.schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
