"""The dbt assets on the Spark engine: dbt runs in the asset's process (dbt-spark's `session` method shares its
SparkSession, and the build's inputs are in that session's catalog), and its events become the same Dagster
materializations and asset checks as a `dbt build` through DbtCliResource."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetExecutionContext
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from finops.spark_config import SparkSettings
from warehouse.build import Build
from warehouse.engines.spark.session import run_dbt_spark


def spark_dbt_events(context: AssetExecutionContext, build: Build, settings: SparkSettings):
    """Run the build's `dbt build` on Spark and yield its Dagster events (models, tests as asset checks)."""
    events: list[dict] = []
    run_dbt_spark(build, settings, on_event=events.append)
    manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    for event in events:
        if not event.get("data", {}).get("node_info", {}).get("unique_id"):
            continue
        message = DbtCoreCliEventMessage(raw_event=event, event_history_metadata={})
        yield from message.to_default_asset_events(manifest=manifest, dagster_dbt_translator=translator,
                                                   context=context, target_path=Path(build.target_path),
                                                   project=project)
