"""Send the chargeback emails through [smtp], at most once per owner and week.

Each message gets its own connection: STARTTLS and login when configured (credentials only from the
environment variables the config names), a timeout, and up to MAX_ATTEMPTS tries on transient failures
(4xx replies, dropped or refused connections, timeouts). A message the server accepted is recorded in the
week's send log (outbox/<week>/send_log.jsonl); a later run does not send it again unless resend is set."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

from finops.config import ConfigError, Smtp

log = logging.getLogger("finops")

TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 1.0   # before the 2nd try; doubled before each next one


@dataclass(frozen=True)
class SendResult:
    to: str
    eml: Path
    status: str             # sent | already sent | failed
    detail: str = ""


def smtp_credentials(smtp: Smtp) -> tuple[str, str] | None:
    """(user, password) from the environment variables named in [smtp]; None when no login is configured."""
    if not smtp.username_env:
        return None
    missing = [name for name in (smtp.username_env, smtp.password_env) if name and name not in os.environ]
    if missing:
        raise ConfigError(f"[smtp] login is configured but the environment variable(s) {', '.join(missing)} "
                          f"are not set")
    return os.environ[smtp.username_env], os.environ[smtp.password_env] if smtp.password_env else ""


class SendLog:
    """One JSON line per message the server accepted: to, eml, message_id, accepted_at, server."""

    def __init__(self, path: Path):
        self.path = path

    def accepted(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        entries = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
        return {e["to"]: e for e in entries}

    def record(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def is_transient(exc: BaseException) -> bool:
    """Worth another try: a 4xx reply, a dropped, refused or timed-out connection. Not: 5xx, TLS errors."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, (ssl.SSLError, smtplib.SMTPNotSupportedError)):
        return False
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError))


def deliver(smtp: Smtp, credentials: tuple[str, str] | None, message: EmailMessage) -> None:
    """One message, one connection, retried on transient failures; raises the last error."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS) as server:
                if smtp.starttls:
                    server.starttls(context=ssl.create_default_context())
                if credentials:
                    server.login(*credentials)
                server.send_message(message)
            return
        except (smtplib.SMTPException, OSError) as exc:
            if attempt == MAX_ATTEMPTS or not is_transient(exc):
                raise
            wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning("sending to %s: %s; try %d of %d in %.0fs", message["To"], describe(exc), attempt + 1,
                        MAX_ATTEMPTS, wait)
            time.sleep(wait)


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {error}"
    return f"{type(exc).__name__}: {exc}"


def send_all(smtp: Smtp, credentials: tuple[str, str] | None, messages: list[tuple[EmailMessage, Path]],
             send_log: SendLog, resend: bool = False) -> list[SendResult]:
    """`credentials`: smtp_credentials(smtp), read before anything was written."""
    accepted = send_log.accepted()
    results = []
    for message, eml in messages:
        to = message["To"].addresses[0].addr_spec
        if to in accepted and not resend:
            results.append(SendResult(to, eml, "already sent", f"accepted {accepted[to]['accepted_at']}"))
            continue
        try:
            deliver(smtp, credentials, message)
        except (smtplib.SMTPException, OSError) as exc:
            log.error("could not send %s to %s: %s", eml.name, to, describe(exc))
            results.append(SendResult(to, eml, "failed", describe(exc)))
            continue
        send_log.record({"to": to, "eml": eml.name, "message_id": message["Message-ID"],
                         "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         "server": f"{smtp.host}:{smtp.port}"})
        results.append(SendResult(to, eml, "sent"))
    return results
