"""Is a week ready to report? Every one of its days must be in the published warehouse."""

from __future__ import annotations

from datetime import date

from finops.config import Config
from reports.week import IsoWeek
from warehouse.layout import Layout
from warehouse.state import State


class WeekNotPublished(Exception):
    """Some days of the week are not in the published warehouse; the report would be wrong."""

    def __init__(self, week: IsoWeek, days: list[date]):
        self.week, self.days = week, days
        super().__init__(f"week {week} is not complete in the published warehouse: "
                         f"{', '.join(d.isoformat() for d in days)} not published "
                         f"(run `finops backfill --from {days[0]} --to {days[-1]}` first)")


def unpublished_days(cfg: Config, week: IsoWeek) -> list[date]:
    """The days of `week` that are not in the published warehouse. The pipeline's state records each day it
    published (with the fingerprint of its inputs); a day never built, or whose builds all failed the gate,
    is not there. A day built with no calls is published (a quiet day is real data)."""
    published = State.load(Layout.of(cfg).state_file).days
    return [day for day in week.days if day.isoformat() not in published]
