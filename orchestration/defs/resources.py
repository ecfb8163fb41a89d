"""Dagster resources: the finops config (read at run time, never at import); the dbt project's manifest."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtProject

from core.config import Config, default_config_path, load_config
from warehouse.dbt_args import DBT_PROJECT_DIR, parse_project


class FinopsConfig(ConfigurableResource):
    """Which finops config file the assets run with (default: $FINOPS_CONFIG, else the bundled sample)."""

    config_path: str = ""

    def load(self) -> Config:
        return load_config(self.config_path or os.environ.get("FINOPS_CONFIG") or default_config_path())


def _manifest_is_stale(manifest: Path) -> bool:
    """No manifest yet (a fresh clone), or a dbt file changed after it was written (a pull, an edit)."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    return any(
        p.stat().st_mtime > written
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in (".sql", ".yml") and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
    )


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
# Parse the dbt project for its manifest: on every load under `dagster dev` (what DbtProject.prepare_if_dev
# does, but with the dbt of this environment even when .venv is not activated), and whenever it is stale.
if os.getenv("DAGSTER_IS_DEV_CLI") or _manifest_is_stale(dbt_project.manifest_path):
    parse_project(dbt_project.manifest_path.parent)

finops_config = FinopsConfig()
