"""`finops sql` is read-only for the warehouse and the file system (docs/warehouse.md "Finance SQL"): queries read
the published tables (views over the Parquet partitions under <warehouse>.data/tables/), and a statement that would
write a file, read a file the warehouse does not reference, attach another database or change a setting is refused
before it runs, with the published partitions, the other files and the other database left as they were.

`--format table` shows money rounded to cents; `csv`, `json`, `parquet` and `finops export` write it exactly.

The warehouse: one day (2026-11-02) of 4 calls of claude-sonnet-4-6, 1,000 input and 100 output tokens each at
$3 / $15 per 1M: $0.0045 a call ($0.00 in a table), $0.018 the day ($0.02 in a table)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import FINOPS, Project, event, write_jsonl

DAY_COST = "0.018000000000"
DAY_COST_CENTS = "0.02"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("finance_sql") / "project")
    write_jsonl(project.usage / "d1.jsonl", [event(f"e{i}", "2026-11-02T10:00:00Z") for i in range(4)])
    project.finops("run", "--date", "2026-11-02", check=True)
    return project


def partition_file(project: Project) -> Path:
    [path] = project.query(
        "select distinct filename from read_parquet(?, filename = true)",
        [str(project.warehouse.with_suffix(".data") / "tables" / "fct_llm_requests" / "*" / "*" / "*.parquet")],
    )[0]
    return Path(path)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_query_reads_the_published_tables(published: Project):
    proc = published.finops(
        "sql",
        "select usage_date, count(*) as calls, sum(cost_usd) as cost_usd from finance.fct_llm_requests group by 1",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[2].split() == ["2026-11-02", "|", "4", "|", DAY_COST_CENTS]
    # statements from stdin, several in one input, a session variable and USE
    shell = subprocess.run(
        [sys.executable, "-m", "finops.cli", "sql", "--config", str(published.config)],
        input="use finance;\nset variable day = date '2026-11-02';\n"
        "select sum(cost_usd) as day_cost_usd from agg_cost_daily "
        "where usage_date = getvariable('day');\nshow tables;\n",
        capture_output=True,
        text=True,
    )
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert DAY_COST_CENTS in shell.stdout and "fct_llm_requests" in shell.stdout


@pytest.mark.parametrize(
    "attack",
    [
        "copy (select * replace (0::decimal(38,12) as cost_usd) from finance.fct_llm_requests) to '{partition}' "
        "(format parquet)",
        "explain analyze copy (select * replace (0::decimal(38,12) as cost_usd) from finance.fct_llm_requests) "
        "to '{partition}' (format parquet)",
        "prepare zero as copy (select * replace (0::decimal(38,12) as cost_usd) from finance.fct_llm_requests) "
        "to '{partition}' (format parquet); execute zero",
        "export database '{tables}/exported'",
    ],
    ids=["copy-to", "explain-analyze-copy", "prepare-execute-copy", "export-database"],
)
def test_a_statement_that_writes_a_file_is_refused(published: Project, attack: str):
    partition = partition_file(published)
    before = digest(partition)
    tables = partition.parents[2]
    proc = published.finops("sql", attack.format(partition=partition, tables=tables))
    assert proc.returncode == 1
    assert "finops sql: refused" in proc.stderr and "Traceback" not in proc.stderr
    assert digest(partition) == before
    assert not (tables / "exported").exists()
    assert (
        published.finops("sql", "select sum(cost_usd) from finance.fct_llm_requests", "--format", "csv").stdout
        == f"sum(cost_usd)\n{DAY_COST}\n"
    )


@pytest.mark.parametrize(
    "attack",
    [
        "select content from read_text('{secret}')",
        "select * from read_csv('{secret}', header = false)",
        "select * from read_text('/etc/passwd')",
        "select * from glob('{folder}/*')",
    ],
    ids=["read_text", "read_csv", "etc-passwd", "glob"],
)
def test_a_query_cannot_read_files_the_warehouse_does_not_reference(published: Project, attack: str):
    secret = published.root / "secret.txt"
    secret.write_text("the-secret-value\n")
    proc = published.finops("sql", attack.format(secret=secret, folder=published.root))
    assert proc.returncode == 1
    assert "the-secret-value" not in proc.stdout + proc.stderr and "root:" not in proc.stdout
    assert "finops.toml" not in proc.stdout
    assert "Traceback" not in proc.stderr


def test_another_database_cannot_be_attached_or_written(published: Project):
    other = published.root / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("create table kept as select 1 as x")
    proc = published.finops("sql", f"attach '{other}' as other; create table other.planted as select 2 as x")
    assert proc.returncode == 1 and "finops sql: refused" in proc.stderr
    with duckdb.connect(str(other), read_only=True) as con:
        assert con.execute("select table_name from information_schema.tables").fetchall() == [("kept",)]
    new = published.root / "new.duckdb"
    assert published.finops("sql", f"attach '{new}' as new").returncode == 1
    assert not new.exists()


@pytest.mark.parametrize(
    "statement",
    [
        "set enable_external_access = true",
        "reset allowed_directories",
        "set lock_configuration = false",
        "install httpfs",
        "load httpfs",
    ],
)
def test_the_guards_cannot_be_switched_off(published: Project, statement: str):
    proc = published.finops("sql", f"{statement}; select content from read_text('/etc/hostname')")
    assert proc.returncode == 1
    assert Path("/etc/hostname").read_text().strip() not in proc.stdout
    assert "Traceback" not in proc.stderr


def warehouse_text(project: Project, sql: str) -> list[tuple]:
    """The warehouse's own text of each value (DuckDB's cast to VARCHAR: a DECIMAL(38,12) with its 12 decimals)."""
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_csv_and_json_are_exact_and_the_table_shows_cents(published: Project):
    query = "select event_id, cost_usd, list_cost_usd from finance.fct_llm_requests order by event_id"
    csv_out = published.finops("sql", query, "--format", "csv")
    assert csv_out.returncode == 0, csv_out.stderr[-2000:]
    expected = warehouse_text(
        published,
        "select event_id, cost_usd::varchar, list_cost_usd::varchar from finance.fct_llm_requests order by event_id",
    )
    assert [tuple(line.split(",")) for line in csv_out.stdout.splitlines()] == [
        ("event_id", "cost_usd", "list_cost_usd"),
        *expected,
    ]
    assert expected[0][1] == "0.004500000000"
    as_json = published.finops("sql", query, "--format", "json")
    assert json.loads(as_json.stdout)[0] == {
        "event_id": "e0",
        "cost_usd": "0.004500000000",
        "list_cost_usd": "0.004500000000",
    }
    table = published.finops("sql", query)
    assert table.stdout.splitlines()[2].split() == ["e0", "|", "0.00", "|", "0.00"]
    out = published.root / "out" / "day.csv"
    written = published.finops("sql", "select sum(cost_usd) as cost_usd from finance.agg_cost_daily", "--out", str(out))
    assert written.returncode == 0 and written.stdout == ""
    assert out.read_text().splitlines()[2].strip() == DAY_COST_CENTS


def test_export_writes_a_table_s_days_exactly(published: Project):
    csv_file, parquet_file = published.root / "requests.csv", published.root / "requests.parquet"
    for out in (csv_file, parquet_file):
        proc = published.finops(
            "export", "fct_llm_requests", "--from", "2026-11-02", "--to", "2026-11-02", "--out", str(out)
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"finance.fct_llm_requests 2026-11-02 .. 2026-11-02: 4 row(s) written to {out}" in proc.stderr
    with duckdb.connect(str(published.warehouse), read_only=True) as con:
        columns = [c for c, *_ in con.execute("describe finance.fct_llm_requests").fetchall()]
    header, *lines = csv_file.read_text().splitlines()
    assert header.split(",") == columns
    cost = columns.index("cost_usd")
    assert sorted(line.split(",")[cost] for line in lines) == ["0.004500000000"] * 4
    parquet = pq.read_table(parquet_file)
    assert parquet.schema.field("cost_usd").type == pa.decimal128(38, 12)
    assert sum(parquet.column("cost_usd").to_pylist()) == Decimal(DAY_COST)
    # a day with no rows: the header only
    empty = published.finops("export", "spend_daily", "--from", "2026-11-03", "--to", "2026-11-09")
    assert empty.returncode == 0 and empty.stdout.splitlines()[0].startswith("usage_date,category,provider")
    assert len(empty.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "nope"], "export nope: not a finance table; give one of: agg_cost_daily,"),
        (["export", "spend_daily", "--from", "2026-11-03"], "give both --from and --to"),
        (["export", "spend_daily", "--from", "2026-11-03", "--to", "2026-11-02"], "--to 2026-11-02 is before --from"),
        (["export", "spend_daily", "--from", "2026-11-31", "--to", "2026-12-01"], "'2026-11-31' is not a date"),
        (["export", "price_history", "--from", "2026-11-02", "--to", "2026-11-02"], "has no day column"),
        (["export", "spend_daily", "--out", "x.xlsx"], "give --format csv or parquet"),
        (["sql", "select 1", "--format", "parquet"], "--format parquet writes a file: give --out FILE"),
        (["sql", "select 1; select 2", "--format", "csv"], "--format csv writes one result and the input has 2"),
    ],
    ids=["unknown-table", "from-alone", "to-before-from", "not-a-date", "no-day-column", "suffix", "parquet", "two"],
)
def test_a_bad_table_date_or_format_exits_2(published: Project, args: list[str], message: str):
    proc = published.finops(*args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_dot_commands_list_the_finance_tables_and_their_columns(published: Project):
    shell = subprocess.run(
        [FINOPS, "--config", str(published.config), "sql"],  # --config before the subcommand
        input=".tables\n.schema finance.spend_daily\n",
        capture_output=True,
        text=True,
    )
    assert shell.returncode == 0, shell.stderr[-2000:]
    lines = [line.rstrip() for line in shell.stdout.splitlines()]
    cells = [[cell.strip() for cell in line.split(" | ")] for line in lines]
    assert ["agg_cost_daily", "One row per usage_date, tenant_id, feature, provider, model."] in cells
    schema = next(i for i, line in enumerate(lines) if line.startswith("finance.spend_daily: "))
    assert lines[schema].startswith("finance.spend_daily: The whole bill, one row per usage_date")
    assert [[cell.strip() for cell in line.split(" | ")[:2]] for line in lines[schema + 3 : schema + 5]] == [
        ["usage_date", "DATE"],
        ["category", "VARCHAR"],
    ]
    assert "cost_usd      | DECIMAL(38,12) | The cost, DECIMAL(38,12);" in shell.stdout


def test_version_and_exit_codes_in_help():
    version = subprocess.run([FINOPS, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("finops 0.")
    help_text = subprocess.run([FINOPS, "--help"], capture_output=True, text=True).stdout
    assert [line[:4] for line in help_text.split("exit codes:\n")[1].splitlines() if line[2].isdigit()] == [
        "  0 ",
        "  1 ",
        "  2 ",
        "  3 ",
        "  4 ",
    ]
