"""How `finops sql` and `finops export` write a result (docs/spec.md#commands): `table` to read (money rounded to
cents), `csv`, `json` and `parquet` to process (exact: a DECIMAL(38,12) is written with its 12 decimals, as DuckDB
prints it).

Money is a column whose name ends in `_usd`, also inside an aggregate (`sum(cost_usd)`); unit prices
(`usd_per_million`, `usd_per_gpu_hour`) and shares are not money and are shown in full."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")
CENT = Decimal("0.01")


def is_money(column: str) -> bool:
    return column.rstrip(")").endswith("_usd")


def write_result(
    columns: Sequence[str], rows: list[tuple], arrow: Callable[[], pa.Table], fmt: str, out: Path | None, stdout: TextIO
) -> None:
    """Write one result in `fmt` to the file `out` (replaced whole: a reader never sees half of it) or to `stdout`
    (not for parquet). `arrow` gives the same result as an Arrow table, with its column types (for parquet)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        assert out is not None, "parquet is written to a file (--out)"
        _replace(out, "wb", lambda f: pq.write_table(arrow(), f))
        return
    text = {"table": format_table, "csv": format_csv, "json": format_json}[fmt](list(columns), rows)
    if out is None:
        stdout.write(text)
    else:
        _replace(out, "w", lambda f: f.write(text))


def _replace(path: Path, mode: str, write: Callable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(fd, mode, encoding=None if "b" in mode else "utf-8", newline=None if "b" in mode else "") as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def exact_text(value: object) -> str:
    """A value as text, exactly (CSV): NULL is empty, a DECIMAL keeps its scale (0.004500000000, never 4.5E-3)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def format_csv(columns: list[str], rows: list[tuple]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([exact_text(v) for v in row] for row in rows)
    return text.getvalue()


def format_json(columns: list[str], rows: list[tuple]) -> str:
    """A JSON array of objects; a DECIMAL as a string of its exact digits (a JSON number is read as a float by most
    tools), dates and times in ISO 8601."""

    def value(v: object) -> object:
        if isinstance(v, Decimal | datetime | date | time):
            return exact_text(v)
        return v

    records = [dict(zip(columns, (value(v) for v in row), strict=True)) for row in rows]
    return json.dumps(records, indent=1, default=str) + "\n"


def format_table(columns: list[str], rows: list[tuple], max_rows: int = 200) -> str:
    """An aligned table to read: money rounded to cents (half up), numbers right-aligned, at most `max_rows` rows."""
    money = [is_money(c) for c in columns]

    def cell(value: object, is_money_column: bool) -> str:
        if value is None:
            return "NULL"
        if is_money_column and isinstance(value, Decimal | float | int) and not isinstance(value, bool):
            return str(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))
        if isinstance(value, float):
            return f"{value:.6f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:g}"
        return str(value)

    shown = [[cell(v, m) for v, m in zip(row, money, strict=True)] for row in rows[:max_rows]]
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
