"""Dagster resources: the finops config (read at run time, never at import); the dbt project's manifest."""

from __future__ import annotations

import os

from dagster import ConfigurableResource
from dagster_dbt import DbtProject

from core.config import Config, default_config_path, load_config
from warehouse.dbt_args import DBT_PROJECT_DIR, project_manifest


class FinopsConfig(ConfigurableResource):
    """Which finops config file the assets run with (default: $FINOPS_CONFIG, else the bundled sample)."""

    config_path: str = ""

    def load(self) -> Config:
        return load_config(self.config_path or os.environ.get("FINOPS_CONFIG") or default_config_path())


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
# Parse the dbt project for its manifest: on every load under `dagster dev` (what DbtProject.prepare_if_dev
# does, but with the dbt of this environment even when .venv is not activated), and whenever it is stale.
project_manifest(force=bool(os.getenv("DAGSTER_IS_DEV_CLI")))

finops_config = FinopsConfig()
