"""How figures are written, the same way in pages, emails and CSV files.

Money is a Decimal (DECIMAL(38,12) in the warehouse), rounded half-up only when shown: amounts to the cent,
unit costs (per task) under $1 to 1/100 cent (CSV files: always). A missing amount is never shown as $0:
NULL cost means unpriced."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENTS = 2
UNIT_COST_PLACES = 4
RATE_PLACES = 4  # ratios in CSV files: 0.1234 = 12.34%


def to_decimal(value: Decimal | float | int) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def rounded(value: Decimal | float | int, places: int) -> Decimal:
    return to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def usd(value: Decimal | float | int | None, places: int = CENTS, missing: str = "\u2014") -> str:
    """'$1,234.56', '-$3.20'; `missing` when there is no amount."""
    if value is None:
        return missing
    amount = rounded(value, places)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{places}f}"


def usd_unit(value: Decimal | float | int | None) -> str:
    """A unit cost: '$0.0532' under a dollar, '$15.00' from a dollar up."""
    if value is None:
        return "\u2014"
    return usd(value, UNIT_COST_PLACES if abs(to_decimal(value)) < 1 else CENTS)


def usd_signed(value: Decimal | float | int | None, places: int = CENTS) -> str:
    """'+$24.00', '-$3.20', '$0.00'."""
    if value is None:
        return "\u2014"
    amount = rounded(value, places)
    return ("+" if amount > 0 else "") + usd(amount, places)


def pct(ratio: float | Decimal | None, places: int = 1) -> str:
    """0.1234 -> '12.3%'."""
    if ratio is None:
        return "\u2014"
    return f"{rounded(to_decimal(ratio) * 100, places):,.{places}f}%"


def pct_signed(ratio: float | Decimal | None, places: int = 1, missing: str = "\u2014") -> str:
    """0.571 -> '+57.1%'; `missing` when there is no figure to compare with (prior week 0 or unpriced)."""
    if ratio is None:
        return missing
    value = rounded(to_decimal(ratio) * 100, places)
    return ("+" if value > 0 else "") + f"{value:,.{places}f}%"


def points_signed(change: float | None) -> str:
    """A change of share: 0.12 -> '+12.0 pts'."""
    if change is None:
        return "\u2014"
    value = rounded(to_decimal(change) * 100, 1)
    return ("+" if value > 0 else "") + f"{value:,.1f} pts"


def ratio_x(ratio: float | None) -> str:
    """1.776 -> '1.78x'; no ratio (zero baseline) -> 'new spend'."""
    return "new spend" if ratio is None else f"{rounded(ratio, 2)}\u00d7"


def count(value: int | None) -> str:
    return "\u2014" if value is None else f"{value:,}"


def count_of(value: int, noun: str) -> str:
    """(1, 'call') -> '1 call'; (1200, 'call') -> '1,200 calls'."""
    return f"{value:,} {noun}{'' if value == 1 else 's'}"


def day(value: date) -> str:
    """'Fri 20 Nov'."""
    return f"{value:%a} {value.day} {value:%b}"


def one_line(text: str) -> str:
    """A name from the data on one line: control characters (CR, LF, tab, ...) and runs of spaces become one
    space, so a name cannot break a plain-text table or start a new email header."""
    return re.sub(r"[\x00-\x20\x7f]+", " ", text).strip()
