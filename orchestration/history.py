"""One history for `finops run`, `finops backfill`, `finops demo` and Dagster: a run of the CLI is recorded in the
Dagster instance `dagster dev` opens, as materializations of the nightly job's own assets (orchestration/definitions.py:
the daily-partitioned ones), one per asset and published day, tagged with the CLI run's id. `dagster dev` then shows
the days the CLI published as materialized partitions, beside the ones Dagster ran itself.

The instance is $DAGSTER_HOME when it is set, else <warehouse folder>/dagster_home (beside the warehouse): start
`dagster dev` with DAGSTER_HOME and FINOPS_CONFIG set to see the history of that warehouse (README, Dagster).
Recording costs one SQLite write per asset and day (about 50 assets: seconds per day on a slow disk, as in a
Dagster run of the same partitions); FINOPS_DAGSTER_HISTORY=0 turns it off. Recording happens after the publish: a failure to record is a warning, and the run's exit status stays that of the
publish (the published numbers are the bill whether or not Dagster heard of them).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
import warnings
from pathlib import Path

from core.config import Config

log = logging.getLogger("finops")

HISTORY_ENV = "FINOPS_DAGSTER_HISTORY"  # "0": not recorded (a warehouse whose runs Dagster never shows; the tests)


def dagster_home(cfg: Config) -> Path:
    """The Dagster instance folder the CLI records into: $DAGSTER_HOME, else <warehouse folder>/dagster_home."""
    return Path(os.environ.get("DAGSTER_HOME") or cfg.warehouse_path.parent / "dagster_home")


def record_published_days(cfg: Config, days: list[str], statuses: dict[str, str], recosted: int) -> None:
    """Record each published day as a materialized partition of every daily asset of the nightly job (not when
    $FINOPS_DAGSTER_HISTORY is "0")."""
    if not days or os.environ.get(HISTORY_ENV) == "0":
        return
    from dagster import AssetMaterialization, BetaWarning, DagsterInstance, MetadataValue

    # the assets' backfill_policy is a Dagster beta: its warning is no news for a finops user
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        from orchestration.definitions import defs
        from orchestration.defs.partitions import daily

    home = dagster_home(cfg)
    run_id = uuid.uuid4().hex
    command = "finops " + " ".join(sys.argv[1:]) if sys.argv else "finops"
    graph = defs.resolve_asset_graph()
    keys = sorted((k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def == daily), key=str)
    try:
        home.mkdir(parents=True, exist_ok=True)
        # the default instance (SQLite in this folder), said so: Dagster warns otherwise
        (home / "dagster.yaml").touch()
        with DagsterInstance.from_config(str(home)) as instance:
            for day in days:
                metadata = {
                    "finops_run_id": run_id,
                    "command": command,
                    "day_status": statuses.get(day, "complete"),
                    "days_in_run": len(days),
                    "recosted_days": recosted,
                    "warehouse": MetadataValue.path(str(cfg.warehouse_path)),
                }
                for key in keys:
                    instance.report_runless_asset_event(
                        AssetMaterialization(asset_key=key, partition=day, metadata=metadata)
                    )
    except Exception as exc:  # noqa: BLE001 - the publish is done: history is not worth failing it for
        log.warning("could not record this run in Dagster's history at %s: %s", home, exc)
        return
    log.info("recorded in Dagster's history (%s): %d day(s) x %d asset(s), run %s", home, len(days), len(keys), run_id)
