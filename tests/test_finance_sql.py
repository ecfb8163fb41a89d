"""`finops sql` is read-only for the warehouse and the file system (docs/warehouse.md "Finance SQL"): queries read
the published tables (views over the Parquet partitions under <warehouse>.data/tables/), and a statement that would
write a file, read a file the warehouse does not reference, attach another database or change a setting is refused
before it runs, with the published partitions, the other files and the other database left as they were.

The warehouse: one day (2026-11-02) of 4 calls of claude-sonnet-4-6, 1,000 input and 100 output tokens each at
$3 / $15 per 1M: $0.0045 a call, $0.018 the day."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import Project, event, write_jsonl

DAY_COST = "0.018000000000"


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
    assert proc.stdout.splitlines()[2].split() == ["2026-11-02", "|", "4", "|", DAY_COST]
    # statements from stdin, several in one input, a session variable and USE
    shell = subprocess.run(
        [sys.executable, "-m", "finops.cli", "sql", "--config", str(published.config)],
        input="use finance;\nset variable day = date '2026-11-02';\n"
        "select sum(cost_usd) as day_cost from agg_cost_daily "
        "where usage_date = getvariable('day');\nshow tables;\n",
        capture_output=True,
        text=True,
    )
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert DAY_COST in shell.stdout and "fct_llm_requests" in shell.stdout


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
        published.finops("sql", "select sum(cost_usd) from finance.fct_llm_requests").stdout.splitlines()[2].strip()
        == DAY_COST
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
