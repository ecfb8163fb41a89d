"""engine = "spark": the same sample usage through DuckDB and through Spark gives the same finance tables, row for
row; a rebuilt day replaces only its own partitions of the Spark tables; and the same planted defect fails the
gate on both engines and publishes nothing.

DuckDB runs through the real `finops` CLI. Spark runs the first backfill through the CLI too (its own Spark
driver), then the test process opens one SparkSession on the same metastore (module-scoped: a Spark driver takes
seconds to start) and runs the later days through the same `run_days` the CLI calls."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import BUNDLED, FINOPS, Project, event, write_jsonl
from finops.config import load_config
from finops.sample_data import generate_usage
from warehouse.quality import read_results

pytest.importorskip("pyspark")

START = date(2026, 11, 2)
DAYS = [START + timedelta(days=i) for i in range(10)]    # the 10th day has the sample data's spike (an anomaly)
DEFECT_DAY = START + timedelta(days=10)
TABLES = {  # every finance table and the columns that order its rows
    "fct_llm_requests": "event_id",
    "fct_llm_tasks": "task_id",
    "agg_cost_daily": "usage_date, tenant_id, feature, provider, model",
    "self_hosted_allocation": "deployment_id, hour_start, tenant_id, feature",
    "showback_weekly": "week_start, tenant_id, feature",
    "cost_anomalies": "usage_date, dimension, dimension_value",
    "cost_anomaly_drivers": "usage_date, dimension, dimension_value, driver_dimension, driver_value",
    "model_mix_weekly": "week_start, tenant_id, provider, model",
    "premium_share_weekly": "week_start, tenant_id",
    "price_history": "provider, model, usage_type, service_tier, min_input_tokens, valid_from, source_name",
    "gpu_offers": "observed_on, provider, gpu_model, gpu_count, pricing_type, region, source_name",
    "quarantine": "file, line",
}
NOT_COMPARED = {"ingested_at"}   # when the run read the record


class Engines:
    """One folder of usage, prices and GPU offers, and two configs over it: duckdb.toml and spark.toml."""

    def __init__(self, root: Path):
        self.project = Project(root)      # prices, GPU offers, usage/ (its finops.toml is not used)
        self.root = root
        spark_dir = root / "spark-metastore"
        common = f"""
[[prices.sources]]
kind = "price_sheet"
path = "prices/*.csv"

[[gpu.sources]]
kind = "gpu_sheet"
path = "gpus/offers.csv"

[[usage.sources]]
kind = "canonical"
path = "usage/**/*.*"

[[deployments]]
id = "llama-70b-prod"
gpu = "H100 SXM"
gpu_count = 2
pricing = "on_demand"
output_weight = 4

[quality]
max_quarantined_share = 0.2
"""
        self.duckdb = root / "duckdb.toml"
        self.duckdb.write_text(f'[warehouse]\npath = "duck/finops.duckdb"\n{common}')
        self.spark = root / "spark.toml"
        self.spark.write_text(f"""[warehouse]
path = "spark/finops.duckdb"
engine = "spark"

[warehouse.spark]
master = "local[2]"
warehouse_dir = "{spark_dir}/warehouse"
metastore_dir = "{spark_dir}/metastore_db"
threads = 4
{common}""")

    def finops(self, config: Path, *args: str):
        import subprocess

        return subprocess.run([str(FINOPS), *args, "--config", str(config)], capture_output=True, text=True,
                              cwd=self.root, timeout=900)


def rows(relation, columns: list[str]) -> list[tuple]:
    """Rows as plain tuples (money as float, times without a zone) in the given column order."""
    def plain(value):
        if isinstance(value, Decimal):
            return float(value)
        if getattr(value, "tzinfo", None) is not None:
            return value.replace(tzinfo=None)
        return value
    return [tuple(plain(v) for v in row) for row in relation]


def same_rows(left: list[tuple], right: list[tuple], columns: list[str]) -> list[str]:
    """The differences between two ordered row lists (floats equal to 1e-9)."""
    diffs = [] if len(left) == len(right) else [f"{len(left)} rows vs {len(right)}"]
    for a, b in zip(left, right):
        for column, x, y in zip(columns, a, b):
            close = isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-9
            if x != y and not close:
                diffs.append(f"{column}: {x!r} vs {y!r} in {a}")
    return diffs[:5]


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Engines:
    """Ten days of sample usage (JSONL.gz with broken lines, plus a CSV and a Parquet file that repeat some
    events) backfilled by both engines through the CLI, days 1-9 and then day 10 on its own."""
    engines = Engines(tmp_path_factory.mktemp("spark") / "project")
    usage = engines.project.usage
    generate_usage(usage, START, days=len(DAYS), events_per_day=120, gzip=True)
    generate_usage(usage / "more", DAYS[3], days=1, events_per_day=40, fmt="csv", seed=7, bad_lines=True)
    generate_usage(usage / "more", DAYS[4], days=1, events_per_day=40, fmt="parquet", seed=8, bad_lines=False)
    for config in (engines.duckdb, engines.spark):
        done = engines.finops(config, "backfill", "--from", str(DAYS[0]), "--to", str(DAYS[-2]))
        assert done.returncode == 0, done.stderr[-4000:]
    return engines


@pytest.fixture(scope="module")
def spark(engines):
    """The test process's SparkSession, on the metastore the CLI published to (opened after the CLI exited)."""
    from warehouse.spark_session import spark_session

    session = spark_session(load_config(engines.spark).spark)
    yield session
    session.stop()


def partition_files(spark, table: str) -> dict[str, list[str]]:
    """usage_date -> the Parquet files of that partition of a published Spark table."""
    from warehouse.spark_publish import table_location

    root = Path(table_location(spark, f"finance.{table}").removeprefix("file:"))
    return {folder.name.split("=")[1]: sorted(p.name for p in folder.glob("*.parquet"))
            for folder in sorted(root.glob("usage_date=*"))}


@pytest.fixture(scope="module")
def day_ten(engines, spark):
    """Day 10 run on its own by both engines (DuckDB through the CLI, Spark through run_days in this process),
    with the Spark partition files before and after."""
    from warehouse.pipeline import run_days

    done = engines.finops(engines.duckdb, "run", "--date", str(DAYS[-1]))
    assert done.returncode == 0, done.stderr[-4000:]
    before = {t: partition_files(spark, t) for t in ("fct_llm_requests", "fct_llm_tasks", "agg_cost_daily")}
    outcome = run_days(load_config(engines.spark), [DAYS[-1]])
    assert outcome.published, outcome.failed_checks
    after = {t: partition_files(spark, t) for t in before}
    return before, after


def test_every_finance_table_is_equal_row_for_row_on_both_engines(engines, spark, day_ten):
    with duckdb.connect(str(engines.root / "duck" / "finops.duckdb"), read_only=True) as con:
        for table, order in TABLES.items():
            columns = [c for c in con.sql(f"select * from finance.{table}").columns if c not in NOT_COMPARED]
            assert sorted(columns) == sorted(c for c in spark.table(f"finance.{table}").columns
                                             if c not in NOT_COMPARED), table
            query = f"select {', '.join(columns)} from finance.{table} order by {order}"
            duck_rows = rows(con.sql(query).fetchall(), columns)
            spark_rows = rows(spark.sql(query).collect(), columns)
            assert duck_rows, f"{table} has rows in the sample"
            assert same_rows(duck_rows, spark_rows, columns) == [], table


def test_the_sample_exercises_quarantine_dedup_self_hosting_and_anomalies(engines, spark, day_ten):
    figures = spark.sql("""select (select count(*) from finance.quarantine),
                                  (select count(*) from finance.fct_llm_requests where pricing_status = 'self_hosted'),
                                  (select count(*) from finance.cost_anomalies where usage_date = date '2026-11-11'),
                                  (select count(distinct usage_date) from finance.fct_llm_requests)""").first()
    quarantined, self_hosted, anomalies, days = figures
    assert quarantined == 6 * len(DAYS) + 6      # 6 broken records a day, and 6 in the CSV file
    assert self_hosted > 0 and anomalies > 0 and days == len(DAYS)


def test_a_rebuilt_day_replaces_only_its_own_partitions(day_ten):
    before, after = day_ten
    day, previous = DAYS[-1].isoformat(), DAYS[-2].isoformat()
    for table in before:
        assert day not in before[table] and after[table][day]
        rebuilt = {day, previous} if table == "fct_llm_tasks" else {day}   # tasks: also the day before
        for other in set(before[table]) - rebuilt:
            assert after[table][other] == before[table][other], (table, other)


def test_the_same_planted_defect_fails_the_gate_on_both_engines_and_publishes_nothing(engines, spark, day_ten):
    from warehouse.pipeline import run_days

    # a day whose calls are mostly of a model no price source knows: the unpriced share is far over 5%
    write_jsonl(engines.project.usage / "defect.jsonl",
                [event(f"x{i}", f"{DEFECT_DAY}T10:00:00Z", model="claude-unknown-9") for i in range(20)]
                + [event(f"y{i}", f"{DEFECT_DAY}T11:00:00Z") for i in range(5)])
    duck_file = engines.root / "duck" / "finops.duckdb"
    duck_before = duck_file.read_bytes()
    done = engines.finops(engines.duckdb, "run", "--date", str(DEFECT_DAY))
    assert done.returncode == 1 and "gx.unpriced_share" in done.stderr
    assert duck_file.read_bytes() == duck_before

    published = "select count(*), sum(cost_usd) from finance.fct_llm_requests"
    spark_before = spark.sql(published).first()
    outcome = run_days(load_config(engines.spark), [DEFECT_DAY])
    assert not outcome.published
    failed = {(c.suite, c.expectation, c.unexpected_count) for c in outcome.failed_checks}
    assert ("gx.unpriced_share", "expect_column_values_to_be_between(unpriced_share, min_value=0.0, max_value=0.05)",
            1) in failed
    duck_results = sorted((engines.root / "duck" / "finops.data" / "results").glob("*.parquet"))[-1]
    duck_failed = {(c.suite, c.expectation, c.unexpected_count)
                   for c in read_results(duck_results.stem, duck_results.parent) if not c.success}
    assert duck_failed == failed
    assert spark.sql(published).first() == spark_before
    assert DEFECT_DAY.isoformat() not in partition_files(spark, "fct_llm_requests")
