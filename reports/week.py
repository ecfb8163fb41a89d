"""ISO weeks (`--week 2026-W47`): Monday to Sunday, UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = re.fullmatch(r"(\d{4})-W(\d{2})", text)
        if not match:
            raise ValueError(f"'{text}' is not an ISO week YYYY-Www (e.g. 2026-W47)")
        year, week = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"'{text}': {year} has no ISO week {week}") from None
        return cls(year, week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def last_complete(cls, today: date | None = None) -> IsoWeek:
        """The last ISO week that has ended (UTC): on any day of a week, the week before it."""
        today = today or datetime.now(UTC).date()
        return cls.of(today - timedelta(days=today.isoweekday()))

    @property
    def start(self) -> date:
        """The Monday."""
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> date:
        """The Monday after (exclusive)."""
        return self.start + timedelta(days=7)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(7)]

    @property
    def prior(self) -> IsoWeek:
        return IsoWeek.of(self.start - timedelta(days=7))

    @property
    def span(self) -> str:
        """'16-22 Nov 2026' (or '28 Dec 2026 - 3 Jan 2027' across months)."""
        first, last = self.start, self.end - timedelta(days=1)
        if first.month == last.month:
            return f"{first.day}\u2013{last.day} {last:%b %Y}"
        if first.year == last.year:
            return f"{first.day} {first:%b} \u2013 {last.day} {last:%b %Y}"
        return f"{first.day} {first:%b %Y} \u2013 {last.day} {last:%b %Y}"

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"
