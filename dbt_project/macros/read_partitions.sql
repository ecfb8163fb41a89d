{#- The rows of published Parquet partitions (a list of files), as a relation. Adapter-dispatched so that
    another engine can read its own partition format. -#}
{% macro read_partitions(files) -%}
    {{ return(adapter.dispatch('read_partitions', 'finops')(files)) }}
{%- endmacro %}

{% macro default__read_partitions(files) -%}
    read_parquet([{%- for f in files -%}'{{ f }}'{{ ", " if not loop.last }}{%- endfor -%}], union_by_name = true, hive_partitioning = true)
{%- endmacro %}
