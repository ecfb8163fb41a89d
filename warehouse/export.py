"""`finops export TABLE`: a finance table's rows, for the days asked, to a CSV or Parquet file (docs/spec.md#commands).
Rows are read on the read-only connection `finops sql` uses and written exactly (warehouse/sql_output.py); the
day column of each table is its meta.finance.date_column (warehouse/finance_tables.py), a table without one is
written whole."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb

from warehouse.finance_tables import FinanceTable
from warehouse.sql_output import write_result


def export_table(
    con: duckdb.DuckDBPyConnection, table: FinanceTable, start: date | None, end: date | None, fmt: str, out: Path
) -> int:
    """Write finance.<table>'s rows whose date column is in [start, end] (both days included) to `out`; the number of
    rows written."""
    where, params = "", {}
    if table.date_column is not None and start is not None and end is not None:
        where = f"where {table.date_column} >= $start and {table.date_column} < $after"
        params = {"start": start, "after": end + timedelta(days=1)}
    relation = con.sql(f"select * from finance.{table.table} {where} order by all", params=params)
    rows = relation.fetchall()
    write_result(relation.columns, rows, relation.fetch_arrow_table, fmt, out, sys.stdout)
    return len(rows)
