"""[warehouse] engine and [warehouse.spark]: checked like the rest of the config (exit 2 naming the key), and the
dbt-spark target of profiles.yml never holds a secret. No Spark is started here."""

from __future__ import annotations

import json
import os

import pytest
from conftest import Project, event, write_jsonl

from core.config import ConfigError, load_config
from warehouse.dbt_args import DBT_PROJECT_DIR
from warehouse.engines.spark.session import dbt_env


@pytest.fixture
def project(project: Project) -> Project:
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    return project


def with_warehouse(project: Project, lines: str) -> Project:
    project.write_config(warehouse=f'path = "warehouse/finops.duckdb"\n{lines}')
    return project


@pytest.mark.parametrize(
    "lines, expected",
    [
        ('engine = "postgres"', "key 'warehouse.engine' is 'postgres', expected one of: duckdb, spark"),
        ('[warehouse.spark]\nmaster = "local[2]"', "[warehouse.spark] is set but 'warehouse.engine' is 'duckdb'"),
        ('engine = "spark"\n[warehouse.spark]\nmaster_url = "local"', "unknown key 'warehouse.spark.master_url'"),
        (
            'engine = "spark"\n[warehouse.spark]\nmethod = "odbc"',
            "key 'warehouse.spark.method' is 'odbc', expected one",
        ),
        ('engine = "spark"\n[warehouse.spark]\nmethod = "thrift"\nhost = "h"', "'warehouse.spark.port' is required"),
        (
            'engine = "spark"\n[warehouse.spark]\nmethod = "http"\nhost = "h"\ncluster = "c"',
            "'warehouse.spark.token_env' is required with method 'http'",
        ),
        (
            'engine = "spark"\n[warehouse.spark]\ndatabase = "Finance-DB"',
            "key 'warehouse.spark.database' is 'Finance-DB'",
        ),
        ('engine = "spark"\n[warehouse.spark]\nthreads = "4"', "key 'warehouse.spark.threads' must be int, got str"),
    ],
)
def test_a_bad_spark_config_exits_2_naming_the_key(project: Project, lines: str, expected: str):
    with_warehouse(project, lines)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr and str(project.config) in proc.stderr


def test_spark_defaults_keep_the_catalog_beside_the_warehouse(project: Project):
    cfg = load_config(with_warehouse(project, 'engine = "spark"').config)
    spark = cfg.spark
    assert (cfg.engine, spark.method, spark.master, spark.database) == ("spark", "session", "local[*]", "finance")
    data = project.root / "warehouse" / "finops.data" / "spark"
    assert (spark.warehouse_dir, spark.metastore_dir) == (str(data / "warehouse"), str(data / "metastore_db"))
    conf = spark.session_conf()
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.sources.partitionOverwriteMode"] == "dynamic"
    assert str(data / "metastore_db") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]


def test_a_metastore_in_conf_replaces_the_local_one_and_conf_wins(project: Project):
    cfg = load_config(
        with_warehouse(
            project,
            'engine = "spark"\n[warehouse.spark]\nmaster = "yarn"\n'
            'warehouse_dir = "s3a://bucket/finops"\n'
            'conf = { "spark.hadoop.hive.metastore.uris" = "thrift://ms:9083", '
            '"spark.sql.shuffle.partitions" = 400 }',
        ).config
    )
    conf = cfg.spark.session_conf()
    assert cfg.spark.metastore_dir is None and "spark.hadoop.javax.jdo.option.ConnectionURL" not in conf
    assert conf["spark.sql.warehouse.dir"] == "s3a://bucket/finops"
    assert conf["spark.sql.shuffle.partitions"] == "400" and "spark.ui.enabled" not in conf


def test_the_spark_target_reads_the_settings_and_the_token_from_the_environment(project: Project, monkeypatch):
    """dbt_project/profiles.yml's `spark` target, rendered by dbt's own profile renderer with the environment finops
    sets for dbt (dbt_env): the connection of [warehouse.spark], the token from the variable token_env names; the
    token is in neither the file nor what finops sets."""
    from dbt.config.profile import read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-secret")
    cfg = load_config(
        with_warehouse(
            project,
            'engine = "spark"\n[warehouse.spark]\nmethod = "http"\n'
            'host = "dbc-1.cloud.databricks.com"\nendpoint = "abc123"\n'
            'token_env = "DATABRICKS_TOKEN"',
        ).config
    )
    env = dbt_env(cfg.spark)
    assert "dapi-secret" not in json.dumps(env) and env["FINOPS_SPARK_TOKEN_ENV"] == "DATABRICKS_TOKEN"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    set_invocation_context(os.environ)
    target = read_profile(str(DBT_PROJECT_DIR))["finops"]["outputs"]["spark"]
    assert "dapi-secret" not in json.dumps(target)
    rendered = ProfileRenderer({}).render_data(target)
    assert rendered == {
        "type": "spark",
        "method": "http",
        "schema": "finops_build",
        "host": "dbc-1.cloud.databricks.com",
        "port": 443,
        "user": "",
        "cluster": "",
        "endpoint": "abc123",
        "token": "dapi-secret",
        "threads": 2,
    }


def test_the_duckdb_engine_is_the_default(project: Project):
    cfg = load_config(project.config)
    assert (cfg.engine, cfg.spark) == ("duckdb", None)
    with pytest.raises(ConfigError):
        load_config(with_warehouse(project, 'engine = "Spark"').config)
