"""dbt for a build: its `dbt build` command line, and the one way finops runs it (the CLI and Dagster alike): in this
process through dbt's Python API (dbtRunner), on the profiles.yml target of the engine."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.progress import on_terminal, show_progress
from core.vocabulary import DBT_VARS

if TYPE_CHECKING:
    from warehouse.build import Build

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# The project's manifest (what Dagster's dbt assets and warehouse/finance_tables.py read): written by `dbt parse`
# when missing (a fresh clone) or older than a dbt file (a pull, an edit): project_manifest.
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"

log = logging.getLogger("finops")


def dbt_build_args(build_vars: dict, target_path: Path | None = None, quiet: bool = False) -> list[str]:
    """`dbt build` (models + their data tests) for one build window, its context and the vocabularies
    (core/vocabulary.py) passed as --vars. The dbt unit
    tests (fixed rows, DuckDB SQL) are not part of a build: `make check` runs them.

    quiet: only errors on the console; Dagster reads dbt's structured events instead."""
    vocabularies = {name: list(values) for name, values in DBT_VARS.items()}
    args = ["build", "--exclude", "test_type:unit", "--vars", json.dumps(vocabularies | build_vars, sort_keys=True)]
    if quiet:
        args.append("--quiet")
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    return args


def run_dbt(build: Build, target: str, env: dict[str, str], on_event: Callable[[dict], None] | None = None) -> None:
    """`dbt build` of the build's days on a target of dbt_project/profiles.yml (one per engine), in this process,
    with `env` set: what the target reads (env_var()).
    Its results (run_results.json in the build's target folder) are read by the gate; its errors go to stderr,
    its log to the build's folder. on_event: called with each dbt event as a dict, as dbt's JSON log lines have it
    (Dagster turns them into materializations and asset checks: orchestration/defs/dbt_events.py)."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    build_dir = Path(build.target_path).parent
    args = dbt_build_args(build.vars, Path(build.target_path), quiet=True) + [
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--log-path",
        str(build_dir / "logs"),
    ]
    callbacks = [lambda event: on_event(msg_to_dict(event))] if on_event else []
    if on_terminal():
        callbacks.append(_show_node_progress)
    with _environment(env), contextlib.redirect_stdout(sys.stderr):  # stdout is the command's own output
        result = dbtRunner(callbacks=callbacks).invoke(args)
    show_progress("")
    if result.exception is not None:
        log.error("dbt stopped: %s", result.exception)


def _show_node_progress(event) -> None:
    """On a terminal: "dbt: 12 of 57 sql table model main.int_requests__costed" as each model or test starts."""
    if event.info.name == "LogStartLine":
        data = event.data
        show_progress(f"dbt: {data.index} of {data.total} {data.description}")


@contextlib.contextmanager
def _environment(settings: dict[str, str]):
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def parse_project(target_path: Path) -> None:
    """`dbt parse`: the project's manifest, for Dagster's dbt assets (the DuckDB target: no database is opened)."""
    from dbt.cli.main import dbtRunner

    dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_path),
        ]
    )


def generate_docs(database: Path, target_path: Path, empty_catalog: bool = False) -> Path:
    """`dbt docs generate --static` on the DuckDB target opened on `database` (whose information schema gives the
    catalog: each table's columns and types; empty_catalog: none); returns the one-page site it writes."""
    from dbt.cli.main import dbtRunner

    args = ["docs", "generate", "--static", "--quiet", "--project-dir", str(DBT_PROJECT_DIR)]
    args += ["--profiles-dir", str(DBT_PROJECT_DIR), "--target", "duckdb", "--target-path", str(target_path)]
    args += ["--log-path", str(target_path / "logs")] + (["--empty-catalog"] if empty_catalog else [])
    with _environment({"FINOPS_BUILD_DB": str(database)}), contextlib.redirect_stdout(sys.stderr):
        result = dbtRunner().invoke(args)
    if not result.success:
        raise RuntimeError(f"dbt docs generate failed: {result.exception or 'see the log above'}")
    return target_path / "static_index.html"


def manifest_is_stale() -> bool:
    """No manifest yet (a fresh clone), or a dbt file changed after it was written (a pull, an edit)."""
    if not MANIFEST.exists():
        return True
    written = MANIFEST.stat().st_mtime
    return any(
        p.stat().st_mtime > written
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in (".sql", ".yml", ".md") and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
    )


def project_manifest(force: bool = False) -> Path:
    """MANIFEST, parsed first when stale (or `force`). dbt parses into a folder of its own, and the manifest replaces
    the old one in one rename: a process reading it at the same time sees the old or the new one, whole."""
    if force or manifest_is_stale():
        import tempfile

        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=MANIFEST.parent, prefix=".parse-") as parsed:
            parse_project(Path(parsed))
            os.replace(Path(parsed) / "manifest.json", MANIFEST)
    return MANIFEST
