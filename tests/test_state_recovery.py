"""The pipeline's state (<warehouse>.data/state.json) lost, truncated, garbage or older than the published catalog:
the published catalog is the truth, its history is never shrunk (docs/reliability.md)."""

from __future__ import annotations

import json

import pytest
from conftest import Prebuilt, Project, event, write_jsonl

DAYS = [f"2026-11-{d:02d}" for d in range(2, 8)]  # six published days


def calls_by_day(project: Project) -> dict[str, int]:
    return dict(project.query("select usage_date::varchar, count(*) from finance.fct_llm_requests group by 1"))


def publish_six_days(project: Project) -> None:
    for n, day in enumerate(DAYS + ["2026-11-08"]):
        write_jsonl(
            project.usage / f"{day}.jsonl",
            [event(f"{day}-{i}", f"{day}T1{i}:00:00Z", input_tokens=1000 * (n + 1)) for i in range(3)],
        )
    project.finops("backfill", "--from", DAYS[0], "--to", DAYS[-1], check=True)
    assert calls_by_day(project) == dict.fromkeys(DAYS, 3)


@pytest.fixture(scope="module")
def six_days_built(tmp_path_factory) -> Prebuilt:
    return Prebuilt(tmp_path_factory.mktemp("state_recovery") / "project", publish_six_days)


@pytest.fixture
def six_days(six_days_built: Prebuilt) -> Project:
    """Six days published, 3 calls each (one file per day); the seventh day's file written, not yet run (one
    backfill for the module, restored for each test)."""
    return six_days_built.restore()


def state_file(project: Project):
    return project.warehouse.with_name("finops.data") / "state.json"


def test_a_lost_state_file_is_rebuilt_from_the_published_catalog(six_days: Project):
    state_file(six_days).unlink()
    run = six_days.finops("run", "--date", "2026-11-08")
    assert run.returncode == 0, run.stderr[-3000:]
    assert calls_by_day(six_days) == dict.fromkeys(DAYS + ["2026-11-08"], 3)
    assert f"{state_file(six_days)} is missing: rebuilt from the published catalog" in run.stderr
    # nothing but the new day was rebuilt: the staged files were taken from the catalog's state as they were
    assert "(1 day(s) built: 2026-11-08 .. 2026-11-08)" in run.stdout
    assert "also rebuilding" not in run.stderr


def test_a_truncated_or_garbage_state_file_is_rebuilt_from_the_published_catalog(six_days: Project):
    path = state_file(six_days)
    path.write_text(path.read_text()[: len(path.read_text()) // 2])  # cut in the middle of a write
    run = six_days.finops("run", "--date", "2026-11-08")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert f"{path} is unreadable (not a state document (JSONDecodeError" in run.stderr
    assert "rebuilt from the published catalog" in run.stderr
    assert calls_by_day(six_days) == dict.fromkeys(DAYS + ["2026-11-08"], 3)

    path.write_text('{"files": 3, "days": []}')  # JSON, but not a state
    write_jsonl(six_days.usage / "2026-11-09.jsonl", [event("late-1", "2026-11-09T10:00:00Z")])
    run = six_days.finops("run", "--date", "2026-11-09")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert f"{path} is unreadable (not a state document (AttributeError" in run.stderr
    assert calls_by_day(six_days) == {**dict.fromkeys(DAYS + ["2026-11-08"], 3), "2026-11-09": 1}
    assert "also rebuilding" not in run.stderr


def test_a_state_file_older_than_the_catalog_does_not_shrink_history(six_days: Project):
    """A state.json restored from a backup (or left by a run killed between the catalog's rename and the state's
    save: the same case) names the partitions of an older publish: the catalog's copy is taken."""
    path = state_file(six_days)
    backup = path.read_text()
    six_days.finops("run", "--date", "2026-11-08", check=True)
    path.write_text(backup)
    write_jsonl(six_days.usage / "2026-11-09.jsonl", [event("late-1", "2026-11-09T10:00:00Z")])
    run = six_days.finops("run", "--date", "2026-11-09")
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{path} is from another publish" in run.stderr
    assert calls_by_day(six_days) == {**dict.fromkeys(DAYS + ["2026-11-08"], 3), "2026-11-09": 1}
    assert "(1 day(s) built: 2026-11-09 .. 2026-11-09)" in run.stdout
    # and the report sees every published day
    assert json.loads(path.read_text())["days"].keys() >= set(DAYS + ["2026-11-08", "2026-11-09"])


def test_a_lost_state_file_beside_a_catalog_without_its_copy_stops_the_run(six_days: Project):
    """A catalog published by a finops from before the catalog's copy of the state: nothing to rebuild from, so the
    run refuses (exit 2) and leaves the published warehouse as it is."""
    import duckdb

    with duckdb.connect(str(six_days.warehouse)) as con:
        con.execute("drop schema finops_pipeline cascade")
    before = six_days.warehouse.read_bytes()
    state_file(six_days).unlink()
    run = six_days.finops("run", "--date", "2026-11-08")
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        f"finops: {state_file(six_days)} is missing, and the published catalog {six_days.warehouse} was written "
        "by an earlier finops that kept no copy of it: restore state.json from a backup, or move the published "
        f"catalog {six_days.warehouse} aside and run `finops backfill` over the whole history"
    )
    assert "Traceback" not in run.stderr
    assert six_days.warehouse.read_bytes() == before
