"""Budget alerts after each publish (`finops run` / `backfill`, and the Dagster budget_alerts asset).

For each [[budgets]] entry and each of its alert_at levels that the budget's spend or its forecast has reached in
the month of the latest published day (finance.budget_status_daily), one alert a month: an email to the budget's
owner through [smtp], and a POST of {"text": ...} to [alerts] webhook_url (with `Authorization: Bearer <token>`
when token_env names an environment variable). Each goes out once, with the send-once guarantees of the
chargeback emails (reports/mailer.py): the alert's log, outbox/alerts/<YYYY-MM>/<budget>-<level>.jsonl (a SendLog,
keyed by the owner's address and by the webhook URL), records each send before it goes and its outcome after; an
accepted or unconfirmed send is never repeated, a failed one is tried again after the next publish. The email is
kept beside its log as <budget>-<level>.eml."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from core.config import SCHEMA, Alerts, Budget, Config, ConfigError
from core.files import write_atomically
from reports.chargeback import header_safe
from reports.formatting import usd
from reports.mailer import SendLog, SendResult, send_all, smtp_credentials
from warehouse.engines import Reader, engine_of

log = logging.getLogger("finops")

DEFAULT_SENDER = SCHEMA["smtp"]["from"][1]


@dataclass(frozen=True)
class Alert:
    """A level of a budget reached in a month, by its spend or (before that) by its forecast."""

    budget: Budget
    level: float  # a share of the budget
    status: dict  # the budget's finance.budget_status_daily row of the latest published day

    @property
    def month(self) -> str:
        return self.status["month"].strftime("%Y-%m")

    @property
    def by(self) -> str:
        return "spend" if self.status["spent_share"] >= self.level else "forecast"

    @property
    def name(self) -> str:
        """'search-80': the file names of its log and email."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.budget.name.lower()).strip("-") or "budget"
        return f"{slug}-{round(self.level * 100)}"

    @property
    def subject(self) -> str:
        return f"Budget {self.budget.name}: {self.level:.0%} of {usd(self.status['budget_usd'])} reached by {self.by}, {self.month}"

    @property
    def text(self) -> str:
        s = self.status
        return (
            f"{self.subject}. Spent {usd(s['spent_usd'])} ({s['spent_share']:.0%}) to {s['as_of_date']}; "
            f"forecast for the month {usd(s['forecast_month_usd'])} ({s['forecast_share']:.0%}); status {s['status']}."
        )


@dataclass
class AlertOutcome:
    alerts: list[Alert] = field(default_factory=list)
    sends: list[SendResult] = field(default_factory=list)

    @property
    def failed_sends(self) -> list[SendResult]:
        return [s for s in self.sends if s.status in ("failed", "unconfirmed")]


def budget_status(con: Reader) -> dict[str, dict]:
    """budget -> its finance.budget_status_daily row of the latest published day."""
    rows = con.rows(
        """select * from budget_status_daily
           where as_of_date = (select max(as_of_date) from budget_status_daily)""",
        {},
    )
    return {row["budget"]: row for row in rows}


def reached(budgets: tuple[Budget, ...], status: dict[str, dict]) -> list[Alert]:
    """Every level of every budget that its spend or its forecast has reached."""
    return [
        Alert(budget, level, status[budget.name])
        for budget in budgets
        if budget.name in status
        for level in budget.alert_at
        if max(status[budget.name]["spent_share"], status[budget.name]["forecast_share"]) >= level
    ]


def send_budget_alerts(cfg: Config, now: datetime | None = None) -> AlertOutcome:
    """Announce each reached level not announced before this month (module docstring). Raises ConfigError when a
    login or token variable is not set, before anything is sent."""
    if not cfg.budgets:
        return AlertOutcome()
    now = now or datetime.now(UTC)
    credentials = smtp_credentials(cfg.smtp) if cfg.smtp else None
    token = webhook_token(cfg.alerts)
    con = engine_of(cfg).reader()
    try:
        alerts = reached(cfg.budgets, budget_status(con))
    finally:
        con.close()
    owners = {owner.name: owner for owner in cfg.owners}
    sender = cfg.smtp.sender if cfg.smtp else DEFAULT_SENDER
    outcome = AlertOutcome(alerts)
    for alert in alerts:
        folder = cfg.outbox_dir / "alerts" / alert.month
        folder.mkdir(parents=True, exist_ok=True)
        alert_log = SendLog(folder / f"{alert.name}.jsonl")
        message_id = f"<finops.budget.{alert.month}.{alert.name}@{sender.rpartition('@')[2] or 'localhost'}>"
        owner = owners.get(alert.budget.owner)
        if owner is not None:
            message = alert_email(alert, owner.name, owner.email, sender, now, message_id)
            eml = folder / f"{alert.name}.eml"
            if not eml.exists():
                write_atomically(eml, bytes(message))
            if cfg.smtp:
                outcome.sends += send_all(cfg.smtp, credentials, [(message, eml)], alert_log)
        if cfg.alerts.webhook_url:
            outcome.sends.append(post_once(cfg.alerts, token, alert, alert_log, message_id))
    for sent in outcome.sends:
        log.info("budget alert to %s: %s %s", sent.to, sent.status, sent.detail)
    return outcome


def alert_email(alert: Alert, name: str, to: str, sender: str, now: datetime, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = header_safe(alert.subject)
    message["From"] = sender
    message["To"] = Address(display_name=header_safe(name), addr_spec=to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["X-Finops-Budget"] = header_safe(alert.budget.name)
    message.set_content(
        alert.text
        + "\n\nThis alert is sent once a month per level; finance.budget_status_daily has the daily figures.\n"
    )
    return message


def webhook_token(alerts: Alerts) -> str | None:
    """The bearer token from the environment variable [alerts] token_env names; None when none is named."""
    if not alerts.token_env:
        return None
    if alerts.token_env not in os.environ:
        raise ConfigError(f"[alerts] token_env names the environment variable {alerts.token_env}, which is not set")
    return os.environ[alerts.token_env]


def post_once(alerts: Alerts, token: str | None, alert: Alert, alert_log: SendLog, message_id: str) -> SendResult:
    """POST the alert's text to the webhook unless its log says it was accepted or may have been (unconfirmed).
    A refused connection or an HTTP error status certainly did not deliver it (failed: tried again next time); a
    connection lost after the request was sent may have (unconfirmed: never sent again)."""
    url = alerts.webhook_url
    eml = alert_log.path
    last = alert_log.last_sends().get(url)
    if last is not None and last.outcome == "accepted":
        return SendResult(url, eml, "already sent", f"accepted {last.at}")
    if last is not None and last.outcome == "unconfirmed":
        return SendResult(url, eml, "unconfirmed", f"posted {last.at}, its answer not recorded; not posted again")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps({"text": alert.text}).encode("utf-8"), headers=headers, method="POST"
    )
    alert_log.record("attempt", to=url, eml=eml.name, message_id=message_id, server=url)
    try:
        with urllib.request.urlopen(request, timeout=alerts.timeout_seconds) as response:
            response.read()
    except urllib.error.HTTPError as exc:  # the server answered: it did not take it
        alert_log.record("failed", to=url, message_id=message_id, error=f"HTTP {exc.code}")
        return SendResult(url, eml, "failed", f"HTTP {exc.code}")
    except urllib.error.URLError as exc:  # no connection, or the request could not be sent whole
        alert_log.record("failed", to=url, message_id=message_id, error=str(exc.reason))
        return SendResult(url, eml, "failed", str(exc.reason))
    except (OSError, http.client.HTTPException) as exc:  # sent, then no answer: it may have arrived
        return SendResult(url, eml, "unconfirmed", f"posted, then {type(exc).__name__}: {exc}")
    alert_log.record("accepted", to=url, message_id=message_id, server=url)
    return SendResult(url, eml, "sent")
