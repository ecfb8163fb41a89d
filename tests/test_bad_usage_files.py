"""Usage files a run cannot trust: cut short, not UTF-8, every record broken, gone before they are read, or
matched twice. Nothing of a file that cannot be read whole is staged, and it fails the quality gate like a file whose
every record is quarantined; a vanished file is skipped with a warning; a file is read once. Through the real
`finops` CLI (exit code, message, no traceback) and the real staging step."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import duckdb
import pytest
from conftest import Project, event, write_jsonl

from core.config import load_config
from core.layout import Layout
from core.staged_usage import StagedUsageFile
from ingest.stage import stage_usage
from ingest.usage_canonical import stage_usage_file
from warehouse.build import checked_usage_files
from warehouse.pipeline import stage_usage_files
from warehouse.state import State

DAY = "2026-11-02"


def calls(n: int, prefix: str, day: str = DAY) -> list[dict]:
    return [event(f"{prefix}{i}", f"{day}T{i % 24:02d}:{i % 60:02d}:00Z") for i in range(n)]


def gate_examples(stderr: str) -> list[str]:
    """The failing rows the CLI prints for the gate's quarantine_share suite."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("gx.quarantine_share /"))
    examples = []
    for line in lines[start + 1 :]:
        if not line.strip().startswith("e.g."):
            break
        examples.append(line)
    return examples


def test_a_file_whose_every_record_is_quarantined_fails_the_gate(project: Project):
    """An export whose tenant_id column was renamed: all its 50 calls quarantined. The file held no accepted row, so
    the gate's quarantine share never saw it and the day was published without those calls (exit 0)."""
    write_jsonl(project.usage / "good.jsonl", calls(100, "g"))
    renamed = [{("tenant" if k == "tenant_id" else k): v for k, v in e.items()} for e in calls(50, "r")]
    write_jsonl(project.usage / "renamed.jsonl", renamed)
    run = project.finops("run", "--date", DAY)
    assert run.returncode == 1, run.stderr[-3000:]
    [example] = gate_examples(run.stderr)
    assert f"'file': '{project.usage / 'renamed.jsonl'}'" in example
    assert "'records': 0, 'quarantined': 50" in example and "'main_reason': 'missing tenant_id'" in example
    assert not project.warehouse.exists()
    (project.usage / "renamed.jsonl").unlink()
    project.finops("run", "--date", DAY, check=True)
    assert project.query("select count(*) from finance.fct_llm_requests") == [(100,)]


@pytest.mark.unit
def test_a_file_with_no_accepted_record_counts_against_every_build():
    """Which files the gate's quarantine_share suite checks for a build: those holding accepted records of its days,
    and those holding none at all (every record quarantined, or a failed file): they have no day of their own."""

    def staged(days: dict[str, int], quarantined: int, failure: str | None = None) -> StagedUsageFile:
        return StagedUsageFile(
            source="s", key="k", seq=1, size=1, mtime_ns=1, days=days, quarantined=quarantined, failure=failure
        )

    state = State(
        files={
            "a.jsonl": staged({"2026-11-02": 10}, 1),
            "b.jsonl": staged({"2026-11-03": 5}, 0),
            "bad.jsonl": staged({}, 50),
            "cut.jsonl.gz": staged({}, 1, "the gzip stream ends early"),
            "empty.jsonl": staged({}, 0),
        }
    )
    assert checked_usage_files(state, ["2026-11-02"]) == [
        ["a.jsonl", 10, 1],
        ["bad.jsonl", 0, 50],
        ["cut.jsonl.gz", 0, 1],
    ]
    assert checked_usage_files(state, ["2026-11-04"]) == [["bad.jsonl", 0, 50], ["cut.jsonl.gz", 0, 1]]


def test_a_truncated_gzip_file_fails_the_gate_at_the_default_limits_and_nothing_of_it_is_published(project: Project):
    """2,000 lines cut in half were read as 955 calls and 1 quarantined line, and published (exit 0)."""
    project.write_config(quality="")
    whole = gzip.compress("".join(json.dumps(e) + "\n" for e in calls(2000, "e")).encode())
    path = project.usage / "export.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    run = project.finops("run", "--date", DAY)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    assert f"ERROR {path}: cannot be read whole: the gzip stream ends early, in line " in run.stderr
    [example] = gate_examples(run.stderr)
    assert f"'file': '{path}', 'records': 0, 'quarantined': 1" in example
    assert "'main_reason': 'the gzip stream ends early, in line" in example
    assert "copy it again whole" in example
    assert not project.warehouse.exists()
    # the whole file, copied again: read (a failed file is read again at every run), all 2,000 calls published
    path.write_bytes(whole)
    project.finops("run", "--date", DAY, check=True)
    assert project.query("select count(*) from finance.fct_llm_requests") == [(2000,)]
    assert project.query("select count(*) from finance.quarantine") == [(0,)]


def test_usage_files_in_latin_1_utf_16_or_binary_fail_the_gate_naming_the_file_and_the_fix(project: Project):
    """Each ended in a traceback (exit 1) while the quarantined lines were fetched again as text."""
    write_jsonl(project.usage / "good.jsonl", calls(20, "g"))
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in calls(5, "x", day=DAY))
    (project.usage / "latin1.jsonl").write_bytes(text.replace("acme", "café").encode("latin-1"))
    (project.usage / "utf16.jsonl").write_bytes(text.encode("utf-16"))
    (project.usage / "binary.jsonl").write_bytes(bytes(range(256)) * 40)
    run = project.finops("run", "--date", DAY)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    examples = gate_examples(run.stderr)
    assert len(examples) == 3
    reasons = {
        "binary.jsonl": "not UTF-8 text: byte 0x80 in line 2 (byte 128 of the text); nothing of the file is staged: "
        "save it as UTF-8",
        "latin1.jsonl": "not UTF-8 text: byte 0xe9 in line 1 (byte 75 of the text); nothing of the file is staged: "
        "save it as UTF-8",
        "utf16.jsonl": "UTF-16 text (it starts with a UTF-16 byte-order mark); nothing of the file is staged: "
        "save it as UTF-8",
    }
    for name, reason in reasons.items():
        path = project.usage / name
        assert f"ERROR {path}: cannot be read whole: {reason}" in run.stderr
        assert any(
            f"'file': '{path}', 'records': 0, 'quarantined': 1" in e and f"'main_reason': '{reason}'" in e
            for e in examples
        ), examples


def test_a_usage_file_removed_before_it_is_read_is_skipped_with_a_warning(project: Project, caplog):
    """A file the glob listed but that is gone when its turn comes (here: removed while the file before it is read)
    is skipped with a warning; it crashed the run with a traceback."""
    caplog.set_level("INFO", logger="finops")
    write_jsonl(project.usage / "a.jsonl", calls(3, "a"))
    write_jsonl(project.usage / "b.jsonl", calls(4, "b"))
    write_jsonl(project.usage / "c.jsonl", calls(5, "c"))
    cfg = load_config(project.config)
    con = duckdb.connect()

    def read_then_remove_the_next_one(path: Path, **where):
        if path.name == "a.jsonl":
            (project.usage / "b.jsonl").unlink()
        return stage_usage_file(con, path, **where)

    state = State()
    staging = stage_usage(cfg, Layout.of(cfg), state, canonical_reader=read_then_remove_the_next_one)
    assert staging.staged == [str(project.usage / "a.jsonl"), str(project.usage / "c.jsonl")]
    assert sorted(state.files) == staging.staged
    assert f"{project.usage / 'b.jsonl'}: removed before it was read; skipped (it is no longer there)" in caplog.text


def test_a_file_reached_through_a_symlink_loop_or_by_two_sources_is_read_once(project: Project, caplog):
    """A symlink loop under a `**` glob staged one file 41 times (and its quarantined line 41 times); a file matched
    by two sources was read by both."""
    caplog.set_level("INFO", logger="finops")
    write_jsonl(project.usage / "u.jsonl", calls(3, "u") + ["{broken"])
    os.symlink(project.usage, project.usage / "loop")
    project.write_config(
        usage='[[usage.sources]]\nkind = "canonical"\nname = "all"\npath = "usage/**/*.jsonl"\n\n'
        '[[usage.sources]]\nkind = "canonical"\nname = "again"\npath = "usage/u.jsonl"\n'
    )
    cfg = load_config(project.config)
    state, staging = stage_usage_files(cfg, Layout.of(cfg))
    path = str(project.usage / "u.jsonl")
    assert staging.staged == [path] and list(state.files) == [path]
    assert state.files[path].source == "all" and state.files[path].quarantined == 1
    assert (
        f"{path}: also matched as {project.usage / 'loop' / 'u.jsonl'} (and 39 more) by source 'all' and as "
        f"{path} by source 'again': read once, by source 'all'" in caplog.text
    )
