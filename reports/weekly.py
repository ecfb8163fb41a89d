"""`finops report` and the Dagster weekly_report asset: the week's pages, CSV files and chargeback emails.

reports.dir/<YYYY-Www>/showback.html, anomalies.html, <table>.csv
reports.outbox/<YYYY-Www>/<owner>.eml, send_log.jsonl
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.config import SCHEMA, Config
from core.files import write_atomically
from reports import figures as fig
from reports.chargeback import chargeback_email, message_id, owner_week
from reports.figures import Scope
from reports.mailer import SendLog, SendResult, send_all, smtp_credentials
from reports.pages import anomalies_page, showback_page
from reports.readiness import prior_week, require_published
from reports.rent_vs_api import rent_vs_api_page
from reports.week import IsoWeek
from warehouse.engines import engine_of

log = logging.getLogger("finops")

DEFAULT_SENDER = SCHEMA["smtp"]["from"][1]  # the From of the outbox emails when no [smtp] is configured


@dataclass
class ReportOutcome:
    week: IsoWeek
    pages: list[Path]
    csv_files: list[Path]
    emails: list[Path]
    sends: list[SendResult] = field(default_factory=list)

    @property
    def failed_sends(self) -> list[SendResult]:
        """The emails not sent: failed, or unconfirmed (they may have arrived; sent again only when asked)."""
        return [s for s in self.sends if s.status in ("failed", "unconfirmed")]


def write_file(path: Path, data: bytes) -> Path:
    """Write beside, then rename: a reader never sees half a page or email."""
    write_atomically(path, data)
    return path


def run_weekly_report(
    cfg: Config,
    week: IsoWeek,
    resend: Collection[str] = (),
    now: datetime | None = None,
    allow_partial: bool = False,
) -> ReportOutcome:
    """Write the week's pages, CSV files and emails, and send the emails when [smtp] is configured: each once
    (reports/mailer.py); `resend`: the owners' addresses whose email is sent again even if it was accepted or is
    unconfirmed; allow_partial (`--allow-partial`): a week with a partial day is reported, the page and the emails
    naming that day.

    Raises WeekNotPublished (naming the days) when a day of the week is not in the published warehouse, its
    last run failed the gate or it is partial (without allow_partial), WarehouseMissing when nothing is
    published, ConfigError when the SMTP login variables are not set."""
    now = now or datetime.now(UTC)
    # a missing login variable fails before anything is written
    credentials = smtp_credentials(cfg.smtp) if cfg.smtp else None
    con = engine_of(cfg).reader()
    try:
        partial_days = [day.isoformat() for day in require_published(cfg, week, allow_partial)]
        prior = prior_week(cfg, week)
        bill = fig.whole_bill(con, week, compared=prior.compared)
        owners = [
            owner_week(
                con, week, prior, owner, bill, partial_days, tuple(b.name for b in cfg.budgets if b.owner == owner.name)
            )
            for owner in cfg.owners
        ]
        flagged = fig.anomalies(con, week, Scope.all())  # both pages show them: fetched once
        premium_models = fig.premium_model_names(con, week)
        pages = [
            showback_page(
                con,
                cfg,
                week,
                prior,
                now,
                bill,
                [(r.owner, r.summary) for r in owners],
                flagged,
                premium_models,
                partial_days,
            ),
            anomalies_page(con, cfg, week, now, flagged, premium_models),
            rent_vs_api_page(con, cfg, week, now),
        ]
    finally:
        con.close()

    folder = cfg.reports_dir / str(week)
    folder.mkdir(parents=True, exist_ok=True)
    page_files = [write_file(folder / f"{p.name}.html", p.html.encode("utf-8")) for p in pages]
    csv_files = [
        write_file(folder / f"{t.name}.csv", t.csv_text(str(week)).encode("utf-8")) for p in pages for t in p.tables
    ]

    outbox = cfg.outbox_dir / str(week)
    outbox.mkdir(parents=True, exist_ok=True)
    sender = cfg.smtp.sender if cfg.smtp else DEFAULT_SENDER
    send_log = SendLog(outbox / "send_log.jsonl")
    messages = []
    for report in owners:
        again = report.owner.email in resend
        message = chargeback_email(
            report,
            sender,
            now,
            send_log.message_id(
                report.owner.email, again, lambda number, report=report: message_id(report, sender, number)
            ),
        )
        messages.append((message, write_file(outbox / f"{report.file_stem}.eml", bytes(message))))
    outcome = ReportOutcome(week, page_files, csv_files, [eml for _, eml in messages])
    if cfg.smtp and messages:
        outcome.sends = send_all(cfg.smtp, credentials, messages, send_log, resend=resend)
    log.info(
        "report %s: %d page(s), %d CSV file(s), %d email(s) in %s",
        week,
        len(page_files),
        len(csv_files),
        len(messages),
        outbox,
    )
    return outcome


def print_outcome(outcome: ReportOutcome) -> None:
    """What `finops report` (and `finops demo`) print: every file written, and what happened to each email."""
    sends = {s.eml: s for s in outcome.sends}
    print(f"report {outcome.week} ({outcome.week.span}):")
    for path in outcome.pages + outcome.csv_files:
        print(f"  {path}  ({path.stat().st_size:,} bytes)")
    for eml in outcome.emails:
        sent = sends.get(eml)
        status = (
            "written; not sent (no [smtp] configured)"
            if sent is None
            else sent.status + (f" ({sent.detail})" if sent.detail else "")
        )
        print(f"  {eml}  ({eml.stat().st_size:,} bytes): {status}")
    failed = [s.to for s in outcome.sends if s.status == "failed"]
    if failed:
        print(f"{len(failed)} email(s) could not be sent; run the report again to retry them")
    unconfirmed = [s.to for s in outcome.sends if s.status == "unconfirmed"]
    if unconfirmed:
        print(
            f"{len(unconfirmed)} email(s) unconfirmed: handed to the SMTP server but its acceptance was not "
            f"recorded, so they may have been delivered: {', '.join(unconfirmed)}. They are not sent again: ask "
            f"the owner (or check the mail server's log); to send them again under the same Message-ID, run "
            f"`finops report --week {outcome.week} --resend {' '.join(unconfirmed)}`"
        )
