"""Every build starts from the project's saved parse (warehouse/dbt_args.py PARTIAL_PARSE) and parses only what
changed, also after the SQL lint: sqlfluff's dbt templater parses the project with a profile of its own, in a target
folder of its own (.sqlfluff), and must not replace the saved parse (each build would then parse the whole project
again: about 2.5 s more per build)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from conftest import Project, event, write_jsonl

from core.config import load_config
from core.layout import Layout
from warehouse.dbt_args import PARTIAL_PARSE, project_manifest
from warehouse.pipeline import plan_days, prepare_days, run_dbt, stage_inputs

ROOT = Path(__file__).resolve().parent.parent


def test_a_build_after_the_sql_lint_parses_only_what_changed(project: Project):
    saved = project_manifest().with_name(PARTIAL_PARSE)
    before = saved.read_bytes()
    (ROOT / "dbt_project/target/sqlfluff").mkdir(parents=True, exist_ok=True)  # as `make lint-sql` (a clean clone)
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "sqlfluff"), "lint", "dbt_project/models/staging/stg_raw__budgets.sql"],
        cwd=ROOT,
        env=os.environ | {"FINOPS_BUILD_DB": "dbt_project/target/sqlfluff/parse_only.duckdb"},  # as `make lint`
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert saved.read_bytes() == before

    write_jsonl(project.usage / "day.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    cfg = load_config(project.config)
    layout = Layout.of(cfg)
    state = stage_inputs(cfg, layout)
    build = prepare_days(cfg, layout, state, plan_days(cfg, layout, state, [date(2026, 11, 2)]))
    run_dbt(cfg, build)
    log = (Path(build.target_path).parent / "logs" / "dbt.log").read_text()
    assert "Partial parsing enabled" in log
    assert "Unable to do partial parsing" not in log
