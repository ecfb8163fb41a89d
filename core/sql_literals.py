"""SQL literals for the statements we build for DuckDB (paths and names inside generated SQL)."""

from __future__ import annotations

from pathlib import Path


def sql_str(value: str | Path) -> str:
    """A single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values: list[str | Path]) -> str:
    """A list literal of strings, e.g. the files of one read_parquet([...])."""
    return "[" + ", ".join(sql_str(v) for v in values) + "]"
