"""dbt for a build: its `dbt build` command line, and the one way finops runs it (the CLI and Dagster alike): in this
process through dbt's Python API (dbtRunner), on the profiles.yml target of the engine."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
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
# dbt's saved parse of the project, written beside MANIFEST by the same `dbt parse`; each build starts from a copy
# (dbt reads it from the build's target folder, and rewrites it there), so a build parses only what changed (a new
# process's parse 2.8-3.3 s instead of 7.0-7.5 s at load 2.5: docs/performance.md)
PARTIAL_PARSE = "partial_parse.msgpack"

log = logging.getLogger("finops")


def dbt_build_args(target_path: Path | None = None, quiet: bool = False) -> list[str]:
    """`dbt build` (models + their data tests) with the vocabularies (core/vocabulary.py) as --vars: the same for
    every build and for the parse that writes the partial-parse file (a build's own context goes in the
    environment: build_env). The dbt unit tests (fixed rows, DuckDB SQL) are not part of a build: `make check` runs
    them.

    quiet: only errors on the console; Dagster reads dbt's structured events instead."""
    args = ["build", "--exclude", "test_type:unit", *_vocabulary_vars()]
    if quiet:
        args.append("--quiet")
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    return args


def _vocabulary_vars() -> list[str]:
    return ["--vars", json.dumps({name: list(values) for name, values in DBT_VARS.items()}, sort_keys=True)]


def build_env(build_vars: dict) -> dict[str, str]:
    """A build's context (its partitions folder, the published files it reads, the anomaly thresholds) as the
    environment variables FINOPS_VAR_<NAME> (JSON) that the build_var macro reads. As --vars it would make dbt
    parse the whole project for every build (dbt compares the command line's vars with the saved parse); a changed
    environment variable makes it parse again only the few models that read it."""
    return {f"FINOPS_VAR_{name.upper()}": json.dumps(value) for name, value in build_vars.items()}


def run_dbt(build: Build, target: str, env: dict[str, str], on_event: Callable[[dict], None] | None = None) -> None:
    """`dbt build` of the build's days on a target of dbt_project/profiles.yml (one per engine), in this process,
    with `env` and the build's context (build_env) set: what the target and the models read (env_var()).
    dbt runs in the build's folder, where the DuckDB target's database is `build.duckdb`: a path that is the same
    for every build, so that dbt's saved parse of the project (PARTIAL_PARSE, copied into the build's target
    folder) is valid for it and dbt parses only what changed.
    Its results (run_results.json in the build's target folder) are read by the gate; its errors go to stderr,
    its log to the build's folder. on_event: called with each dbt event as a dict, as dbt's JSON log lines have it
    (Dagster turns them into materializations and asset checks: orchestration/defs/dbt_events.py)."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    build_dir = Path(build.target_path).parent
    args = dbt_build_args(Path(build.target_path), quiet=True) + [
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
    saved_parse = project_manifest().with_name(PARTIAL_PARSE)
    Path(build.target_path).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(saved_parse, Path(build.target_path) / PARTIAL_PARSE)
    with (
        _environment(env | build_env(build.vars)),
        contextlib.chdir(build_dir),
        contextlib.redirect_stdout(sys.stderr),  # stdout is the command's own output
    ):
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
    """`dbt parse`: the project's manifest, for Dagster's dbt assets, and the partial-parse file every build starts
    from (the DuckDB target with the builds' --vars and no FINOPS_VAR_ set: no database is opened)."""
    from dbt.cli.main import dbtRunner

    dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            *_vocabulary_vars(),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
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
    try:
        with _environment({"FINOPS_BUILD_DB": str(database)}), contextlib.redirect_stdout(sys.stderr):
            result = dbtRunner().invoke(args)
    finally:
        close_dbt_duckdb()
    if not result.success:
        raise RuntimeError(f"dbt docs generate failed: {result.exception or 'see the log above'}")
    return target_path / "static_index.html"


def close_dbt_duckdb() -> None:
    """Close the database file dbt-duckdb keeps open in this process after dbt ran on the duckdb target (until the
    next dbt run replaces it), after each build and each docs generation: the gate opens the build file read-only
    next, and DuckDB refuses a second connection to one file with another configuration."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with contextlib.suppress(Exception):  # dbt stopped before it connected: nothing open
        DuckDBConnectionManager.env().close()
    DuckDBConnectionManager.close_all_connections()


def manifest_is_stale() -> bool:
    """No manifest or partial-parse file yet (a fresh clone), or a dbt file changed after it was written (a pull, an
    edit)."""
    if not MANIFEST.exists() or not MANIFEST.with_name(PARTIAL_PARSE).exists():
        return True
    written = MANIFEST.stat().st_mtime
    return any(
        p.stat().st_mtime > written
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in (".sql", ".yml", ".md") and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
    )


def project_manifest(force: bool = False) -> Path:
    """MANIFEST, parsed first when stale (or `force`), with the partial-parse file beside it. dbt parses into a
    folder of its own, and each file replaces the old one in one rename: a process reading it at the same time sees
    the old or the new one, whole."""
    if force or manifest_is_stale():
        import tempfile

        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=MANIFEST.parent, prefix=".parse-") as parsed:
            parse_project(Path(parsed))
            os.replace(Path(parsed) / PARTIAL_PARSE, MANIFEST.with_name(PARTIAL_PARSE))
            os.replace(Path(parsed) / "manifest.json", MANIFEST)
    return MANIFEST
