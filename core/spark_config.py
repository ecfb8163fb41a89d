"""[warehouse.spark]: how finops reaches Spark when `[warehouse] engine = "spark"` (docs/spark.md).

The connection is one of dbt-spark's methods:
  session  a SparkSession in the finops process: local (master = "local[*]") or on a cluster's driver
           (master = "yarn", "spark://host:7077", "k8s://..."); dbt runs in the same session.
  thrift   dbt runs the models on a Spark Thrift server (host, port, user);
  http     dbt runs the models on a Databricks cluster or SQL warehouse (host, cluster or endpoint, token_env).
Reading the usage files, the quality gate and publishing always use the finops process's own SparkSession
(master + conf), which must see the same metastore and storage as the thrift / http endpoint.
Credentials never sit in the file: `token_env` names the environment variable that holds the token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.bounds import PORT, Bounds

ENGINES = ("duckdb", "spark")
METHODS = ("session", "thrift", "http")
# [warehouse.spark]: key -> (type, default), checked by core/config.py like every other table
SPARK_KEYS = {
    "method": (str, "session"),
    "master": (str, "local[*]"),
    "database": (str, "finance"),
    "build_schema": (str, "finops_build"),
    "warehouse_dir": (str, None),
    "metastore_dir": (str, None),
    "conf": (dict, {}),
    "host": (str, None),
    "port": (int, None, PORT),
    "user": (str, None),
    "cluster": (str, None),
    "endpoint": (str, None),
    "token_env": (str, None),
    "threads": (int, 2, Bounds(1)),
}
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True)
class SparkSettings:
    method: str
    master: str
    database: str  # the published finance tables: <database>.fct_llm_requests, ...
    build_schema: str  # a build's scratch databases: <build_schema>, <build_schema>_finance, _gate, _raw
    warehouse_dir: str  # spark.sql.warehouse.dir: where Spark keeps table files (path or URL)
    metastore_dir: str | None  # a local Derby metastore; None: the cluster's (conf spark.hadoop.hive.*)
    conf: tuple[tuple[str, str], ...] = ()
    host: str | None = None
    port: int | None = None
    user: str | None = None
    cluster: str | None = None
    endpoint: str | None = None
    token_env: str | None = None
    threads: int = 2

    @property
    def build_finance(self) -> str:
        """Where a build's marts are written before the gate (dbt's generate_schema_name on Spark)."""
        return f"{self.build_schema}_finance"

    @property
    def build_gate(self) -> str:
        """Where a build's gate_* marts, which only the gate reads, are written."""
        return f"{self.build_schema}_gate"

    @property
    def build_raw(self) -> str:
        """Where a build's inputs (the dbt sources) are registered."""
        return f"{self.build_schema}_raw"

    def session_conf(self) -> dict[str, str]:
        """The Spark configuration of the finops SparkSession (the `conf` table wins over these defaults)."""
        local = self.master.startswith("local")
        conf = {
            "spark.master": self.master,
            "spark.app.name": "finops",
            "spark.sql.catalogImplementation": "hive",
            "spark.sql.warehouse.dir": self.warehouse_dir,
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.sources.partitionOverwriteMode": "dynamic",  # INSERT OVERWRITE replaces only its days
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
            "spark.sql.ansi.enabled": "false",  # what dbt-spark sets too
        }
        if local:  # one machine: few shuffle partitions, no web UI
            conf |= {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false", "spark.driver.memory": "4g"}
        if self.metastore_dir:
            conf |= {
                "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={self.metastore_dir};create=true",
                "spark.driver.extraJavaOptions": f"-Dderby.system.home={Path(self.metastore_dir).parent}",
            }
        return conf | dict(self.conf)


def spark_settings(out: dict, base: Path, data_dir: Path) -> SparkSettings:
    """[warehouse.spark], its keys and types already checked (SPARK_KEYS): the rules between keys; raises
    ValueError naming the key (load_config makes it a ConfigError). base: the config's folder; data_dir: the
    warehouse's <stem>.data (the default home of the catalog)."""
    if out["method"] not in METHODS:
        raise ValueError(f"key 'warehouse.spark.method' is '{out['method']}', expected one of: {', '.join(METHODS)}")
    for key in ("database", "build_schema"):
        if not _NAME.fullmatch(out[key]):
            raise ValueError(
                f"key 'warehouse.spark.{key}' is '{out[key]}', expected a database name (lower case letters, digits, _)"
            )
    if out["method"] != "session":
        for key in ("host", "port") if out["method"] == "thrift" else ("host",):
            if out[key] is None:
                raise ValueError(f"key 'warehouse.spark.{key}' is required with method '{out['method']}'")
        if out["method"] == "http" and (out["cluster"] is None) == (out["endpoint"] is None):
            raise ValueError(
                "method 'http' needs exactly one of 'warehouse.spark.cluster' or 'warehouse.spark.endpoint'"
            )
        if out["method"] == "http" and out["token_env"] is None:
            raise ValueError(
                "key 'warehouse.spark.token_env' is required with method 'http' (the name of the "
                "environment variable that holds the token)"
            )
    for key, value in out["conf"].items():
        if not isinstance(value, (str, int, float, bool)):
            raise ValueError(f"key 'warehouse.spark.conf.{key}' must be a string or a number")
    conf = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in out["conf"].items()}
    data = data_dir / "spark"

    def location(value: str | None, default: Path) -> str:
        if value is None:
            return str(default)
        return value if _URL.match(value) else str((base / Path(value).expanduser()).resolve())

    shared_metastore = any(key.startswith(("spark.hadoop.hive.metastore", "spark.hadoop.javax.jdo")) for key in conf)
    metastore = None if shared_metastore else location(out["metastore_dir"], data / "metastore_db")
    return SparkSettings(
        method=out["method"],
        master=out["master"],
        database=out["database"],
        build_schema=out["build_schema"],
        warehouse_dir=location(out["warehouse_dir"], data / "warehouse"),
        metastore_dir=metastore,
        conf=tuple(sorted(conf.items())),
        host=out["host"],
        port=out["port"],
        user=out["user"],
        cluster=out["cluster"],
        endpoint=out["endpoint"],
        token_env=out["token_env"],
        threads=out["threads"],
    )
