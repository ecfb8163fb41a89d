"""A table shown in a report: its columns (what each holds and how it is written) and its rows.

One Table is rendered into the page or email (formatted text) and written as a CSV file (plain numbers for a
spreadsheet), so the page and the CSV always hold the same figures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from reports import formatting as fmt

# kind -> how a cell is shown in a page or an email
DASH = "\u2014"
SHOWN = {
    "text": lambda v: "" if v is None else str(v),
    "date": lambda v: DASH if v is None else fmt.day(v),
    "datetime": lambda v: DASH if v is None else f"{v:%Y-%m-%d %H:%M} UTC",
    "usd": lambda v: fmt.usd(v, missing="unpriced"),  # NULL money is unpriced usage, never $0
    "usd_unit": fmt.usd_unit,
    "usd_signed": fmt.usd_signed,
    "usd_billed": lambda v: fmt.usd(v, missing="awaiting bill"),  # NULL billed: the vendor has not billed it yet
    "pct": fmt.pct,
    "pct_signed": fmt.pct_signed,
    "points_signed": fmt.points_signed,
    "ratio_x": fmt.ratio_x,
    "count": fmt.count,
    "bool": lambda v: DASH if v is None else ("yes" if v else "no"),
}
NUMERIC = {"usd", "usd_billed", "usd_unit", "usd_signed", "pct", "pct_signed", "points_signed", "ratio_x", "count"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(kind: str, value: object) -> object:
    """A cell as written to CSV: numbers as plain numbers, NULL as an empty cell."""
    if value is None:
        return ""
    if kind in ("usd", "usd_billed", "usd_signed"):
        return str(fmt.rounded(value, fmt.CENTS))
    if kind == "usd_unit":
        return str(fmt.rounded(value, fmt.UNIT_COST_PLACES))
    if kind in ("pct", "pct_signed", "points_signed", "ratio_x"):
        return str(fmt.rounded(value, fmt.RATE_PLACES))
    if kind in ("date", "datetime"):
        return value.isoformat() if isinstance(value, (date, datetime)) else str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "text":
        text = str(value)
        # a name from the data must not run as a spreadsheet formula (CSV injection)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return value


@dataclass(frozen=True)
class Column:
    key: str  # the row key, and the CSV header
    title: str  # the header in a page or email
    kind: str = "text"

    def shown(self, row: dict) -> str:
        return SHOWN[self.kind](row[self.key])

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Table:
    name: str  # the CSV file is <name>.csv
    title: str
    columns: list[Column]
    rows: list[dict]
    empty: str = "None this week."
    note: str = ""

    def csv_text(self, week: str) -> str:
        """The rows as CSV, the ISO week first on every row (files of several weeks can be appended)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["week"] + [c.key for c in self.columns])
        for row in self.rows:
            writer.writerow([week] + [csv_cell(c.kind, row[c.key]) for c in self.columns])
        return out.getvalue()

    def text(self) -> str:
        """The table as aligned plain text (the plain-text part of an email)."""
        cells = [[c.title for c in self.columns]] + [
            [fmt.one_line(c.shown(r)) for c in self.columns] for r in self.rows
        ]
        widths = [max(len(line[i]) for line in cells) for i in range(len(self.columns))]
        lines = []
        for n, line in enumerate(cells):
            lines.append(
                "  ".join(
                    v.rjust(w) if c.numeric and n else v.ljust(w)
                    for v, w, c in zip(line, widths, self.columns, strict=True)
                ).rstrip()
            )
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)
