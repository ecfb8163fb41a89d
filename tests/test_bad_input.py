"""Bad input or config never ends in a Python traceback: the real CLI exits 2 with one line that names the file or
the key and says what to do. A genuine internal error (a bug) exits 4 with one line saying where its traceback was
written. Exit codes: README "Commands", `finops --help`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FINOPS, Project, event, write_jsonl

TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


def shim(project: Project, code: str) -> dict[str, str]:
    """The environment of a finops whose Python runs `code` at start-up (a sitecustomize on PYTHONPATH)."""
    folder = project.root / "shim"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(code))
    return {**os.environ, "PYTHONPATH": str(folder)}


HIDE_PYSPARK = """
    import sys

    class HidePyspark:
        '''Finds no pyspark, as in a Python where it is not installed.'''
        def __init__(self, finder):
            self.finder = finder
        def find_spec(self, name, path=None, target=None):
            if name == "pyspark" or name.startswith("pyspark."):
                return None
            return self.finder.find_spec(name, path, target)
        def __getattr__(self, attribute):
            return getattr(self.finder, attribute)

    sys.meta_path[:] = [HidePyspark(finder) for finder in sys.meta_path]
"""


def non_utf8_config(project: Project) -> dict[str, str] | None:
    project.config.write_bytes(b"# Caf\xe9 team's config (latin-1)\n" + project.config.read_bytes())
    return None


def spark_without_pyspark(project: Project) -> dict[str, str] | None:
    project.write_config(warehouse='path = "warehouse/finops.duckdb"\nengine = "spark"')
    return shim(project, HIDE_PYSPARK)


def as_is(project: Project) -> dict[str, str] | None:
    return None


@pytest.mark.parametrize(
    "prepare, args, expected",
    [
        (non_utf8_config, ["run", "--date", "2026-11-02"], "finops.toml: not UTF-8 text (byte 0xe9 on line 1)"),
        (
            spark_without_pyspark,
            ["run", "--date", "2026-11-02"],
            "key 'warehouse.engine' is \"spark\" but pyspark is not installed",
        ),
        (as_is, ["run", "--date", "0001-01-01"], "--date 0001-01-01 is before 2000-01-01"),
        (as_is, ["run", "--date", "9999-12-31"], "--date 9999-12-31 is after today"),
        (as_is, ["run", "--date", TOMORROW], f"--date {TOMORROW} is after today"),
        (as_is, ["backfill", "--from", "2026-11-01", "--to", "9999-12-31"], "--to 9999-12-31 is after today"),
        (as_is, ["backfill", "--from", "0001-01-01", "--to", "2026-11-02"], "--from 0001-01-01 is before 2000-01-01"),
        (as_is, ["report", "--week", "9999-W52"], "--week 9999-W52 starts after today"),
        (as_is, ["report", "--week", "0001-W01"], "--week 0001-W01 is before 2000-01-01"),
    ],
    ids=[
        "non-utf8-config",
        "spark-without-pyspark",
        "date-0001-01-01",
        "date-9999-12-31",
        "date-tomorrow",
        "backfill-to-9999",
        "backfill-from-0001",
        "week-9999-W52",
        "week-0001-W01",
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(project: Project, prepare, args: list[str], expected: str):
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    env = prepare(project)
    proc = subprocess.run(
        [str(FINOPS), *args, "--config", str(project.config)],
        capture_output=True,
        text=True,
        cwd=project.root,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert expected in line
    assert not project.warehouse.with_suffix(".data").exists()  # stopped before the pipeline touched anything


PLANTED_BUG = """
    import sys

    class PlantedBug:
        '''A bug in the pipeline's code: importing it fails.'''
        def find_spec(self, name, path=None, target=None):
            if name == "warehouse.pipeline":
                raise ZeroDivisionError("planted bug")
            return None

    sys.meta_path.insert(0, PlantedBug())
"""


def test_an_internal_error_exits_4_with_one_line_and_the_traceback_in_a_file(project: Project):
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    env = shim(project, PLANTED_BUG)
    proc = subprocess.run(
        [str(FINOPS), "run", "--date", "2026-11-02", "--config", str(project.config)],
        capture_output=True,
        text=True,
        cwd=project.root,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 4
    assert "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("finops: internal error (ZeroDivisionError: planted bug)")
    written = Path(line.split("traceback is in ")[1].split()[0])
    assert written.parent == project.warehouse.with_suffix(".data") / "errors"
    assert "Traceback" in written.read_text() and "planted bug" in written.read_text()

    debug = subprocess.run(
        [str(FINOPS), "run", "--date", "2026-11-02", "--config", str(project.config)],
        capture_output=True,
        text=True,
        cwd=project.root,
        env={**env, "FINOPS_DEBUG": "1"},
        timeout=300,
    )
    assert debug.returncode == 4
    assert "Traceback" in debug.stderr and "ZeroDivisionError: planted bug" in debug.stderr


class PlantedBug:
    """A bug in the pipeline's code, in this process: importing it fails."""

    def find_spec(self, name, path=None, target=None):
        if name == "warehouse.pipeline":
            raise ZeroDivisionError("planted bug")
        return None


def test_an_internal_error_in_main_called_from_python_names_the_command_of_the_call(
    project: Project, monkeypatch: pytest.MonkeyPatch
):
    """finops.cli.main(argv) called in a process of another program (here pytest's, as Project.finops does): the
    traceback file names the command main was given, not the process's own command line."""
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    monkeypatch.delitem(sys.modules, "warehouse.pipeline", raising=False)
    monkeypatch.setattr(sys, "meta_path", [PlantedBug(), *sys.meta_path])
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 4, proc.stderr
    written = Path(proc.stderr.split("traceback is in ")[1].split()[0])
    assert written.read_text().splitlines()[0] == f"finops run --date 2026-11-02 --config {project.config}"
