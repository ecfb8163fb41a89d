{#- The rows of published Parquet partitions (a list of files), as a relation. Adapter-dispatched so that
    another engine can read its own partition format. -#}
{% macro read_partitions(files) -%}
    {{ return(adapter.dispatch('read_partitions', 'finops')(files)) }}
{%- endmacro %}

{% macro default__read_partitions(files) -%}
    read_parquet([{%- for f in files -%}'{{ f }}'{{ ", " if not loop.last }}{%- endfor -%}], union_by_name = true, hive_partitioning = true)
{%- endmacro %}

{#- Spark: the published table's partition folders (<table location>/usage_date=D, warehouse/engines/spark/build.py), read
    through the table's location so that usage_date comes from the folder names. -#}
{% macro spark__read_partitions(files) -%}
    {%- set root = files[0].rsplit('/usage_date=', 1)[0] -%}
    (select * from parquet.`{{ root }}`
     where usage_date in ({%- for f in files -%}date '{{ f.rsplit('=', 1)[1] }}'{{ ", " if not loop.last }}{%- endfor -%}))
{%- endmacro %}
