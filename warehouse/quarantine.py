"""The quarantined usage records of some usage days, read from the staging area (<warehouse>.data/staged/quarantine/),
so they can be seen even when nothing was published (a failed gate): the quality report of a run and
`finops quarantine --date D` read them here.

The records of a set of days are those of the usage files the quality gate checks for a build of those days
(warehouse/build.py checked_usage_files): every file holding accepted records of one of the days, and every file
holding quarantined records but no accepted one. Both engines stage a file's quarantine at the same place (DuckDB: a
Parquet file; Spark: a folder of Parquet parts), and DuckDB reads either."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from core.layout import Layout
from core.sql_literals import sql_list
from warehouse.build import checked_usage_files
from warehouse.state import State

COLUMNS = ("file", "line", "reason", "raw")  # what `finops quarantine` prints, in this order


@dataclass(frozen=True)
class QuarantinedRecord:
    file: str
    line: int | None  # NULL: a file that could not be read whole, with no line to name
    reason: str
    raw: str | None  # NULL: a file that could not be read whole


def quarantined_records(layout: Layout, state: State, days: list[str]) -> list[QuarantinedRecord]:
    """Every record quarantined from the usage files checked for these days, by file and line."""
    names = [row[0] for row in checked_usage_files(state, days) if row[2]]
    paths = []
    for name in names:
        path = layout.quarantine_file(state.files[name].key)
        paths.append(str(path / "*.parquet") if path.is_dir() else str(path))  # Spark: a folder of parts
    if not paths:
        return []
    with duckdb.connect() as con:
        rows = con.execute(f"""select file, line_no, reason, raw
                               from read_parquet({sql_list(paths)}, union_by_name = true)
                               order by file, line_no nulls first, reason""").fetchall()
    return [QuarantinedRecord(*row) for row in rows]
