"""Usage files a run cannot trust: every record broken. Such a file fails the quality gate. Through the real
`finops` CLI (exit code, message, no traceback) and the real build step."""

from __future__ import annotations

from conftest import Project, event, write_jsonl
from warehouse.build import checked_usage_files
from warehouse.state import State, StagedUsageFile

DAY = "2026-11-02"


def calls(n: int, prefix: str, day: str = DAY) -> list[dict]:
    return [event(f"{prefix}{i}", f"{day}T{i % 24:02d}:{i % 60:02d}:00Z") for i in range(n)]


def gate_examples(stderr: str) -> list[str]:
    """The failing rows the CLI prints for the gate's quarantine_share suite."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("gx.quarantine_share /"))
    examples = []
    for line in lines[start + 1:]:
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


def test_a_file_with_no_accepted_record_counts_against_every_build():
    """Which files the gate's quarantine_share suite checks for a build: those holding accepted records of its days,
    and those holding none at all (every record quarantined, or a failed file): they have no day of their own."""
    def staged(days: dict[str, int], quarantined: int, failure: str | None = None) -> StagedUsageFile:
        return StagedUsageFile(source="s", key="k", seq=1, size=1, mtime_ns=1, days=days, quarantined=quarantined,
                               failure=failure)
    state = State(files={"a.jsonl": staged({"2026-11-02": 10}, 1), "b.jsonl": staged({"2026-11-03": 5}, 0),
                         "bad.jsonl": staged({}, 50), "cut.jsonl.gz": staged({}, 1, "the gzip stream ends early"),
                         "empty.jsonl": staged({}, 0)})
    assert checked_usage_files(state, ["2026-11-02"]) == [["a.jsonl", 10, 1], ["bad.jsonl", 0, 50],
                                                          ["cut.jsonl.gz", 0, 1]]
    assert checked_usage_files(state, ["2026-11-04"]) == [["bad.jsonl", 0, 50], ["cut.jsonl.gz", 0, 1]]
