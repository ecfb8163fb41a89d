"""One table of an HTML page (a provider's pricing page, a GPU cloud's price list), read with BeautifulSoup:
found by a CSS selector or by the heading it follows, its columns picked by their header text, and its price
cells parsed ("$3.00", "$3 / MTok", "$0.003 per 1K tokens", "$2.49/hr").

A page whose table or columns are no longer there raises PayloadError saying what was expected and found."""

from __future__ import annotations

import re
from decimal import Decimal

from bs4 import BeautifulSoup, Tag

from ingest.payload import PayloadError

NO_PRICE = {"", "-", "--", "—", "–", "n/a", "na", "not available", "not supported", "contact sales", "contact us"}
_NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?)"


def normalise_text(text: str) -> str:
    """Whitespace collapsed (non-breaking spaces too), stripped."""
    return " ".join(text.split())


def find_table(html: bytes, *, selector: str | None = None, heading: str | None = None) -> Tag:
    """The table a CSS selector names (or the first table inside the element it names), or the first table
    after the first heading (h1-h6) whose text contains `heading` (case-insensitive)."""
    soup = BeautifulSoup(html, "html.parser")
    if selector:
        found = soup.select_one(selector)
        if found is None:
            raise PayloadError(f"no element matches the CSS selector '{selector}'")
        table = found if found.name == "table" else found.find("table")
        if table is None:
            raise PayloadError(f"the element matching '{selector}' holds no table")
        return table
    want = normalise_text(heading or "").casefold()
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        if want in normalise_text(tag.get_text(" ")).casefold():
            table = tag.find_next("table")
            if table is None:
                raise PayloadError(f"no table after the heading '{normalise_text(tag.get_text(' '))}'")
            return table
    raise PayloadError(f"no heading (h1-h6) contains '{heading}'")


def _grid(table: Tag) -> list[list[tuple[str, bool]]]:
    """The table's rows as (cell text, is a <th>) lists, with rowspan and colspan cells repeated in each
    row and column they cover. Rows of nested tables are not the table's rows."""
    grid: list[list[tuple[str, bool]]] = []
    carried: dict[int, tuple[int, tuple[str, bool]]] = {}  # column -> (rows still covered, cell)
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        cells = iter(tr.find_all(["td", "th"], recursive=False))
        row: list[tuple[str, bool]] = []
        col = 0
        while True:
            if col in carried:
                left, cell = carried[col]
                row.append(cell)
                carried[col] = (left - 1, cell)
                if left - 1 == 0:
                    del carried[col]
                col += 1
                continue
            td = next(cells, None)
            if td is None:
                break
            cell = (normalise_text(td.get_text(" ")), td.name == "th")
            span = _span(td, "colspan")
            down = _span(td, "rowspan")
            for _ in range(span):
                if down > 1:
                    carried[col] = (down - 1, cell)
                row.append(cell)
                col += 1
        grid.append(row)
    return grid


def _span(td: Tag, attr: str) -> int:
    value = str(td.get(attr, "1")).strip()
    return max(1, min(int(value), 1000)) if value.isdigit() else 1


def read_columns(table: Tag, columns: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    """The table's data rows as (row number, {field: cell text}), for `columns` = {field: header text}.
    The header is the first row; a header text matches a column case- and whitespace-insensitively.
    Rows made only of <th> cells (sub-headings inside the table) and empty rows are left out."""
    grid = [row for row in _grid(table) if row]
    if not grid:
        raise PayloadError("the table has no rows")
    header = [text.casefold() for text, _ in grid[0]]
    index = {}
    for field, title in columns.items():
        want = normalise_text(title).casefold()
        if want not in header:
            found = ", ".join(repr(text) for text, _ in grid[0])
            raise PayloadError(f"no column '{title}' in the table header (found: {found})")
        index[field] = header.index(want)
    out = []
    for number, row in enumerate(grid[1:], start=1):
        if all(is_th for _, is_th in row) or not any(text for text, _ in row):
            continue
        out.append((number, {field: row[i][0] if i < len(row) else "" for field, i in index.items()}))
    return out


def parse_token_price(text: str, default_unit: str) -> Decimal | None:
    """A price cell as USD per million tokens: "$3.00" (in `default_unit`: "1M" or "1K"), "$3 / MTok",
    "$0.30 per 1M tokens", "$0.003 / 1K tokens", "Free" (0). None for an empty cell or a dash / "n/a"."""
    t = normalise_text(text).casefold()
    if t in NO_PRICE:
        return None
    if t == "free":
        return Decimal(0)
    value = _one_amount(text, t)
    if re.search(r"mtok|\b1\s?m\b|million|/\s*m\b", t):
        unit = "1M"
    elif re.search(r"ktok|\b1\s?k\b|thousand|/\s*k\b", t):
        unit = "1K"
    else:
        unit = default_unit
    return value * (1000 if unit == "1K" else 1)


def parse_hourly_price(text: str) -> Decimal | None:
    """A GPU price cell in USD per hour: "$2.49", "$2.49/hr", "$2.49 per GPU/hour". None for a dash / "n/a"."""
    t = normalise_text(text).casefold()
    if t in NO_PRICE:
        return None
    if re.search(r"/\s*(mo|month|day|yr|year|week|min)\b|per\s+(month|day|year|week|minute)", t):
        raise PayloadError(f"{text!r} is not a price per hour")
    return _one_amount(text, t)


def parse_count(text: str) -> int | None:
    """The first whole number of a cell ("8", "8x", "8 GPUs", "80 GB"); None when there is none."""
    m = re.search(r"\d+", text)
    return int(m.group()) if m else None


def _one_amount(text: str, folded: str) -> Decimal:
    dollars = re.findall(r"\$\s*" + _NUMBER, folded)
    if len(dollars) > 1:
        raise PayloadError(f"{text!r} holds {len(dollars)} prices, expected one")
    if dollars:
        return Decimal(dollars[0].replace(",", ""))
    bare = re.fullmatch(r"(?:usd\s*)?" + _NUMBER + r"(?:\s*usd)?(?:\s*(?:/|per)\s*.*)?", folded)
    if bare is None:
        raise PayloadError(f"{text!r} is not a price")
    return Decimal(bare.group(1).replace(",", ""))
