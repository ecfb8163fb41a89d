"""Each chargeback email is sent once (docs/reports.md "Sending"): a message the SMTP server accepted (250 to its
DATA) counts as sent whatever the server answers next; one handed over without a recorded acceptance (the
connection dropped before the reply, or finops was killed) is never sent again without `--resend <email>`, and
then goes under the same Message-ID. Real SMTP servers on localhost (aiosmtpd).

The warehouse: 2026-W46 (9-15 Nov 2026), one call a day for each of three owners' features."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import date, timedelta

import pytest
from conftest import FINOPS, Project, event, write_jsonl
from test_reports import Recorder, smtp_config, smtp_server  # noqa: F401 (smtp_server: the fixture)

WEEK = "2026-W46"
OWNERS = {"search@example.com": "search", "support@example.com": "chat", "platform@example.com": "codegen"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("sending") / "project")
    days = [date(2026, 11, 9) + timedelta(days=i) for i in range(7)]
    write_jsonl(
        project.usage / "calls.jsonl",
        [event(f"{feature}-{day}", f"{day}T10:00:00Z", feature=feature) for day in days for feature in OWNERS.values()],
    )
    project.finops("backfill", "--from", str(days[0]), "--to", str(days[-1]), check=True)
    return project


def configure(project: Project, name: str, port: int) -> tuple[Project, object]:
    owners = "".join(
        f'[[owners]]\nemail = "{to}"\nname = "{feature.title()}"\nfeatures = ["{feature}"]\n\n'
        for to, feature in OWNERS.items()
    )
    project.write_config(
        f'[reports]\ndir = "out/{name}/reports"\noutbox = "out/{name}/outbox"\n{smtp_config(port)}\n{owners}'
    )
    return project.root / "out" / name / "outbox" / WEEK


def log_events(outbox) -> list[tuple[str, str]]:
    return [(e["event"], e["to"]) for e in map(json.loads, (outbox / "send_log.jsonl").read_text().splitlines())]


def message_ids(handler: Recorder, to: str) -> list[str]:
    return [m["Message-ID"] for m in handler.messages if m["To"].addresses[0].addr_spec == to]


class QuitRefused(Recorder):
    """Accepts every message, then answers QUIT with 421 (a server going down between two messages)."""

    async def handle_QUIT(self, server, session, envelope):
        return "421 4.3.2 Service shutting down"


class DropsAfterData(Recorder):
    """Keeps the message of `to` (the server has it), then drops the connection before replying."""

    def __init__(self, to: str):
        super().__init__()
        self.drop_to = to

    async def handle_DATA(self, server, session, envelope):
        status = await super().handle_DATA(server, session, envelope)
        if self.drop_to in envelope.rcpt_tos:
            self.drop_to = None
            server.transport.close()
        return status


class KillsTheSender(Recorder):
    """Keeps the first message, then kills the finops process that sent it before it reads the 250."""

    pid: int | None = None

    async def handle_DATA(self, server, session, envelope):
        status = await super().handle_DATA(server, session, envelope)
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.pid = None
        return status


def test_a_server_that_answers_quit_with_421_gets_each_email_once(built, smtp_server):
    handler = QuitRefused()
    outbox = configure(built, "quit", smtp_server(handler))
    proc = built.finops("report", "--week", WEEK)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(r[0] for r in handler.recipients) == sorted(OWNERS)
    assert proc.stdout.count(": sent") == 3
    assert sorted(log_events(outbox)) == sorted(
        [("attempt", to) for to in OWNERS] + [("accepted", to) for to in OWNERS]
    )

    again = built.finops("report", "--week", WEEK, check=True)
    assert len(handler.messages) == 3 and again.stdout.count("already sent") == 3


def test_an_email_handed_over_without_a_reply_is_not_sent_again_without_resend(built, smtp_server):
    handler = DropsAfterData("support@example.com")
    outbox = configure(built, "dropped", smtp_server(handler))
    proc = built.finops("report", "--week", WEEK)
    assert proc.returncode == 3
    assert len(handler.messages) == 3  # the server has every message, support's included
    assert "support@example.com" in proc.stdout and f"--week {WEEK} --resend support@example.com" in proc.stdout
    assert "may have been delivered" in proc.stdout
    [first_id] = message_ids(handler, "support@example.com")
    assert first_id == f"<finops.{WEEK}.chat.1@example.com>"

    again = built.finops("report", "--week", WEEK)
    assert again.returncode == 3 and len(handler.messages) == 3  # nothing sent twice
    assert "--resend support@example.com" in again.stdout and again.stdout.count("already sent") == 2

    resent = built.finops("report", "--week", WEEK, "--resend", "support@example.com")
    assert resent.returncode == 0, resent.stdout[-2000:]
    assert message_ids(handler, "support@example.com") == [first_id, first_id]  # the same message, once more
    assert len(handler.messages) == 4
    assert log_events(outbox).count(("accepted", "support@example.com")) == 1
    assert built.finops("report", "--week", WEEK).returncode == 0 and len(handler.messages) == 4


def test_a_finops_killed_after_the_server_got_the_email_does_not_send_it_again(built, smtp_server):
    handler = KillsTheSender()
    outbox = configure(built, "killed", smtp_server(handler))
    proc = subprocess.Popen(
        [str(FINOPS), "report", "--week", WEEK, "--config", str(built.config)],
        cwd=built.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    handler.pid = proc.pid
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    [first] = handler.messages
    to = first["To"].addresses[0].addr_spec
    assert log_events(outbox) == [("attempt", to)]

    after = built.finops("report", "--week", WEEK)
    assert after.returncode == 3 and f"--resend {to}" in after.stdout
    assert sorted(r[0] for r in handler.recipients) == sorted(OWNERS)  # the others are sent, that one is not

    built.finops("report", "--week", WEEK, "--resend", to, check=True)
    assert message_ids(handler, to) == [first["Message-ID"]] * 2
    assert len(handler.messages) == 4


def test_resend_of_an_accepted_email_is_a_new_message_and_of_an_unknown_owner_exits_2(built, smtp_server):
    handler = Recorder()
    configure(built, "again", smtp_server(handler))
    built.finops("report", "--week", WEEK, check=True)
    built.finops("report", "--week", WEEK, "--resend", "search@example.com", check=True)
    assert message_ids(handler, "search@example.com") == [
        f"<finops.{WEEK}.search.1@example.com>",
        f"<finops.{WEEK}.search.2@example.com>",
    ]
    assert len(handler.messages) == 4
    built.finops("report", "--week", WEEK, "--resend", check=True)  # every owner's
    assert len(handler.messages) == 7

    unknown = built.finops("report", "--week", WEEK, "--resend", "nobody@example.com")
    assert unknown.returncode == 2 and "nobody@example.com" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
