"""Send the chargeback emails through [smtp], each at most once per owner and week.

Each message gets its own connection: STARTTLS and login when configured (credentials only from the
environment variables the config names), a timeout, and up to MAX_ATTEMPTS tries on failures that certainly
come before the server accepted it (a 4xx reply, a dropped, refused or timed-out connection before the message
was handed over). A message the server accepted (250 to its DATA) is sent, whatever the server answers next
(a 421 to QUIT). The week's send log (outbox/<week>/send_log.jsonl) records each send before the message goes
out and its outcome after; a message handed over with no reply (the connection dropped, or finops was killed)
is unconfirmed: it may have arrived, so it is never sent again unless asked (resend), and then under the same
Message-ID (docs/reports.md "Sending")."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from core.config import ConfigError, Smtp

log = logging.getLogger("finops")

TIMEOUT_SECONDS = 30
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 1.0  # before the 2nd try; doubled before each next one


@dataclass(frozen=True)
class SendResult:
    to: str
    eml: Path
    status: str  # sent | already sent | failed | unconfirmed
    detail: str = ""


@dataclass(frozen=True)
class LastSend:
    """What the send log says about the week's email to one address."""

    message_id: str  # the Message-ID it was last sent (or tried) under
    outcome: str  # accepted | failed | unconfirmed (handed over, no acceptance recorded)
    at: str  # when that send started
    message_ids: int  # distinct Message-IDs sent to the address so far


class SendLogError(Exception):
    """A send log line that is not what finops writes; the message names the file and the line."""


class Unconfirmed(Exception):
    """The message was handed to the server (DATA) but no reply came: the server may have accepted it."""


def smtp_credentials(smtp: Smtp) -> tuple[str, str] | None:
    """(user, password) from the environment variables named in [smtp]; None when no login is configured."""
    if not smtp.username_env:
        return None
    missing = [name for name in (smtp.username_env, smtp.password_env) if name and name not in os.environ]
    if missing:
        raise ConfigError(
            f"[smtp] login is configured but the environment variable(s) {', '.join(missing)} are not set"
        )
    return os.environ[smtp.username_env], os.environ[smtp.password_env] if smtp.password_env else ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SendLog:
    """One JSON line per event, appended and synced to disk before the next step:
        {"event": "attempt", "to", "eml", "message_id", "at", "server"}   before the message goes to the server
        {"event": "accepted", "to", "message_id", "at", "server"}         the server answered 250 to its DATA
        {"event": "failed", "to", "message_id", "at", "error"}            it certainly did not accept it
    An attempt followed by neither is unconfirmed."""

    def __init__(self, path: Path):
        self.path = path

    def last_sends(self) -> dict[str, LastSend]:
        """address -> its LastSend, for every address the log names."""
        out: dict[str, LastSend] = {}
        ids: dict[str, set[str]] = {}
        lines = self.path.read_text(encoding="utf-8").splitlines() if self.path.exists() else []
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
                to, message_id, event = entry["to"], entry["message_id"], entry["event"]
            except (ValueError, KeyError, TypeError):
                raise SendLogError(
                    f"{self.path}:{number}: not a line of the send log ({line[:80]!r}); restore it, "
                    "or delete the line if you know what happened to that email"
                ) from None
            ids.setdefault(to, set()).add(message_id)
            if event == "attempt":
                out[to] = LastSend(message_id, "unconfirmed", entry["at"], len(ids[to]))
            elif to in out and out[to].message_id == message_id:
                out[to] = LastSend(message_id, event, out[to].at, len(ids[to]))
        return out

    def record(self, event: str, **fields: str) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"event": event, "at": _now(), **fields}, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def message_id(self, to: str, resend: bool, new_id: Callable[[int], str]) -> str:
        """The Message-ID of the week's email to `to`: the one it was last sent or tried under (an unconfirmed or
        failed email is sent again as the same message, so a receiving server that got it can drop the copy);
        new_id(n) for a first send (n = 1) and for a resend of an accepted email (the next n)."""
        last = self.last_sends().get(to)
        if last is None:
            return new_id(1)
        if last.outcome == "accepted" and resend:
            return new_id(last.message_ids + 1)
        return last.message_id


def is_transient(exc: BaseException) -> bool:
    """Worth another try: a 4xx reply, a dropped, refused or timed-out connection. Not: 5xx, TLS errors."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, (ssl.SSLError, smtplib.SMTPNotSupportedError)):
        return False
    return isinstance(exc, (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError))


class _Connection(smtplib.SMTP):
    """smtplib.SMTP that notes when the message itself went out (DATA): a failure without a reply after that
    may come after the server accepted it."""

    handed_over = False

    def data(self, msg):
        self.handed_over = True
        return super().data(msg)


def deliver(smtp: Smtp, credentials: tuple[str, str] | None, message: EmailMessage) -> None:
    """One message, one connection, tried again on transient failures before the message was handed over.
    Returns once the server accepted it (its answer to QUIT does not matter); raises Unconfirmed when the
    connection failed after the message was handed over and before a reply, else the last error."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        server = None
        try:
            server = _Connection(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS)
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if credentials:
                server.login(*credentials)
            server.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            if server is not None:
                server.close()
                if server.handed_over and not isinstance(exc, smtplib.SMTPResponseException):
                    raise Unconfirmed(describe(exc)) from exc
            if attempt == MAX_ATTEMPTS or not is_transient(exc):
                raise
            wait = BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning(
                "sending to %s: %s; try %d of %d in %.0fs",
                message["To"],
                describe(exc),
                attempt + 1,
                MAX_ATTEMPTS,
                wait,
            )
            time.sleep(wait)
            continue
        try:
            code, reply = server.quit()
            if code != 221:
                log.info(
                    "sent to %s; the server answered QUIT with %s %s",
                    message["To"],
                    code,
                    reply.decode(errors="replace"),
                )
        except (smtplib.SMTPException, OSError) as exc:
            log.info("sent to %s; the connection failed at QUIT: %s", message["To"], describe(exc))
        finally:
            server.close()
        return


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {error}"
    return f"{type(exc).__name__}: {exc}"


def send_all(
    smtp: Smtp,
    credentials: tuple[str, str] | None,
    messages: list[tuple[EmailMessage, Path]],
    send_log: SendLog,
    resend: Collection[str] = (),
) -> list[SendResult]:
    """Send each message that was not accepted before (`resend`: addresses to send again anyway) and is not
    unconfirmed. `credentials`: smtp_credentials(smtp), read before anything was written."""
    last_sends = send_log.last_sends()
    server = f"{smtp.host}:{smtp.port}"
    results = []
    for message, eml in messages:
        to = message["To"].addresses[0].addr_spec
        last = last_sends.get(to)
        if last is not None and to not in resend and last.outcome != "failed":
            results.append(
                SendResult(to, eml, "already sent", f"accepted {last.at}")
                if last.outcome == "accepted"
                else SendResult(
                    to,
                    eml,
                    "unconfirmed",
                    f"handed to the server {last.at}, its acceptance not recorded; not sent again",
                )
            )
            continue
        message_id = message["Message-ID"]
        send_log.record("attempt", to=to, eml=eml.name, message_id=message_id, server=server)
        try:
            deliver(smtp, credentials, message)
        except Unconfirmed as exc:
            log.error("%s to %s: handed to the server, then %s; it may have been delivered", eml.name, to, exc)
            results.append(SendResult(to, eml, "unconfirmed", f"handed to the server, then {exc}"))
            continue
        except (smtplib.SMTPException, OSError) as exc:
            log.error("could not send %s to %s: %s", eml.name, to, describe(exc))
            send_log.record("failed", to=to, message_id=message_id, error=describe(exc))
            results.append(SendResult(to, eml, "failed", describe(exc)))
            continue
        send_log.record("accepted", to=to, message_id=message_id, server=server)
        results.append(SendResult(to, eml, "sent"))
    return results
