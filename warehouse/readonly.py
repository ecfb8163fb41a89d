"""Read-only access to the published warehouse (what `finops sql`, the reports and finance use).

A read-only connection never blocks the pipeline: a run writes new files and swaps the published file
with a rename, so a connection keeps the catalog it opened until it reconnects.

It cannot change the warehouse or the file system either (docs/warehouse.md "Finance SQL"): the catalog is opened
read-only; DuckDB's external access is off but for the folder of the published partitions
(<warehouse>.data/tables/), which the catalog's views read; and the configuration is locked, so no statement can
switch that back. DuckDB still lets a statement write into a folder it may read (COPY ... TO a partition), so
`finops sql` runs only the statements DuckDB's own parser classifies as queries (QUERY_STATEMENTS)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TextIO

import duckdb

from core.config import data_dir_of
from core.layout import Layout
from core.sql_literals import sql_list

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
    """A Reader (warehouse/engines/__init__.py) on a read-only connection (connect_read_only)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def rows(self, sql: str, params: dict) -> list[dict]:
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}  # DuckDB refuses unused ones
        cursor = self.con.execute(sql, used)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self.con.close()


def run_queries(con: duckdb.DuckDBPyConnection, text: str, out: TextIO = sys.stdout) -> int:
    """Run the statements of `text` and print each result as a table; 1 on a SQL error or when a statement is not
    a query (then none of them runs)."""
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        print(f"finops sql: {exc}", file=sys.stderr)
        return 1
    refused = [s for s in statements if s.type not in QUERY_STATEMENTS]
    if refused:
        print(
            f"finops sql: refused {refused[0].type.name} statement: finops sql runs queries only (SELECT, WITH, "
            "SHOW, DESCRIBE, SUMMARIZE, PIVOT, USE, SET VARIABLE); it cannot write files, read other files, "
            "attach databases or change settings (docs/warehouse.md)",
            file=sys.stderr,
        )
        return 1
    for statement in statements:
        try:
            relation = con.sql(statement.query)
            if relation is not None:
                out.write(format_table(relation.columns, relation.fetchall()))
        except duckdb.Error as exc:
            print(f"finops sql: {exc}", file=sys.stderr)
            return 1
    return 0


def format_table(columns: list[str], rows: list[tuple], max_rows: int = 200) -> str:
    def cell(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, float):
            return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:g}"
        return str(value)

    shown = [[cell(v) for v in row] for row in rows[:max_rows]]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), "-+-".join("-" * w for w in widths)]
    lines += [
        " | ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown
    ]
    more = f"({len(rows)} rows, {max_rows} shown)" if len(rows) > max_rows else f"({len(rows)} rows)"
    return "\n".join(lines + [more]) + "\n"


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def run_shell(con: duckdb.DuckDBPyConnection, stream: TextIO) -> int:
    """Read statements ending with ';' from stream and print each result; returns 1 if any failed."""
    interactive = stream.isatty()
    status, buffer = 0, ""
    while True:
        if interactive:
            print("finops> " if not buffer else "   ...> ", end="", flush=True)
        line = stream.readline()
        if not line:
            break
        buffer += line
        if buffer.strip().endswith(";"):
            status |= run_queries(con, buffer)
            buffer = ""
    if buffer.strip():
        status |= run_queries(con, buffer)
    return status
