"""`finops report` end to end: a two-week warehouse built by the real CLI from hand-made calls, the pages and
CSV files, one chargeback email per owner through a real SMTP server on localhost (aiosmtpd), the send log,
retries, STARTTLS with login, escaping of names from the data, and the pages rendered in headless Chromium.

The calls (Anthropic list prices: sonnet $3/M input, opus $15/M input; no output tokens), every day of
2026-11-02 .. 2026-11-15 (ISO weeks 2026-W45 and 2026-W46):
    search / acme     sonnet 1M input                        $3.00 a day
    chat / globex     sonnet 2M input                        $6.00 a day, + 4 x $6.00 on Fri 2026-11-13
    EVIL / acme       sonnet 1M input in W45, 2M in W46      $3.00 / $6.00 a day
    codegen / initech sonnet 1M input in W45, opus 1M in W46 $3.00 / $15.00 a day
    search / acme     one mistral call (no price) on 2026-11-13, 5,000 + 500 tokens
Owners and their W46 (prior W45) totals:
    Search   features [search]   $21.00 ($21.00)  +1 unpriced call, 5,500 tokens
    Support  features [chat]     $66.00 ($42.00)  +$24.00, anomaly: chat on Fri 13 Nov, $30.00 vs $6.00
    Platform tenants [initech]   $105.00 ($21.00) +$84.00, premium share 0% -> 100%: model-mix alert
    Lab      features [EVIL]     $42.00 ($21.00)  +$21.00
    Voice    features [voice]    no usage
Whole week: $234.00 ($105.00), +$129.00; the whole bill adds the idle hours of the test config's two
deployments (168 x $29.92 = $5,026.56 a week): $5,260.56 ($5,131.56).
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import Project, event, write_jsonl

from reports.week import IsoWeek

EVIL = '<img src=x onerror="alert(1)">\r\nBcc: victim@example.com'
WEEK = "2026-W46"
OWNERS = """
[[owners]]
email = "search@example.com"
name = "Search"
features = ["search"]

[[owners]]
email = "support@example.com"
name = "Support"
features = ["chat"]

[[owners]]
email = "platform@example.com"
name = "Platform"
tenants = ["initech"]

[[owners]]
email = "lab@example.com"
name = "Lab"
features = ["<img src=x onerror=\\"alert(1)\\">\\r\\nBcc: victim@example.com"]

[[owners]]
email = "voice@example.com"
name = "Voice"
features = ["voice"]
"""


def calls() -> list[dict]:
    out = []
    for i in range(14):
        day = date(2026, 11, 2) + timedelta(days=i)
        at = f"{day}T10:00:00Z"
        second_week = day >= date(2026, 11, 9)
        out += [
            event(f"s-{day}", at, tenant="acme", feature="search", input_tokens=1_000_000, output_tokens=0),
            event(f"c-{day}", at, tenant="globex", feature="chat", input_tokens=2_000_000, output_tokens=0),
            event(
                f"x-{day}",
                at,
                tenant="acme",
                feature=EVIL,
                input_tokens=2_000_000 if second_week else 1_000_000,
                output_tokens=0,
            ),
            event(
                f"g-{day}",
                at,
                tenant="initech",
                feature="codegen",
                input_tokens=1_000_000,
                output_tokens=0,
                model="claude-opus-4-1" if second_week else "claude-sonnet-4-6",
            ),
        ]
    out += [
        event(
            f"spike-{k}",
            "2026-11-13T12:00:00Z",
            tenant="globex",
            feature="chat",
            input_tokens=2_000_000,
            output_tokens=0,
        )
        for k in range(4)
    ]
    out.append(
        event(
            "unpriced-1",
            "2026-11-13T12:00:00Z",
            tenant="acme",
            feature="search",
            provider="mistral",
            model="mistral-large-2411",
            input_tokens=5000,
            output_tokens=500,
        )
    )
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("reports") / "project")
    write_jsonl(project.usage / "calls.jsonl", calls())
    project.write_config(OWNERS)
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-15", check=True)
    return project


def configure(project: Project, name: str, smtp: str = "") -> tuple[Path, Path]:
    """Point [reports] at folders of this test (and [smtp] at its server); returns (reports dir, outbox)."""
    project.write_config(f'[reports]\ndir = "out/{name}/reports"\noutbox = "out/{name}/outbox"\n{smtp}\n{OWNERS}')
    return project.root / "out" / name / "reports" / WEEK, project.root / "out" / name / "outbox" / WEEK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """An SMTP handler that keeps every accepted message; it can refuse the first `refuse` with a 451."""

    def __init__(self, refuse: int = 0):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refused = 0
        self.refuse = refuse

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refuse:
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> email.message.EmailMessage:
        [message] = [m for m in self.messages if m["To"].addresses[0].addr_spec == address]
        return message


@pytest.fixture
def smtp_server():
    servers = []

    def start(handler: Recorder, **kwargs) -> int:
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        servers.append(controller)
        return port

    yield start
    for controller in servers:
        controller.stop()


def smtp_config(port: int, extra: str = "") -> str:
    return f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nfrom = "finops@example.com"\n{extra}'


def parts(message: email.message.EmailMessage) -> tuple[str, str, str]:
    """(plain text, HTML, CSV attachment) of a chargeback email."""
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
        attachment.get_content(),
    )


def everything(message: email.message.EmailMessage) -> str:
    headers = "".join(f"{k}: {v}\n" for k, v in message.items())
    return headers + "".join(parts(message))


def test_each_owner_gets_exactly_their_email_with_their_figures(built, smtp_server):
    handler = Recorder()
    reports, outbox = configure(built, "owners", smtp_config(smtp_server(handler)))
    proc = built.finops("report", "--week", WEEK, check=True)

    assert sorted(r[0] for r in handler.recipients) == [
        "lab@example.com",
        "platform@example.com",
        "search@example.com",
        "support@example.com",
        "voice@example.com",
    ]
    assert all(len(r) == 1 for r in handler.recipients)
    support = handler.to("support@example.com")
    text, html, attachment = parts(support)
    assert support["Subject"] == (
        "AI spend 2026-W46, Support: $66.00 (+$24.00 vs 2026-W45), biggest change: chat +$24.00"
    )
    assert "Total: $66.00, +$24.00 (+57.1%) vs $42.00 in 2026-W45." in text
    assert "<strong>$66.00</strong>" in html
    # the anomaly on the owner's feature, with what drove it
    assert "Fri 13 Nov  feature    chat   " in text and "$30.00" in text and "$6.00" in text
    assert "tenant globex +$24.00 (100%)" in text
    assert attachment.splitlines() == [
        "week,tenant_id,feature,model_name,cost_usd,prior_week_cost_usd,change_usd,change_ratio,requests,tasks,"
        "cache_savings_usd,retry_cost_usd,unpriced_requests,unpriced_tokens",
        "2026-W46,globex,chat,anthropic/claude-sonnet-4-6,66.00,42.00,24.00,0.5714,11,11,0.00,0.00,0,0",
    ]

    platform_text, _, platform_csv = parts(handler.to("platform@example.com"))
    assert "Total: $105.00, +$84.00 (+400.0%) vs $21.00 in 2026-W45." in platform_text
    assert "initech  $105.00       $105.00         100.0%        0.0%  +100.0 pts  yes" in platform_text  # alert
    assert [line.split(",")[1:7] for line in platform_csv.splitlines()[1:]] == [
        ["initech", "codegen", "anthropic/claude-opus-4-1", "105.00", "0.00", "105.00"],
        ["initech", "codegen", "anthropic/claude-sonnet-4-6", "0.00", "21.00", "-21.00"],
    ]

    search_text, search_html, _ = parts(handler.to("search@example.com"))
    assert "Total: $21.00, $0.00 (0.0%) vs $21.00 in 2026-W45." in search_text
    assert "Unpriced: 1 call (5,500 tokens) had no price in force" in search_text
    assert "mistral/mistral-large-2411      1   5,500  search    acme" in search_text
    assert "$0.00" not in search_html.split("Unpriced usage")[1]  # unpriced is never $0

    lab_text, _, _ = parts(handler.to("lab@example.com"))
    assert "Total: $42.00, +$21.00 (+100.0%) vs $21.00 in 2026-W45." in lab_text

    voice = handler.to("voice@example.com")
    voice_text, _, voice_csv = parts(voice)
    assert voice["Subject"] == "AI spend 2026-W46, Voice: no usage"
    assert "No usage this week" in voice_text and "Covers: features voice" in voice_text
    assert len(voice_csv.splitlines()) == 1  # the header only

    # nobody else's names or figures
    assert not any(
        name in everything(support) for name in ("acme", "search", "initech", "codegen", "onerror", "$105.00", "$21.00")
    )
    assert not any(
        name in everything(handler.to("search@example.com"))
        for name in ("globex", "chat", "initech", "codegen", "onerror", "$63.00", "$66.00")
    )
    assert not any(
        name in everything(handler.to("platform@example.com"))
        for name in ("acme", "globex", "search", "chat", "onerror", "$66.00")
    )

    # the same emails are in the outbox, and the send log says they were accepted
    assert sorted(p.name for p in outbox.glob("*.eml")) == [
        "lab.eml",
        "platform.eml",
        "search.eml",
        "support.eml",
        "voice.eml",
    ]
    written = email.message_from_bytes((outbox / "support.eml").read_bytes(), policy=email.policy.default)
    assert [p.replace("\r\n", "\n") for p in parts(written)] == [
        p.replace("\r\n", "\n") for p in (text, html, attachment)
    ]
    log = [json.loads(line) for line in (outbox / "send_log.jsonl").read_text().splitlines()]
    assert sorted(e["to"] for e in log if e["event"] == "accepted") == sorted(r[0] for r in handler.recipients)
    assert support["Message-ID"] == "<finops.2026-W46.support.1@example.com>" == written["Message-ID"]
    assert f"{outbox / 'support.eml'}" in proc.stdout and "sent" in proc.stdout


def test_the_pages_and_csv_files_hold_the_weeks_figures(built):
    reports, outbox = configure(built, "pages")
    proc = built.finops("report", "--week", WEEK, check=True)
    assert "not sent (no [smtp] configured)" in proc.stdout
    showback = (reports / "showback.html").read_text()
    # the headline is the whole bill: the calls' $234.00 + the test config's two deployments, idle all week,
    # 168 hours x ($10.00 + 8 x $2.49) = $5,026.56; W45: $105.00 + $5,026.56
    assert 'id="total-cost">$5,260.56</strong>' in showback
    assert "+$129.00 (+2.5%)" in showback and "$5,131.56 in 2026-W45" in showback
    assert "the whole bill; $234.00 of it in 33 calls" in showback
    assert "<svg" in showback and "<script" not in showback.lower()
    assert (reports / "cost_by_tenant.csv").read_text().splitlines()[1:] == [
        "2026-W46,initech,105.00,21.00,84.00,4.0000,0.4487,7,15.0000,0.0000,0.00,0.00,0",
        "2026-W46,globex,66.00,42.00,24.00,0.5714,0.2821,11,6.0000,0.0000,0.00,0.00,0",
        "2026-W46,acme,63.00,42.00,21.00,0.5000,0.2692,15,4.2000,0.0000,0.00,0.00,1",
    ]
    assert (reports / "unpriced_usage.csv").read_text().splitlines()[1:] == [
        "2026-W46,mistral/mistral-large-2411,1,5500,search,acme"
    ]
    assert (reports / "chargeback_by_owner.csv").read_text().splitlines()[
        -1
    ] == "2026-W46,Not assigned to any owner,,every other call,0.00,0.00,0.00,,0"
    anomalies = (reports / "anomalies.csv").read_text()
    assert "2026-W46,2026-11-13,feature,chat,30.00,6.00,5.0000,24.00," in anomalies
    assert (reports / "premium_share_by_tenant.csv").read_text().splitlines()[
        1
    ] == "2026-W46,initech,105.00,105.00,1.0000,0.0000,1.0000,true"
    assert {p.name for p in reports.iterdir()} >= {
        "showback.html",
        "anomalies.html",
        "summary.csv",
        "cost_by_tenant.csv",
        "cost_by_feature.csv",
        "daily_cost_by_feature.csv",
        "model_mix.csv",
        "unpriced_usage.csv",
        "self_hosted.csv",
        "top_tasks.csv",
        "chargeback_by_owner.csv",
        "anomalies.csv",
        "anomaly_drivers.csv",
        "premium_share_by_tenant.csv",
        "model_mix_alerts.csv",
    }


def test_a_second_run_sends_nothing_new_and_resend_forces_it(built, smtp_server):
    handler = Recorder()
    reports, outbox = configure(built, "rerun", smtp_config(smtp_server(handler)))
    built.finops("report", "--week", WEEK, check=True)
    assert len(handler.messages) == 5
    (outbox / "support.eml").unlink()

    again = built.finops("report", "--week", WEEK, check=True)
    assert len(handler.messages) == 5  # nothing sent twice
    assert (outbox / "support.eml").exists()  # but the files are written again
    assert again.stdout.count("already sent") == 5

    built.finops("report", "--week", WEEK, "--resend", check=True)
    assert len(handler.messages) == 10
    assert (outbox / "send_log.jsonl").read_text().count('"event": "accepted"') == 10


def test_a_server_that_refuses_the_first_attempt_gets_a_retry(built, smtp_server):
    handler = Recorder(refuse=1)
    _, outbox = configure(built, "retry", smtp_config(smtp_server(handler)))
    proc = built.finops("report", "--week", WEEK, check=True)
    assert handler.refused == 1
    assert len(handler.messages) == 5
    assert "451" in proc.stderr and "try 2 of 3" in proc.stderr


def test_a_server_that_keeps_refusing_exits_3_and_the_next_run_retries(built, smtp_server):
    handler = Recorder(refuse=100)
    _, outbox = configure(built, "refused", smtp_config(smtp_server(handler)))
    proc = built.finops("report", "--week", WEEK)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert handler.refused == 3 * 5 and not handler.messages
    assert "5 email(s) could not be sent" in proc.stdout
    events = [json.loads(line)["event"] for line in (outbox / "send_log.jsonl").read_text().splitlines()]
    assert events == ["attempt", "failed"] * 5 and len(list(outbox.glob("*.eml"))) == 5

    handler.refuse = 0
    built.finops("report", "--week", WEEK, check=True)
    assert len(handler.messages) == 5


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost / 127.0.0.1 that the test's SMTP server presents and the CLI is told to trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Authenticator:
    def __init__(self):
        self.logins: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.login == b"billing" and auth_data.password == b"s3cret")


def test_starttls_and_login_with_credentials_from_the_environment(built, smtp_server, tmp_path, monkeypatch):
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler, auth = Recorder(), Authenticator()
    port = smtp_server(
        handler,
        tls_context=context,
        require_starttls=True,
        authenticator=auth,
        auth_require_tls=True,
        auth_required=True,
    )
    configure(
        built,
        "tls",
        smtp_config(port, 'starttls = true\nusername_env = "TEST_SMTP_USER"\npassword_env = "TEST_SMTP_PASSWORD"'),
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's self-signed certificate

    monkeypatch.delenv("TEST_SMTP_USER", raising=False)
    missing = built.finops("report", "--week", WEEK)
    assert missing.returncode == 2 and "TEST_SMTP_USER" in missing.stderr

    monkeypatch.setenv("TEST_SMTP_USER", "billing")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    built.finops("report", "--week", WEEK, check=True)
    assert len(handler.messages) == 5
    assert set(auth.logins) == {("billing", "s3cret")}


def test_html_injection_in_a_feature_name_is_escaped_everywhere(built, smtp_server):
    handler = Recorder()
    reports, outbox = configure(built, "escape", smtp_config(smtp_server(handler)))
    built.finops("report", "--week", WEEK, check=True)
    escaped = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    for page in ("showback.html", "anomalies.html"):
        html = (reports / page).read_text()
        assert "<img" not in html and escaped in html, page
    lab = handler.to("lab@example.com")
    text, html, attachment = parts(lab)
    assert "<img" not in html and escaped in html
    assert '<img src=x onerror="alert(1)">' in text  # plain text shows the name as it is
    # header-safe: the CR/LF in the name did not start a header
    assert lab["Bcc"] is None and len(handler.recipients[0]) == 1
    assert lab["Subject"] == (
        "AI spend 2026-W46, Lab: $42.00 (+$21.00 vs 2026-W45), biggest change: "
        '<img src=x onerror="alert(1)"> Bcc: victim@example.com +$21.00'
    )
    headers = (outbox / "lab.eml").read_text().split("\n\n")[0]
    assert "Bcc" in headers and not any(line.startswith("Bcc") for line in headers.splitlines())
    assert not any(line.startswith("Bcc") for line in text.splitlines())  # nor a new line in the text tables
    assert (reports / "cost_by_feature.csv").read_text().count("<img") == 1  # CSV holds the name as it is


@pytest.mark.unit
def test_a_name_that_would_run_as_a_spreadsheet_formula_is_quoted_in_csv():
    from reports.tables import csv_cell

    assert csv_cell("text", '=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell("text", "@sum") == "'@sum" and csv_cell("text", "chat") == "chat"
    assert csv_cell("usd_signed", -3.2) == "-3.20"  # numbers are numbers


def test_a_week_with_unpublished_days_exits_1_and_names_them(built):
    configure(built, "unpublished")
    proc = built.finops("report", "--week", "2026-W47")
    assert proc.returncode == 1
    assert all(f"2026-11-{d} not published" in proc.stderr for d in range(16, 23))
    bad = built.finops("report", "--week", "2026-47")
    assert bad.returncode == 2 and "is not an ISO week YYYY-Www" in bad.stderr


def chromium(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is required (make test installs it: apt-get install chromium)"
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_the_pages_render_in_headless_chromium_with_their_key_figures(built, tmp_path):
    from PIL import Image

    reports, _ = configure(built, "chromium")
    built.finops("report", "--week", WEEK, check=True)
    expected = {
        "showback.html": [
            "$234.00",
            "+$129.00",
            "Daily cost by feature",
            "Cost by tenant",
            "Model mix",
            "Unpriced usage",
            "5,500",
            "Self-hosted deployments",
            "Top tasks",
        ],
        "anomalies.html": ["Flagged days", "Fri 13 Nov", "$30.00", "Model-mix alert", "initech"],
    }
    for page, figures in expected.items():
        url = (reports / page).as_uri()
        png = tmp_path / f"{page}.png"
        chromium(f"--screenshot={png}", "--window-size=1100,2400", url)
        image = Image.open(png).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20)
        assert len(colours) > 50, f"{page}: the screenshot is (nearly) blank"
        white = (
            max(count for count, rgb in colours if rgb == (255, 255, 255))
            if (255, 255, 255) in [rgb for _, rgb in colours]
            else 0
        )
        assert white < 0.95 * image.width * image.height, f"{page}: the screenshot is nearly all white"
        dom = chromium("--dump-dom", url).stdout
        for figure in figures:
            assert figure in dom, f"{page}: {figure} not in the rendered page"


@pytest.mark.unit
def test_the_default_week_is_the_last_complete_iso_week():
    assert str(IsoWeek.last_complete(date(2026, 11, 23))) == "2026-W47"  # a Monday: the week just ended
    assert str(IsoWeek.last_complete(date(2026, 11, 22))) == "2026-W46"  # a Sunday: its week is not over
    week = IsoWeek.last_complete(date(2027, 1, 4))
    assert (str(week), week.start, week.span) == ("2026-W53", date(2026, 12, 28), "28 Dec 2026 \u2013 3 Jan 2027")
    assert str(IsoWeek.parse("2026-W01").prior) == "2025-W52"


def test_a_report_before_anything_is_published_exits_2(project: Project):
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    proc = project.finops("report", "--week", WEEK)
    assert proc.returncode == 2 and "no published warehouse yet" in proc.stderr
