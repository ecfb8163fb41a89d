"""Read-only access to the published warehouse (what `finops sql`, the reports and finance use).

A read-only connection never blocks the pipeline: a run writes new files and swaps the published file
with a rename, so a connection keeps the catalog it opened until it reconnects.

It cannot change the warehouse or the file system either (docs/warehouse.md "Finance SQL"): the catalog is opened
read-only; DuckDB's external access is off but for the folder of the published partitions
(<warehouse>.data/tables/), which the catalog's views read; and the configuration is locked, so no statement can
switch that back. DuckDB still lets a statement write into a folder it may read (COPY ... TO a partition), so
`finops sql` runs only the statements DuckDB's own parser classifies as queries (QUERY_STATEMENTS)."""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path
from typing import TextIO

import duckdb

from core.config import data_dir_of
from core.exit_codes import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OK
from core.layout import Layout
from core.sql_literals import sql_list
from warehouse.sql_output import format_table, write_result

# SELECT is also WITH, FROM, VALUES, TABLE, SHOW, DESCRIBE, SUMMARIZE and PIVOT; SET is also USE and SET VARIABLE
# (a setting itself is locked). Not: COPY, EXPORT, ATTACH, DETACH, INSTALL / LOAD, PREPARE / EXECUTE, EXPLAIN
# (EXPLAIN ANALYZE runs the statement it explains), CREATE, INSERT, ...
QUERY_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.SET)


class WarehouseMissing(Exception):
    """No warehouse has been published at the configured path yet."""


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """The published catalog, read-only, able to read its own partition files and no other file."""
    if not path.exists():
        raise WarehouseMissing(f"{path}: no published warehouse yet (run `finops run` or `finops backfill` first)")
    con = duckdb.connect(str(path), read_only=True)
    partitions = Layout(warehouse=path, data=data_dir_of(path)).tables_dir
    con.execute(f"set allowed_directories = {sql_list([f'{partitions}/'])}")
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


class DuckDBReader:
    """A Reader (warehouse/engines/__init__.py) on a read-only connection (connect_read_only): the finance tables
    are named without their schema."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        con.execute("use finance")

    def rows(self, sql: str, params: dict) -> list[dict]:
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}  # DuckDB refuses unused ones
        cursor = self.con.execute(sql, used)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.con.close()


def run_queries(con: duckdb.DuckDBPyConnection, text: str, fmt: str = "table", out: Path | None = None) -> int:
    """Run the statements of `text` and write each result in `fmt` (warehouse/sql_output.py) to `out` or stdout (the
    sys.stdout of the call: a caller's redirect_stdout holds); 1 on
    a SQL error or when a statement is not a query (then none of them runs), 2 when a format that holds one result
    (csv, json, parquet) is given several queries."""
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        print(f"finops sql: {exc}", file=sys.stderr)
        return EXIT_GATE_FAILED
    refused = [s for s in statements if s.type not in QUERY_STATEMENTS]
    if refused:
        print(
            f"finops sql: refused {refused[0].type.name} statement: finops sql runs queries only (SELECT, WITH, "
            "SHOW, DESCRIBE, SUMMARIZE, PIVOT, USE, SET VARIABLE); it cannot write files, read other files, "
            "attach databases or change settings (docs/warehouse.md)",
            file=sys.stderr,
        )
        return EXIT_GATE_FAILED
    queries = [s for s in statements if s.type == duckdb.StatementType.SELECT]
    if fmt != "table" and len(queries) > 1:
        print(
            f"finops sql: --format {fmt} writes one result and the input has {len(queries)} queries: give one "
            "query (SET VARIABLE and USE before it are fine), or use --format table",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    for statement in statements:
        try:
            relation = con.sql(statement.query)
            if relation is not None:
                write_result(relation.columns, relation.fetchall(), relation.fetch_arrow_table, fmt, out, sys.stdout)
        except duckdb.Error as exc:
            print(f"finops sql: {exc}", file=sys.stderr)
            return EXIT_GATE_FAILED
    return EXIT_OK


def run_shell(con: duckdb.DuckDBPyConnection, stream: TextIO, history: Path) -> int:
    """Read statements ending with ';' from stream and print each result; returns 1 if any failed. A line `.tables` or
    `.schema TABLE` lists the finance tables or a table's columns with their dbt descriptions. On a terminal, the
    prompt has line editing and a history kept in `history`."""
    interactive = stream.isatty()
    if interactive:
        _load_history(history)
    status, buffer = 0, ""
    while True:
        try:
            line = (input("finops> " if not buffer else "   ...> ") + "\n") if interactive else stream.readline()
        except EOFError:
            print()
            line = ""
        if not line:
            break
        if not buffer.strip() and line.strip().startswith("."):
            status |= dot_command(con, line.strip())
            continue
        buffer += line
        if buffer.strip().endswith(";"):
            status |= run_queries(con, buffer)
            buffer = ""
    if interactive:
        _save_history(history)
    if buffer.strip():
        status |= run_queries(con, buffer)
    return status


def dot_command(con: duckdb.DuckDBPyConnection, line: str) -> int:
    """`.tables`: the finance tables and what each holds; `.schema TABLE`: its columns, types and descriptions (the
    dbt descriptions of dbt_project/models/marts/_finance.yml)."""
    from warehouse.finance_tables import finance_table, finance_tables

    command, *args = line.split()
    if command == ".tables" and not args:
        sys.stdout.write(
            format_table(["table", "description"], [(t.table, t.description) for t in finance_tables()], 1000)
        )
        return EXIT_OK
    if command == ".schema" and len(args) == 1:
        name = args[0].removeprefix("finance.")
        table = finance_table(name)
        if table is None:
            names = ", ".join(t.table for t in finance_tables())
            print(f"finops sql: .schema {args[0]}: not a finance table (the tables: {names})", file=sys.stderr)
            return EXIT_GATE_FAILED
        described = dict(table.columns)
        types = con.execute(f"describe finance.{table.table}").fetchall()
        rows = [(column, kind, described.get(column, "")) for column, kind, *_ in types]
        sys.stdout.write(f"finance.{table.table}: {table.description}\n")
        sys.stdout.write(format_table(["column", "type", "description"], rows, 1000))
        return EXIT_OK
    print(
        f"finops sql: {line}: the commands are .tables and .schema TABLE (a statement ends with ';')", file=sys.stderr
    )
    return EXIT_GATE_FAILED


def _load_history(history: Path) -> None:
    import readline

    readline.set_history_length(1000)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)


def _save_history(history: Path) -> None:
    import readline

    with contextlib.suppress(OSError):
        history.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(history)
