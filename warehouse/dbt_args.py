"""The dbt command line of a build, built in one plain function (used by the CLI and by Dagster)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# the dbt installed beside this Python (the project's .venv), whatever PATH says
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"


def dbt_build_args(build_vars: dict, target_path: Path | None = None, quiet: bool = False) -> list[str]:
    """`dbt build` (models + their tests) for one build window, its context passed as --vars.

    quiet: only errors on the console (the CLI); Dagster reads dbt's structured events instead."""
    args = ["build", "--vars", json.dumps(build_vars, sort_keys=True)]
    if quiet:
        args.append("--quiet")
    if target_path is not None:
        args += ["--target-path", str(target_path)]
    return args
