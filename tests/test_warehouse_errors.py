"""The warehouse's files and [warehouse] keys that cannot be used: the real CLI exits 2 with one line naming the file
or key and what to do, never a traceback (docs/reliability.md)."""

from __future__ import annotations

import pytest
from conftest import Project, event, write_jsonl


def one_error_line(project: Project, *args: str) -> str:
    run = project.finops(*args)
    assert run.returncode == 2, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    return run.stderr.strip().splitlines()[-1]


@pytest.fixture
def day(project: Project) -> Project:
    write_jsonl(project.usage / "d1.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    return project


def test_the_lock_path_a_folder(day: Project):
    lock = day.warehouse.with_name("finops.data") / "lock"
    lock.mkdir(parents=True)
    assert one_error_line(day, "run", "--date", "2026-11-02") == (
        f"finops: {lock}: is a folder, expected the pipeline's lock file (nothing else belongs there): remove it and "
        "run again"
    )


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            '""',
            "key 'warehouse.path' is empty, expected the published warehouse file, e.g. \"warehouse/finops.duckdb\"",
        ),
        (
            '"warehouse"',
            "key 'warehouse.path' is the folder {root}/warehouse, expected the published warehouse file, "
            'e.g. "warehouse/finops.duckdb"',
        ),
    ],
)
def test_the_warehouse_path_empty_or_a_folder(day: Project, path: str, expected: str):
    (day.root / "warehouse").mkdir()
    day.write_config(warehouse=f"path = {path}")
    assert one_error_line(day, "run", "--date", "2026-11-02") == f"finops: {day.config}: " + expected.format(
        root=day.root
    )


def test_an_unwritable_warehouse_folder(day: Project):
    # /sys refuses new folders, to root too (a folder of mode 0555 would not stop root)
    day.write_config(warehouse='path = "/sys/finops/finops.duckdb"')
    assert one_error_line(day, "run", "--date", "2026-11-02").startswith(
        "finops: /sys/finops: cannot be written ("
    )  # (Operation not permitted / Permission denied)


def test_the_warehouse_path_names_a_file_that_is_not_a_warehouse(day: Project):
    day.warehouse.parent.mkdir()
    day.warehouse.write_text("tenant,budget\nacme,100\n")
    line = one_error_line(day, "run", "--date", "2026-11-02")
    assert line.startswith(f"finops: {day.warehouse}: not a warehouse catalog finops can open (")
    assert line.endswith("check [warehouse] path, or move the file aside if it is not the published warehouse")
    assert day.warehouse.read_text() == "tenant,budget\nacme,100\n"


def test_a_corrupt_state_file_before_anything_is_published_is_a_warning(day: Project):
    state = day.warehouse.with_name("finops.data") / "state.json"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"\x00\x01garbage")
    run = day.finops("run", "--date", "2026-11-02")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert f"{state} is unreadable (not a state document (JSONDecodeError: " in run.stderr
    assert "nothing is published yet, starting afresh (every usage file is read again)" in run.stderr
    assert day.query("select count(*) from finance.fct_llm_requests") == [(1,)]
