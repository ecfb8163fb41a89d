"""The finops process's SparkSession, and the connection dbt-spark makes (engine = "spark", docs/spark.md).

With method = "session" dbt runs in this process (warehouse/dbt_args.py run_dbt) and dbt-spark picks up this
SparkSession: one Spark driver per run, and the build's inputs registered by warehouse/engines/spark/build.py are in
its catalog. With thrift / http, dbt sends the models to that endpoint, which must share this session's metastore.
"""

from __future__ import annotations

from core.spark_config import SparkSettings


def spark_session(settings: SparkSettings):
    """This process's SparkSession, built from [warehouse.spark] on first use. A session already running in the
    process is reused as it is for the settings Spark cannot change once started (master, warehouse dir,
    metastore): run one warehouse per process."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in settings.session_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def dbt_env(settings: SparkSettings) -> dict[str, str]:
    """The environment the `spark` target of dbt_project/profiles.yml reads: the connection of [warehouse.spark].
    A token is never among them: FINOPS_SPARK_TOKEN_ENV names the variable that holds it."""
    return {
        "FINOPS_SPARK_METHOD": settings.method,
        "FINOPS_SPARK_SCHEMA": settings.build_schema,
        "FINOPS_SPARK_HOST": settings.host or "localhost",
        "FINOPS_SPARK_THREADS": str(settings.threads),
        "FINOPS_SPARK_PORT": str(settings.port or 443),
        "FINOPS_SPARK_USER": settings.user or "",
        "FINOPS_SPARK_CLUSTER": settings.cluster or "",
        "FINOPS_SPARK_ENDPOINT": settings.endpoint or "",
        "FINOPS_SPARK_TOKEN_ENV": settings.token_env or "",
    }
