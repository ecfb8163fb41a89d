"""Quarantine you can see (issue 20): a failed gate's quality report lists the quarantined records with their file,
line and raw text, and `finops quarantine --date D` prints them from the staging area, though nothing was published."""

from __future__ import annotations

import csv
import io

from conftest import Project, event, write_jsonl

NEGATIVE = (
    '{"event_id": "neg", "occurred_at": "2026-11-02T10:00:00Z", "tenant_id": "acme", "feature": "search", '
    '"provider": "anthropic", "model": "claude-sonnet-4-6", "input_tokens": -1, "output_tokens": 100}'
)


def calls(day: str, n: int, prefix: str) -> list[dict]:
    return [event(f"{prefix}{i}", f"{day}T{10 + i:02d}:00:00Z") for i in range(n)]


def test_a_failed_gate_shows_its_quarantined_lines_in_the_report_and_the_quarantine_command(project: Project):
    project.write_config(quality="max_unpriced_share = 0.2\nmax_quarantined_share = 0.1")
    good = calls("2026-11-02", 8, "ok-")
    export = write_jsonl(
        project.usage / "export.jsonl",
        good[:4]
        + ["{broken"]  # line 5
        + good[4:]
        + [{**good[0], "event_id": "neg", "input_tokens": -1}, "<script>alert(1)</script>"],  # lines 10, 11
    )
    other = write_jsonl(project.usage / "other.jsonl", calls("2026-11-02", 2, "b-") + ["not json"])  # line 3
    write_jsonl(project.usage / "later.jsonl", calls("2026-11-03", 2, "c-") + ["{later"])  # another day: not shown

    run = project.finops("run", "--date", "2026-11-02")
    assert run.returncode == 1, run.stderr[-3000:]
    assert not project.warehouse.exists()

    printed = project.finops("quarantine", "--date", "2026-11-02", "--format", "csv")
    assert printed.returncode == 0, printed.stderr[-3000:]
    rows = list(csv.reader(io.StringIO(printed.stdout)))
    assert rows == [
        ["file", "line", "reason", "raw"],
        [str(export), "5", "not a valid JSON object", "{broken"],
        [str(export), "10", "input_tokens -1 is negative", NEGATIVE],
        [str(export), "11", "not a valid JSON object", "<script>alert(1)</script>"],
        [str(other), "3", "not a valid JSON object", "not json"],
    ]

    report = (project.warehouse.parent / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "<h2>Quarantined records</h2>" in report and "4 record(s) of the usage files" in report
    # counts per file and reason, then each line with its raw text, escaped
    assert f'<tr><td>{export}</td><td>not a valid JSON object</td>\n<td class="num">2</td></tr>' in report
    assert f'<tr><td>{export}</td><td>input_tokens -1 is negative</td>\n<td class="num">1</td></tr>' in report
    assert f'<tr><td>{other}</td><td>not a valid JSON object</td>\n<td class="num">1</td></tr>' in report
    assert (
        f'<tr><td>{export}</td><td class="num">11</td>\n<td>not a valid JSON object</td>'
        "<td><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></td></tr>"
    ) in report
    assert f'<tr><td>{other}</td><td class="num">3</td>\n' in report
    assert "<script>" not in report and "later.jsonl" not in report

    table = project.finops("quarantine", "--date", "2026-11-02")
    assert table.returncode == 0, table.stderr[-3000:]
    pad = " " * (len(str(export)) - len("file"))  # columns as wide as their widest value, two spaces apart
    assert table.stdout.splitlines() == [
        f"file{pad}  line  reason                       raw",
        f"{export}  5     not a valid JSON object      {{broken",
        f"{export}  10    input_tokens -1 is negative  {NEGATIVE}",
        f"{export}  11    not a valid JSON object      <script>alert(1)</script>",
        f"{other}   3     not a valid JSON object      not json",
    ]
    assert "4 record(s) quarantined from 2 usage file(s) read for 2026-11-02" in table.stderr

    # the other day's file only, once its day is asked for
    printed = project.finops("quarantine", "--date", "2026-11-03", "--format", "csv")
    later = str(project.usage / "later.jsonl")
    assert list(csv.reader(io.StringIO(printed.stdout)))[1:] == [[later, "3", "not a valid JSON object", "{later"]]


def test_a_good_run_says_no_record_was_quarantined(project: Project):
    write_jsonl(project.usage / "d.jsonl", calls("2026-11-02", 3, "a-"))
    project.finops("run", "--date", "2026-11-02", check=True)
    report = (project.warehouse.parent / "reports" / "quality" / "2026-11-02.html").read_text()
    assert "None: every record of the usage files read for the built days was accepted." in report
    assert "None: every call of the built days is priced." in report
    printed = project.finops("quarantine", "--date", "2026-11-02", "--format", "csv")
    assert (printed.returncode, printed.stdout) == (0, "file,line,reason,raw\n")


def test_quarantine_refuses_a_bad_date_or_config(project: Project):
    write_jsonl(project.usage / "d.jsonl", calls("2026-11-02", 3, "a-"))
    future = project.finops("quarantine", "--date", "2999-01-01")
    assert future.returncode == 2 and "--date 2999-01-01 is after today" in future.stderr
    garbled = project.finops("quarantine", "--date", "2026-13-01")
    assert garbled.returncode == 2 and "'2026-13-01' is not a date YYYY-MM-DD" in garbled.stderr
    project.config.write_text("[warehouse\n")
    bad = project.finops("quarantine", "--date", "2026-11-02")
    assert bad.returncode == 2 and f"finops: {project.config}" in bad.stderr and "Traceback" not in bad.stderr


def test_the_showback_shows_the_weeks_quarantined_and_unpriced_calls(project: Project):
    """2026-W45 (Mon 2 .. Sun 8 Nov), 5 calls a day; Tuesday's file holds 2 bad lines and 1 call of a model no
    source prices, and a file of the next week 1 bad line (not this week's)."""
    for k in range(7):
        day = f"2026-11-0{2 + k}"
        extra = ["{broken", {**event("x", f"{day}T20:00:00Z"), "model": "no-such-model"}, "nope"] if k == 1 else []
        write_jsonl(project.usage / f"{day}.jsonl", calls(day, 5, f"d{k}-") + extra)
    write_jsonl(project.usage / "2026-11-09.jsonl", calls("2026-11-09", 5, "next-") + ["{next"])
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-08", check=True)
    project.finops("report", "--week", "2026-W45", check=True)
    page = (project.warehouse.parent / "reports" / "2026-W45" / "showback.html").read_text()
    assert '<div class="label">Quarantined records</div><div class="value">2 records</div>' in page
    assert "in 1 usage file read for the week: billed nowhere" in page
    assert '<div class="label">Unpriced usage</div><div class="value">1 call</div>' in page
    summary = (project.warehouse.parent / "reports" / "2026-W45" / "summary.csv").read_text()
    row = next(csv.DictReader(io.StringIO(summary)))
    assert (row["quarantined_records"], row["unpriced_requests"]) == ("2", "1")
