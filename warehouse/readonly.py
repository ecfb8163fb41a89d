"""Read-only access to the published warehouse (what `finops sql` and finance use).

A read-only connection never blocks the pipeline: a run writes new files and swaps the published file
with a rename, so a connection keeps the catalog it opened until it reconnects."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import duckdb


class WarehouseMissing(Exception):
    """No warehouse has been published at the configured path yet."""


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise WarehouseMissing(f"{path}: no published warehouse yet (run `finops run` or `finops backfill` first)")
    return duckdb.connect(str(path), read_only=True)


def print_result(con: duckdb.DuckDBPyConnection, query: str, out: TextIO = sys.stdout) -> int:
    """Run one query and print its rows as a table; 1 on a SQL error."""
    try:
        relation = con.sql(query)
    except duckdb.Error as exc:
        print(f"finops sql: {exc}", file=sys.stderr)
        return 1
    if relation is not None:
        out.write(format_table(relation.columns, relation.fetchall()))
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
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths)) for r in shown]
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
            status |= print_result(con, buffer)
            buffer = ""
    if buffer.strip():
        status |= print_result(con, buffer)
    return status
