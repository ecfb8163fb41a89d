"""engine = "spark": the same sample usage through DuckDB and through Spark gives the same finance tables, row for
row, and `finops report` writes the same CSV files from them; the same planted defect fails the gate on both engines
and publishes nothing; publishing a day replaces only that day's partitions of the Spark tables.

Both engines backfill through the real `finops` CLI (Spark in its own driver process; DuckDB's backfill and report
in the test process, as the other modules' runs, before it opens Spark: the imports are paid once). The test process
then opens one SparkSession on the same metastore (module-scoped: a Spark driver takes seconds to start) to read the
tables and to run the defect day through the same `run_days` the CLI calls. A Spark run costs about a minute of dbt
statements whatever the data size, so the module makes two."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import FINOPS, SAMPLE_DEPLOYMENT, Project, event, run_cli, write_jsonl

from core.config import load_config
from expectations.results import read_results
from finops.demo.sample_data import generate_usage

pytest.importorskip("pyspark")

START = date(2026, 11, 2)
DAYS = [START + timedelta(days=i) for i in range(10)]  # the 10th day has the sample data's spike (an anomaly)
DEFECT_DAY = START + timedelta(days=10)
TABLES = {  # every finance table and the columns that order its rows
    "fct_llm_requests": "event_id",
    "fct_llm_tasks": "task_id",
    "agg_cost_daily": "usage_date, tenant_id, feature, provider, model",
    "self_hosted_allocation": "deployment_id, hour_start, tenant_id, feature",
    "spend_daily": "usage_date, category, provider, account_id nulls first, deployment_id, tenant_id, feature",
    "showback_weekly": "week_start, tenant_id, feature",
    "cost_anomalies": "usage_date, dimension, dimension_value",
    "cost_anomaly_drivers": "usage_date, dimension, dimension_value, driver_dimension, driver_value",
    "model_mix_weekly": "week_start, tenant_id, provider, model",
    "premium_share_weekly": "week_start, tenant_id",
    "price_history": "provider, model, usage_type, service_tier, min_input_tokens, valid_from, source_name",
    "gpu_offers": "observed_on, provider, gpu_model, gpu_count, pricing_type, region, source_name",
    "quarantine": "file, line",
    "published_days": "usage_date",
    "usage_hourly": "usage_date, hour_start, provider, model, deployment_id nulls first",
    "focus_cost_daily": "usage_date, charge_period_start, category, provider, model, service_tier, "
    "token_type nulls first, account_id nulls first, deployment_id nulls first, tenant_id, feature, unit_price_usd",
}
NOT_COMPARED = {"ingested_at", "run_id", "published_at"}
REPORT_WEEK = "2026-W45"  # DAYS[0] .. DAYS[6]
OWNERS = """
[[owners]]
email = "search@example.com"
name = "Search"
features = ["search", "rerank"]

[[owners]]
email = "platform@example.com"
name = "Platform"
tenants = ["initech"]
"""  # when the run read the record; which run published a day


class Engines:
    """One folder of usage, prices and GPU offers, and two configs over it: duckdb.toml and spark.toml."""

    def __init__(self, root: Path):
        self.project = Project(root)  # prices, GPU offers, usage/ (its finops.toml is not used)
        self.logs: dict[str, str] = {}  # each engine's backfill log (stderr), by config name: duckdb, spark
        self.root = root
        spark_dir = root / "spark-metastore"
        # the CSV and Parquet files resend some of the days' events with other contents: conflicting duplicates,
        # of which both engines keep the same occurrence (the gate's duplicate_events counts them on both)
        common = dict(
            deployments=SAMPLE_DEPLOYMENT,
            quality="max_quarantined_share = 0.2\nmax_conflicting_share = 0.5",
            usage='[[usage.sources]]\nkind = "canonical"\npath = "usage/**/*.*"\n',
            extra=OWNERS,
        )
        self.duckdb = self.project.write_config(
            warehouse='path = "duck/finops.duckdb"', to=root / "duckdb.toml", **common
        )
        self.spark = self.project.write_config(
            warehouse=f"""path = "spark/finops.duckdb"
engine = "spark"

[warehouse.spark]
master = "local[2]"
warehouse_dir = "{spark_dir}/warehouse"
metastore_dir = "{spark_dir}/metastore_db"
threads = 4
conf = {{ "spark.sql.shuffle.partitions" = "1" }}   # a few hundred rows a day""",
            to=root / "spark.toml",
            **common,
        )

    sql = None  # what `finops sql` printed after the Spark backfill
    reports: dict  # each engine's `finops report` of REPORT_WEEK, by config name

    def finops(self, config: Path, *args: str, here: bool = False) -> subprocess.CompletedProcess:
        """`finops ARGS --config CONFIG` in a process of its own; here: in this process (run_cli), whose one
        SparkSession the Spark commands share (each process of its own starts a JVM: 10-20 s)."""
        if here:
            return run_cli([*args, "--config", str(config)], self.root)
        return subprocess.run(
            [str(FINOPS), *args, "--config", str(config)], capture_output=True, text=True, cwd=self.root, timeout=900
        )


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
    for a, b in zip(left, right, strict=True):
        for column, x, y in zip(columns, a, b, strict=True):
            close = isinstance(x, float) and isinstance(y, float) and abs(x - y) <= 1e-9
            if x != y and not close:
                diffs.append(f"{column}: {x!r} vs {y!r} in {a}")
    return diffs[:5]


@pytest.fixture(scope="module")
def engines(tmp_path_factory) -> Engines:
    """Ten days of sample usage (JSONL.gz with broken lines, plus a CSV and a Parquet file that repeat some
    events, a CSV file with a malformed row, a record outside the usage window) backfilled by both engines through
    the CLI."""
    engines = Engines(tmp_path_factory.mktemp("spark") / "project")
    usage = engines.project.usage
    generate_usage(usage, START, days=len(DAYS), events_per_day=120, gzip=True)
    generate_usage(usage / "more", DAYS[3], days=1, events_per_day=40, fmt="csv", seed=7, bad_lines=True)
    generate_usage(usage / "more", DAYS[4], days=1, events_per_day=40, fmt="parquet", seed=8, bad_lines=False)
    # spaces around text fields, Unicode ones too (no-break, em, ideographic, thin): both engines strip the same
    write_jsonl(
        usage / "more" / "spaces.jsonl",
        [
            event(
                "spaces-1",
                f"{DAYS[2]}T10:00:00Z",
                tenant="\u00a0acme\u2003",
                feature=" search\u3000",
                model="claude-sonnet-4-6\u00a0",
                task_id="\u2009t-spaces ",
                account_id=" proj_search\u00a0",  # the vendor account: read, trimmed and carried alike
            ),
            event("account-empty", f"{DAYS[2]}T10:00:01Z", account_id=" "),  # an empty account is none (NULL)
        ],
    )
    # a CSV row with a field too many, and a record from before [quality] earliest_usage_date: quarantined alike
    # (each file's quarantined share under the 20% of the configs)
    row = "acme,search,anthropic,claude-sonnet-4-6"
    (usage / "more" / "malformed.csv").write_text(
        "".join(
            [
                "event_id,occurred_at,tenant_id,feature,provider,model,input_tokens,output_tokens\n",
                *[f"csv-{i},{DAYS[5]}T10:00:0{i}Z,{row},100,10\n" for i in range(9)],
                f"csv-extra,{DAYS[5]}T11:00:00Z,{row},100,10,extra\n",
                f"csv-negative,{DAYS[5]}T11:00:00Z,{row},-1,10\n",
            ]
        )
    )
    write_jsonl(
        usage / "more" / "old.jsonl",
        [event("old-0", "1999-12-31T10:00:00Z")] + [event(f"old-{i}", f"{DAYS[5]}T12:00:0{i}Z") for i in range(1, 6)],
    )
    for config in (engines.duckdb, engines.spark):
        here = config == engines.duckdb
        done = engines.finops(config, "backfill", "--from", str(DAYS[0]), "--to", str(DAYS[-1]), here=here)
        assert done.returncode == 0, done.stderr[-4000:]
        engines.logs[config.stem] = done.stderr
    # then in this process, whose SparkSession (started by the first of these) the later commands and tests share
    engines.sql = engines.finops(
        engines.spark,
        "sql",
        "select usage_date, count(*) as calls from finance.fct_llm_requests group by 1 order by 1 limit 2",
        here=True,
    )
    engines.reports = {
        config.stem: engines.finops(config, "report", "--week", REPORT_WEEK, here=True)
        for config in (engines.duckdb, engines.spark)
    }
    return engines


@pytest.fixture(scope="module")
def spark(engines):
    """The test process's SparkSession, on the metastore the CLI published to (opened after the CLI exited)."""
    from warehouse.engines.spark.session import spark_session

    session = spark_session(load_config(engines.spark).spark)
    yield session
    session.stop()


def partition_files(spark, table: str) -> dict[str, list[str]]:
    """usage_date -> the Parquet files of that partition of a published Spark table."""
    from warehouse.engines.spark.publish import table_location

    root = Path(table_location(spark, table).removeprefix("file:"))
    return {
        folder.name.split("=")[1]: sorted(p.name for p in folder.glob("*.parquet"))
        for folder in sorted(root.glob("usage_date=*"))
    }


def test_every_finance_table_is_equal_row_for_row_on_both_engines(engines, spark):
    with duckdb.connect(str(engines.root / "duck" / "finops.duckdb"), read_only=True) as con:
        for table, order in TABLES.items():
            columns = [c for c in con.sql(f"select * from finance.{table}").columns if c not in NOT_COMPARED]
            assert sorted(columns) == sorted(
                c for c in spark.table(f"finance.{table}").columns if c not in NOT_COMPARED
            ), table
            query = f"select {', '.join(columns)} from finance.{table} order by {order}"
            duck_rows = rows(con.sql(query).fetchall(), columns)
            spark_rows = rows(spark.sql(query).collect(), columns)
            assert duck_rows, f"{table} has rows in the sample"
            assert same_rows(duck_rows, spark_rows, columns) == [], table


def test_the_sample_exercises_quarantine_dedup_self_hosting_and_anomalies(engines, spark):
    figures = spark.sql("""select (select count(*) from finance.quarantine),
                                  (select count(*) from finance.fct_llm_requests where pricing_status = 'self_hosted'),
                                  (select count(*) from finance.cost_anomalies where usage_date = date '2026-11-11'),
                                  (select count(distinct usage_date) from finance.fct_llm_requests)""").first()
    quarantined, self_hosted, anomalies, days = figures
    assert quarantined == 6 * len(DAYS) + 6 + 3  # 6 broken records a day, 6 in the CSV file, 3 in the small files
    assert self_hosted > 0 and anomalies > 0 and days == len(DAYS)
    # the resent events are counted alike: the same days, exact repeats, conflicting duplicates and examples
    repeated = {
        name: [line.split(" WARNING ", 1)[1] for line in log.splitlines() if "conflicting duplicates:" in line]
        for name, log in engines.logs.items()
    }
    assert repeated["duckdb"] and repeated["duckdb"] == repeated["spark"]
    spaced = (
        "select event_id, tenant_id, feature, model, task_id, account_id, pricing_status from finance.fct_llm_requests "
        "where event_id in ('spaces-1', 'account-empty') order by event_id"
    )
    assert [tuple(r) for r in spark.sql(spaced).collect()] == [
        ("account-empty", "acme", "search", "claude-sonnet-4-6", "account-empty", None, "priced"),
        ("spaces-1", "acme", "search", "claude-sonnet-4-6", "t-spaces", "proj_search", "priced"),
    ]


def test_finops_sql_reads_the_spark_tables_and_refuses_writes(engines):
    assert engines.sql.returncode == 0, engines.sql.stderr[-2000:]
    lines = engines.sql.stdout.splitlines()
    assert lines[0].split() == ["usage_date", "|", "calls"] and lines[2].startswith("2026-11-02 |")
    assert lines[-1] == "(2 rows)"
    refused = engines.finops(engines.spark, "sql", "drop table finance.fct_llm_requests", here=True)
    assert refused.returncode == 1 and "refused (read-only" in refused.stderr
    secret = engines.root / "secret.txt"
    secret.write_text("the-secret-value\n")
    by_path = engines.finops(engines.spark, "sql", f"select * from text.`{secret}`", here=True)
    assert by_path.returncode == 1 and "the-secret-value" not in by_path.stdout


def test_the_spark_engine_reads_a_failed_tests_rows_as_the_duckdb_engine(engines, spark):
    """A failed dbt test's examples are its first rows on the build (warehouse/pipeline.py dbt_checks): a query in
    the shape of a `rules` test's, on both engines' published calls, gives the same rows as dicts."""
    from warehouse.engines import engine_of

    query = """select 'tenant_id is not acme' as rule, count(*) as failing_rows from {table}
               where tenant_id <> 'acme' group by 1"""
    spark_rows = engine_of(load_config(engines.spark)).build_rows(
        None, query.format(table="finance.fct_llm_requests"), 5
    )
    duck = engines.root / "duck"
    with duckdb.connect(str(duck / "finops.duckdb"), read_only=True) as con:
        calls = con.execute("select count(*) from finance.fct_llm_requests where tenant_id <> 'acme'").fetchone()[0]
    assert spark_rows == [{"rule": "tenant_id is not acme", "failing_rows": calls}] and calls > 0


def test_finops_report_on_spark_writes_the_same_figures_as_on_duckdb(engines):
    """The reports read the marts through the engine's Reader: the same week gives the same CSV files (the summary,
    the breakdowns, the anomalies) and the same chargeback emails' figures on both engines."""
    for name, report in engines.reports.items():
        assert report.returncode == 0, (name, report.stderr[-3000:])
    duck, spark = (engines.root / name / "reports" / REPORT_WEEK for name in ("duck", "spark"))
    csv_files = sorted(p.name for p in duck.glob("*.csv"))
    assert "summary.csv" in csv_files and sorted(p.name for p in spark.glob("*.csv")) == csv_files
    for name in csv_files:
        assert (spark / name).read_text() == (duck / name).read_text(), name
    summary = (duck / "summary.csv").read_text().splitlines()
    assert len(summary) == 2 and summary[1].startswith(f"{REPORT_WEEK},")  # a header and the week's row
    emails = [sorted((root.parent.parent / "outbox" / REPORT_WEEK).glob("*.eml")) for root in (duck, spark)]
    assert [p.name for p in emails[0]] == [p.name for p in emails[1]] and len(emails[0]) == 2


def test_the_same_planted_defect_fails_the_gate_on_both_engines_and_publishes_nothing(engines, spark):
    from warehouse.pipeline import run_days

    # a day whose calls are mostly of a model no price source knows: the unpriced share is far over 5%
    write_jsonl(
        engines.project.usage / "defect.jsonl",
        [event(f"x{i}", f"{DEFECT_DAY}T10:00:00Z", model="claude-unknown-9") for i in range(20)]
        + [event(f"y{i}", f"{DEFECT_DAY}T11:00:00Z") for i in range(5)],
    )
    duck_file = engines.root / "duck" / "finops.duckdb"
    duck_before = duck_file.read_bytes()
    done = engines.finops(engines.duckdb, "run", "--date", str(DEFECT_DAY))
    assert done.returncode == 1 and "gx.unpriced_share" in done.stderr
    assert duck_file.read_bytes() == duck_before

    published = "select count(*), sum(cost_usd) from finance.fct_llm_requests"
    spark_before = spark.sql(published).first()
    files_before = partition_files(spark, "finance.fct_llm_requests")
    outcome = run_days(load_config(engines.spark), [DEFECT_DAY])
    assert not outcome.published
    failed = {(c.suite, c.expectation, c.unexpected_count) for c in outcome.failed_checks}
    assert (
        "gx.unpriced_share",
        "expect_column_values_to_be_between(unpriced_share, min_value=0.0, max_value=0.05)",
        1,
    ) in failed
    duck_results = sorted((engines.root / "duck" / "finops.data" / "results").glob("*.parquet"))[-1]
    duck_failed = {
        (c.suite, c.expectation, c.unexpected_count)
        for c in read_results(duck_results.stem, duck_results.parent)
        if not c.success
    }
    assert duck_failed == failed
    assert spark.sql(published).first() == spark_before
    assert partition_files(spark, "finance.fct_llm_requests") == files_before
    assert DEFECT_DAY.isoformat() not in partition_files(spark, "finance.fct_llm_requests")


def test_publishing_a_day_replaces_only_that_days_partitions(engines, spark):
    """warehouse/engines/spark/publish.py on a build of its own: day 2 rebuilt (one row fewer), day 3 new, day 1 kept
    (its files untouched); a rebuilt day with no rows left loses its partition."""
    from core.spark_config import SparkSettings
    from warehouse.build import Build
    from warehouse.engines.spark.publish import publish_partitioned
    from warehouse.state import State

    settings = SparkSettings(
        method="session",
        master="local[2]",
        database="published_test",
        build_schema="publish_test",
        warehouse_dir="",
        metastore_dir=None,
    )
    spark.sql("create database if not exists publish_test_finance")
    spark.sql("create database if not exists published_test")
    source, state = "publish_test_finance.agg_cost_daily", State()

    def build(days: list[str], rows: list[tuple[str, str, int]]) -> Build:
        spark.sql(f"drop table if exists {source}")
        spark.createDataFrame(rows, "day string, tenant_id string, requests long").selectExpr(
            "cast(day as date) as usage_date", "tenant_id", "requests"
        ).write.saveAsTable(source)
        return Build("b", days, {}, "", "", {}, "3GB", started_at="", statuses={})

    publish_partitioned(
        spark,
        settings,
        build(
            ["2026-11-01", "2026-11-02"],
            [("2026-11-01", "acme", 1), ("2026-11-02", "acme", 2), ("2026-11-02", "globex", 3)],
        ),
        state,
        "agg_cost_daily",
    )
    first = partition_files(spark, "published_test.agg_cost_daily")
    publish_partitioned(
        spark,
        settings,
        build(["2026-11-02", "2026-11-03"], [("2026-11-02", "acme", 20), ("2026-11-03", "acme", 30)]),
        state,
        "agg_cost_daily",
    )
    second = partition_files(spark, "published_test.agg_cost_daily")
    assert second["2026-11-01"] == first["2026-11-01"] and second["2026-11-02"] != first["2026-11-02"]
    published = (
        "select cast(usage_date as string), tenant_id, requests from published_test.agg_cost_daily order by 1, 2"
    )
    assert [tuple(r) for r in spark.sql(published).collect()] == [
        ("2026-11-01", "acme", 1),
        ("2026-11-02", "acme", 20),
        ("2026-11-03", "acme", 30),
    ]
    assert sorted(state.partitions["agg_cost_daily"]) == ["2026-11-01", "2026-11-02", "2026-11-03"]

    publish_partitioned(spark, settings, build(["2026-11-03"], [("2026-11-02", "acme", 99)]), state, "agg_cost_daily")
    assert "2026-11-03" not in partition_files(spark, "published_test.agg_cost_daily")
    assert sorted(state.partitions["agg_cost_daily"]) == ["2026-11-01", "2026-11-02"]
    assert [tuple(r) for r in spark.sql(published).collect()][-1] == ("2026-11-02", "acme", 20)


def test_a_lost_state_file_is_rebuilt_from_the_published_spark_tables(engines, spark, caplog):
    """Each Spark publish writes its state into finance_pipeline.state: a lost state.json is rebuilt from it, so the
    whole-history tables (showback, built from every published day) keep every day."""
    from warehouse.pipeline import run_days

    next_day = DEFECT_DAY + timedelta(days=1)
    write_jsonl(engines.project.usage / "next.jsonl", [event(f"n{i}", f"{next_day}T10:00:00Z") for i in range(100)])
    state_file = engines.root / "spark" / "finops.data" / "state.json"
    state_file.unlink()
    with caplog.at_level("WARNING", logger="finops"):
        outcome = run_days(load_config(engines.spark), [next_day])
    assert outcome.published and outcome.published_days == [next_day.isoformat()]
    assert f"{state_file} is missing: rebuilt from the published Spark database finance" in caplog.text
    days, total = spark.sql("select count(distinct usage_date), sum(cost_usd) from finance.fct_llm_requests").first()
    assert days == len(DAYS) + 1
    assert spark.sql("select sum(cost_usd) from finance.showback_weekly").first()[0] == total
