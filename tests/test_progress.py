"""Progress of the long steps (issue 24 §4, core/progress.py): on a terminal, `finops run` shows which usage file it
stages and which dbt node runs ("n of N"), each on one line rewritten in place; in a log or CI (stderr not a
terminal) none of it is written."""

from __future__ import annotations

import os
import subprocess

from conftest import FINOPS, Project, event, write_jsonl

CLEAR = "\r\x1b[K"


def run_on_a_terminal(project: Project, *args: str) -> tuple[int, str]:
    """`finops ARGS --config ...` with its stderr on a pseudo-terminal: (exit status, what the terminal got)."""
    terminal, child_side = os.openpty()
    proc = subprocess.Popen(
        [str(FINOPS), *args, "--config", str(project.config)],
        stdout=subprocess.DEVNULL,
        stderr=child_side,
        cwd=project.root,
    )
    os.close(child_side)
    received = bytearray()
    while True:
        try:
            chunk = os.read(terminal, 1 << 16)
        except OSError:  # EIO: the command ended and closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(terminal)
    return proc.wait(timeout=600), received.decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_only(project: Project):
    write_jsonl(project.usage / "a.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    logged = project.finops("run", "--date", "2026-11-02", check=True)  # stderr to a pipe: a log
    assert CLEAR not in logged.stderr and "dbt: " not in logged.stderr and "usage files: " not in logged.stderr

    write_jsonl(project.usage / "b.jsonl", [event("e2", "2026-11-03T10:00:00Z")])
    status, shown = run_on_a_terminal(project, "run", "--date", "2026-11-03")
    assert status == 0, shown[-3000:]
    assert f"{CLEAR}usage files: 1 of 2 {project.usage / 'a.jsonl'}" in shown
    assert f"{CLEAR}usage files: 2 of 2 {project.usage / 'b.jsonl'}" in shown
    nodes = [line.split(" ", 4) for line in shown.split(CLEAR) if line.startswith("dbt: ")]
    total = int(nodes[0][3])
    assert total > 40 and [int(n[1]) for n in nodes][:3] == [1, 2, 3] and all(int(n[3]) == total for n in nodes)
    assert f"{CLEAR}dbt: {total} of {total} " in shown
    # a log line on the terminal first erases the progress line: none is written after a progress text
    assert all(piece.startswith(("dbt: ", "usage files: ", "20")) or not piece for piece in shown.split(CLEAR)[1:])
