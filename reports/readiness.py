"""Is a week ready to report? Every one of its days must be published, its last run must have passed the quality
gate, and none may be partial (published before the day ended) unless the report is asked for with --allow-partial."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.config import Config
from core.layout import Layout
from expectations.quality_report import quality_report_path
from reports.week import IsoWeek
from warehouse.engines import engine_of
from warehouse.state import State, load_state


class WeekNotPublished(Exception):
    """Some days of the week are not in the published warehouse, or failed the gate; the report would be wrong."""

    def __init__(
        self, week: IsoWeek, days: list[date], failed: dict[date, str] | None = None, partial: list[date] = ()
    ):
        self.week, self.days, self.failed = week, days, failed or {}
        reasons = [
            f"{d.isoformat()} failed the quality gate (see {self.failed[d]})"
            if d in self.failed
            else f"{d.isoformat()} is partial (published before the day ended)"
            if d in partial
            else f"{d.isoformat()} not published"
            for d in days
        ]
        todo = "pass --allow-partial to report it as it is" if set(days) <= set(partial) else "fix the input"
        super().__init__(
            f"week {week} is not complete in the published warehouse: {'; '.join(reasons)} "
            f"({todo}, or run `finops backfill --from {days[0]} --to {days[-1]}`)"
        )


@dataclass(frozen=True)
class PriorWeek:
    """The week a report compares with: the ISO week before, compared only when its 7 days are published."""

    week: IsoWeek
    days_published: int

    @property
    def compared(self) -> bool:
        return self.days_published == 7

    @property
    def label(self) -> str:
        """'2026-W45', '2026-W45: 3 of 7 days, not compared', '2026-W45: no data'."""
        if self.compared:
            return str(self.week)
        if self.days_published == 0:
            return f"{self.week}: no data"
        return f"{self.week}: {self.days_published} of 7 days, not compared"


def published_state(cfg: Config) -> State:
    """The pipeline's state as published, through the engine (the DuckDB catalog's copy, or the Spark table's), or
    state.json when it is newer (warehouse/state.py load_state)."""
    return load_state(Layout.of(cfg), engine_of(cfg).published_state())


def prior_week(cfg: Config, week: IsoWeek) -> PriorWeek:
    """The week before `week`, with how many of its days are published (whatever their status)."""
    state = published_state(cfg)
    prior = week.prior
    return PriorWeek(prior, sum(day.isoformat() in state.days for day in prior.days))


def require_published(cfg: Config, week: IsoWeek, allow_partial: bool = False) -> list[date]:
    """Raises WeekNotPublished naming the days of `week` that finance cannot rely on. The pipeline's state
    records each day it published (with the fingerprint of its inputs and its status) and each day whose last run
    failed the gate: a day never built, or whose last build failed (even if an older build of it is published), is
    not ready; a failed day is named with its quality report; a partial day (published before it ended) is ready
    only with allow_partial. A day built with no calls is published (status empty: a quiet day is real data).
    Returns the week's partial days (allowed)."""
    state = published_state(cfg)
    partial = [day for day in week.days if state.status(day.isoformat()) == "partial"]
    days = [
        day
        for day in week.days
        if day.isoformat() not in state.days
        or day.isoformat() in state.failed_days
        or (day in partial and not allow_partial)
    ]
    if days:
        raise WeekNotPublished(
            week,
            days,
            {
                day: str(quality_report_path(cfg.reports_dir, day.isoformat()))
                for day in days
                if day.isoformat() in state.failed_days
            },
            partial,
        )
    return partial
