"""The dbt assets' events: dbt runs in the asset's process, on the engine's target (warehouse/dbt_args.py run_dbt,
the same run as `finops run`), and its events become Dagster materializations and asset checks, as dagster-dbt
makes them from `dbt build`'s structured log."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from core.config import Config
from warehouse.build import Build
from warehouse.pipeline import run_dbt


def dbt_events(context: AssetExecutionContext, cfg: Config, build: Build):
    """Run the build's `dbt build` and yield its Dagster events (models, tests as asset checks)."""
    events: list[dict] = []
    run_dbt(cfg, build, on_event=events.append)
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    for event in events:
        if not event.get("data", {}).get("node_info", {}).get("unique_id"):
            continue
        message = DbtCoreCliEventMessage(raw_event=event, event_history_metadata={})
        yield from message.to_default_asset_events(
            manifest=manifest,
            dagster_dbt_translator=translator,
            context=context,
            target_path=Path(build.target_path),
            project=project,
        )
