"""The finops process's SparkSession and the dbt run on Spark (engine = "spark", docs/spark.md).

With method = "session" dbt runs in this process (dbt's Python API) and dbt-spark picks up this SparkSession:
one Spark driver per run, and the build's inputs registered by warehouse/engines/spark/build.py are in its catalog.
With thrift / http, dbt sends the models to that endpoint, which must share this session's metastore.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from finops.spark_config import SparkSettings
from warehouse.build import Build
from warehouse.dbt_args import DBT_PROJECT_DIR, dbt_build_args

log = logging.getLogger("finops")


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


def dbt_profile(settings: SparkSettings) -> dict:
    """The dbt-spark profile of the settings (profiles.yml); a token only as an env_var() reference."""
    output = {"type": "spark", "method": settings.method, "schema": settings.build_schema,
              "host": settings.host or "localhost", "threads": settings.threads}
    if settings.method == "thrift":
        output |= {"port": settings.port, **({"user": settings.user} if settings.user else {})}
    if settings.method == "http":
        output |= {"port": settings.port or 443, "token": "{{ env_var('%s') }}" % settings.token_env,
                   **({"cluster": settings.cluster} if settings.cluster else {"endpoint": settings.endpoint})}
    return {"finops": {"target": "spark", "outputs": {"spark": output}}}


def run_dbt_spark(build: Build, settings: SparkSettings, on_event=None) -> None:
    """`dbt build` of the build's days on Spark, in this process (its results are read by the gate).
    on_event: called with each dbt event as a dict, as dbt's JSON log lines have it (Dagster reads them)."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    build_dir = Path(build.target_path).parent
    profiles = build_dir / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    (profiles / "profiles.yml").write_text(json.dumps(dbt_profile(settings), indent=1))  # JSON is YAML
    args = dbt_build_args(build.vars, Path(build.target_path), quiet=True) + [
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(profiles), "--log-path", str(build_dir / "logs")]
    callbacks = [lambda event: on_event(msg_to_dict(event))] if on_event else []
    result = dbtRunner(callbacks=callbacks).invoke(args)
    if result.exception is not None:
        log.error("dbt on Spark stopped: %s", result.exception)
