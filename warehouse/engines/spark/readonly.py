"""`finops sql` on the Spark engine: queries on the published Spark tables, printed like on DuckDB.

Spark has no read-only session, so only statements that read are run (select, with, show, describe, explain);
anything else is refused before it reaches Spark. A query cannot read files by path either (select * from
text.`/etc/shadow`): spark.sql.runSQLOnFiles is off in this session, and a SET that would turn it back on is
refused like any other statement."""

from __future__ import annotations

import re
import sys

from core.spark_config import SparkSettings
from warehouse.sql_output import format_table

_READING = re.compile(r"\s*(select|with|show|describe|desc|explain)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"(--[^\n]*|/\*.*?\*/)", re.DOTALL)


class SparkReader:
    """A Reader (warehouse/engines/__init__.py) on the published Spark tables: the finance tables are named without
    their database, and the $name parameters become Spark's :name parameter markers."""

    def __init__(self, spark, database: str):
        self.spark = spark
        spark.catalog.setCurrentDatabase(database)

    def rows(self, sql: str, params: dict) -> list[dict]:
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}
        frame = self.spark.sql(_PARAMETER.sub(r":\1", sql), args=used)
        return [row.asDict() for row in frame.collect()]

    def close(self) -> None:
        """Nothing to close: the SparkSession is the process's."""


_PARAMETER = re.compile(r"\$(\w+)\b")


def run_spark_sql(settings: SparkSettings, statements: list[str]) -> int:
    """Run each statement and print its rows; 1 if any failed or was refused."""
    from pyspark.errors import PySparkException

    from warehouse.engines.spark.session import spark_session

    status = 0
    spark = files = None
    try:
        for statement in statements:
            text = _COMMENTS.sub(" ", statement).strip()
            if not text:
                continue
            if not _READING.match(text):
                print(
                    f"finops sql: refused (read-only; select, with, show, describe or explain): {text[:80]}",
                    file=sys.stderr,
                )
                status = 1
                continue
            if spark is None:
                spark = spark_session(settings)
                files = spark.conf.get("spark.sql.runSQLOnFiles")
                spark.conf.set("spark.sql.runSQLOnFiles", "false")
            try:
                frame = spark.sql(text)
                sys.stdout.write(format_table(frame.columns, [tuple(row) for row in frame.collect()]))
            except PySparkException as exc:
                print(f"finops sql: {str(exc).splitlines()[0]}", file=sys.stderr)
                status = 1
    finally:  # the session is the process's: a run after this in the process reads its staged files by path
        if spark is not None:
            spark.conf.set("spark.sql.runSQLOnFiles", files)
    return status
