"""Read canonical usage files (JSONL, CSV, Parquet, optionally .gz) with Spark: the engine = "spark" reader.

Spark reads the file where it is (any path its Hadoop file systems know; [[usage.sources]] lists local files for
now, docs/spark.md), the checks are the same SQL as ingest/usage_canonical.py's (`checked_sql`, with Spark's
spelling of a UTC time and of a quoted string), and the rows land in the same staged layout:
  - valid rows: Parquet partitioned by usage_date   (<usage_dir>/usage_date=D/part-*.parquet)
  - bad rows:   one Parquet folder with source, file, line_no, reason, raw, ingested_at  (<quarantine_file>/)
Line numbers count every line of the file, blank ones too (as the DuckDB reader does). The files that cannot be read
whole are the DuckDB reader's: Spark would read a gzip stream that ends early as far as it goes and replace bytes that
are not UTF-8, so the file is read to its end first (ingest/unreadable.py); a CSV file's columns and delimiter come
from its header line, and a row that does not have the header's fields is quarantined alone with its raw text.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from pyspark import StorageLevel
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from ingest.unreadable import STAGED_NOTHING, UnreadableUsageFile, read_to_the_end
from ingest.usage_canonical import (
    COLUMNS,
    STAGED_SCHEMA,
    TRIMMED_SPACES,
    StagedFile,
    UsageWindow,
    _csv_header,
    _file_format,
    checked_sql,
)

# Spark's spelling of a UTC time (ingest/usage_canonical.py): the session time zone is UTC, so a value with no zone
# is UTC.
UTC_TIMESTAMP_SQL = "try_cast({0} as timestamp)"
# The same spaces as DuckDB's trim (TRIMMED_SPACES), so that both engines stage the same text; Spark's own trim
# strips U+0020 only.
_SPACES = "[" + "".join(map(chr, TRIMMED_SPACES)) + "]"
TRIMMED_SQL = f"regexp_replace({{0}}, '^{_SPACES}+|{_SPACES}+$', '')"
_RECORD = StructType([StructField(c, StringType()) for c in COLUMNS])
_POSITION_BITS = (1 << 33) - 1  # monotonically_increasing_id = partition index << 33 | row within the partition
_CORRUPT = "_finops_malformed_row"  # the raw text of a CSV row Spark could not split into the header's fields


def spark_str(value: str) -> str:
    """A Spark SQL string literal: a quote is \\' (not '' as in DuckDB), a backslash is \\\\."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _numbered(frame: DataFrame, first_line: int) -> DataFrame:
    """The rows of one file with line_no: their position in the file (Spark keeps a file's partitions in order)
    plus first_line - 1; without moving the rows to one place."""
    frame = frame.withColumn("_partition", F.spark_partition_id()).withColumn(
        "_position", F.monotonically_increasing_id().bitwiseAND(F.lit(_POSITION_BITS))
    )
    if frame.rdd.getNumPartitions() == 1:
        offset = F.lit(0)
    else:
        counts = dict(frame.groupBy("_partition").count().collect())
        bases, total = [], 0
        for partition in range(max(counts, default=-1) + 1):
            bases.append(total)
            total += counts.get(partition, 0)
        offset = F.element_at(F.array(*[F.lit(b) for b in bases]), F.col("_partition") + 1)
    return frame.withColumn("line_no", F.col("_position") + offset + first_line).drop("_partition", "_position")


def _records(spark: SparkSession, path: str) -> DataFrame:
    """line_no, raw (the line, for JSON lines), rec (every canonical column as a string) and read_error."""
    fmt = _file_format(Path(path))
    if fmt == "jsonl":
        lines = _numbered(spark.read.text(path), first_line=1).withColumnRenamed("value", "raw")
        lines = lines.where(F.trim("raw") != "")
        # a line that is not a JSON object has no record (the reason: not a valid JSON object)
        is_object = F.get_json_object("raw", "$").isNotNull() & F.ltrim("raw").startswith("{")
        nothing = F.struct(*[F.lit(None).cast("string").alias(c) for c in COLUMNS])
        rec = F.when(is_object, F.coalesce(F.from_json("raw", _RECORD), nothing))
        return lines.select("line_no", "raw", rec.alias("rec"), F.lit(None).cast("string").alias("read_error"))
    if fmt == "csv":
        header = _csv_header(Path(path))
        if not header.columns:  # an empty file: no records
            return spark.createDataFrame(
                [],
                "line_no bigint, raw string, rec struct<"
                + ", ".join(f"{c}: string" for c in COLUMNS)
                + ">, read_error string",
            )
        schema = StructType(
            [StructField(c, StringType()) for c in header.columns] + [StructField(_CORRUPT, StringType())]
        )
        frame = spark.read.csv(
            path,
            schema=schema,
            header=True,
            sep=header.delimiter,
            quote='"',
            escape='"',
            mode="PERMISSIVE",
            columnNameOfCorruptRecord=_CORRUPT,
        )
        first_line = 2
        malformed = F.col(_CORRUPT).isNotNull()
        raw = F.when(malformed, F.col(_CORRUPT))
        read_error = F.when(malformed, F.lit(f"malformed CSV row: not the {len(header.columns)} fields of the header"))
    else:
        frame, first_line = spark.read.parquet(path), 1
        raw = read_error = F.lit(None).cast("string")
    present = set(frame.columns) - {_CORRUPT}
    rec = F.struct(
        *[(F.col(f"`{c}`").cast("string") if c in present else F.lit(None).cast("string")).alias(c) for c in COLUMNS]
    )
    return _numbered(
        frame.select(rec.alias("rec"), raw.alias("raw"), read_error.alias("read_error")), first_line
    ).select("line_no", "raw", "rec", "read_error")


def stage_usage_file_spark(
    spark: SparkSession,
    path: str | Path,
    *,
    source: str,
    file_seq: int,
    usage_dir: Path,
    quarantine_file: Path,
    window: UsageWindow,
) -> StagedFile:
    """Read one canonical usage file with Spark, check its records and stage them (one read of the file by Spark,
    after one by Python to its end). Raises UnreadableUsageFile when it cannot be read whole."""
    fmt = _file_format(Path(path))
    read_to_the_end(Path(path), utf8=fmt != "parquet")
    view = f"finops_usage_records_{uuid.uuid4().hex[:8]}"
    try:
        _records(spark, str(path)).createOrReplaceTempView(view)
        checked = spark.sql(
            checked_sql(
                f"select * from {view}", source, str(path), file_seq, window, UTC_TIMESTAMP_SQL, TRIMMED_SQL, spark_str
            )
        )
        rows = checked.select(
            *STAGED_SCHEMA,
            "reason",
            F.when(
                F.col("reason").isNotNull(), F.coalesce("raw", F.to_json("rec", {"ignoreNullFields": "false"}))
            ).alias("raw"),
        )
        rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
        rows.where("reason is null").write.mode("overwrite").partitionBy("usage_date").parquet(str(usage_dir))
        rows.where("reason is not null").select(
            "source", "file", "line_no", "reason", "raw", F.current_timestamp().alias("ingested_at")
        ).orderBy("line_no").coalesce(1).write.mode("overwrite").parquet(str(quarantine_file))
        counts = rows.groupBy("usage_date", F.col("reason").isNull().alias("valid")).count().collect()
        rows.unpersist()
    except PySparkException as exc:
        raise UnreadableUsageFile(
            f"cannot be read as {fmt}: {str(exc).strip().splitlines()[0]}; {STAGED_NOTHING}: "
            "copy it again whole, or export it again"
        ) from None
    finally:
        spark.catalog.dropTempView(view)
    return StagedFile(
        rows_by_day={str(r["usage_date"]): r["count"] for r in sorted(counts, key=lambda r: str(r[0])) if r["valid"]},
        quarantined=sum(r["count"] for r in counts if not r["valid"]),
    )
