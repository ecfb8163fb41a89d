"""The allowed range of a numeric config key (core/config.py checks every number against its Bounds)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """The values a numeric key allows: low <= value <= high (low < value when low_excluded). A number is never
    nan or inf (TOML can write both)."""

    low: float
    high: float = math.inf
    low_excluded: bool = False

    def allow(self, value: float) -> bool:
        above = value > self.low if self.low_excluded else value >= self.low
        return math.isfinite(value) and above and value <= self.high

    def __str__(self) -> str:
        low = f"> {self.low:g}" if self.low_excluded else f">= {self.low:g}"
        return low if self.high == math.inf else f"{low} and <= {self.high:g}"


PORT = Bounds(1, 65535)
