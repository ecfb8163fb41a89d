"""What the pipeline deletes, and when (docs/reliability.md).

- A partition file superseded by a publish stays RETAIN_SECONDS from the moment it was superseded (state.superseded),
  for readers that still hold an older catalog open; a partition file never published (a publish that crashed)
  stays RETAIN_SECONDS from when it was written.
- A run's results file (results/<run id>.parquet) stays RETAIN_SECONDS: every publish folds the results files into
  finance.data_quality_results beside the rows of the catalog it replaces (warehouse/publish.py), so the history
  of the checks is kept in the catalog.
- Leftovers of a run that crashed (kill -9, power loss) are removed by the next run once it holds the lock: its
  scratch build folder and its temporary catalog beside the warehouse file. A build a Dagster run still needs
  (named in builds/dagster-<run id>.json) stays until that file is RETAIN_SECONDS old.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from core.layout import Layout
from warehouse.state import State

log = logging.getLogger("finops")

RETAIN_SECONDS = 7 * 24 * 3600


def collect_garbage(layout: Layout, state: State) -> None:
    """After a publish: delete the partition files and results files past their retention, and empty build folders
    of the tables; `state.superseded` forgets the deleted files (the caller saves the state)."""
    cutoff = time.time() - RETAIN_SECONDS
    referenced = {rel for parts in state.partitions.values() for rel in parts.values()}
    for path in layout.tables_dir.glob("*/*/*/*.parquet"):
        rel = str(path.relative_to(layout.data))
        if rel not in referenced and state.superseded.get(rel, path.stat().st_mtime) < cutoff:
            path.unlink()
    state.superseded = {rel: at for rel, at in state.superseded.items() if (layout.data / rel).exists()}
    for build_dir in layout.tables_dir.glob("*/*"):
        if build_dir.is_dir() and not any(build_dir.rglob("*.parquet")):
            shutil.rmtree(build_dir, ignore_errors=True)
    for path in layout.results_dir.glob("*.parquet"):
        if path.stat().st_mtime < cutoff:
            path.unlink()


def temp_catalog(layout: Layout, build_id: str) -> Path:
    """Where a publish writes its new catalog before renaming it over the published file."""
    return layout.warehouse.with_name(f".{layout.warehouse.name}.{build_id}.tmp")


def clean_leftovers(layout: Layout) -> None:
    """Remove what crashed runs left (called by the run that holds the lock): temporary catalogs (and their WAL
    files), and build folders no Dagster run in progress names."""
    for path in layout.warehouse.parent.glob(temp_catalog(layout, "*").name + "*"):
        path.unlink()
        log.info("removed %s (left by a run that stopped)", path)
    if not layout.builds_dir.is_dir():
        return
    cutoff = time.time() - RETAIN_SECONDS
    live = set()
    for path in layout.builds_dir.glob("dagster-*.json"):
        if path.stat().st_mtime < cutoff:
            path.unlink()
            continue
        try:
            live.add(Path(json.loads(path.read_text())["target_path"]).parent.name)
        except (ValueError, KeyError, TypeError):
            path.unlink()
    for build_dir in layout.builds_dir.iterdir():
        if build_dir.is_dir() and build_dir.name not in live:
            shutil.rmtree(build_dir, ignore_errors=True)
            log.info("removed the build folder %s (left by a run that stopped or failed)", build_dir)


def drop_unreferenced_staging(layout: Layout, state: State) -> None:
    """Remove staged usage and quarantine of files the state does not know (a staging that crashed, a lost state)."""
    keys = {f.key for f in state.files.values()}
    for path in (layout.data / "staged" / "usage").glob("*"):
        if path.name not in keys:
            shutil.rmtree(path, ignore_errors=True)
    for path in (layout.data / "staged" / "quarantine").glob("*.parquet"):
        if path.name.removesuffix(".parquet") not in keys:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
