{#- The materialization of a per-day table that is published as it is built (DuckDB): the model's rows are written
    once, as Parquet files partitioned by usage_date (hive folders, the layout of the published partitions) under
    build_var('partitions_dir')/<model>/, and the model is a view over those files in the build database. The gate
    and the models after it read the files, and warehouse/publish.py moves them into the published tables instead of
    copying them. Writing 10M calls as Parquet takes about half the time of a table of the build database.
    DuckDB only: a model that uses it names what it is on Spark (int_requests__costed: a view; int_tasks__rebuilt: a
    table). The mart published from those partitions names the model in its meta.finance.built_as_partitions. -#}
{% materialization parquet_partitions, adapter='duckdb' %}
  {%- set location = (build_var('partitions_dir') ~ '/' ~ this.identifier) | replace("'", "''") -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set columns = get_columns_in_query(sql) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('write', fetch_result=True) -%}
    copy ({{ sql }}) to '{{ location }}' (format parquet, partition_by (usage_date), overwrite true)
  {%- endcall %}
  {%- set written = load_result('write')['data'][0][0] -%}

  {% call statement('main') -%}
    create or replace view {{ target_relation }} as
    {%- if written > 0 %}
    select {{ columns | join(', ') }}
    from read_parquet('{{ location }}/*/*.parquet', hive_partitioning = true)
    {%- else %}
    select * from ({{ sql }}) as no_rows where false
    {%- endif %}
  {%- endcall %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
