"""The nightly pipeline for a set of usage days: stage inputs, build with dbt, check, publish.

`run_days` is what `finops run` and `finops backfill` call; the Dagster assets call the same steps
one by one (orchestration/defs/)."""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster_dbt import DbtCliResource

from finops.config import Config
from warehouse.build import Build, build_db_env, plan_build, prepare_build_db
from warehouse.build_summary import DayCostChange, cost_changes, log_cost_changes, log_unpriced
from warehouse.dbt_args import DBT_PROJECT_DIR, dbt_build_args
from warehouse.layout import Layout
from warehouse.publish import collect_garbage, export_partitions, write_catalog
from warehouse.quality import CheckResult, dbt_results, write_results
from warehouse.stage import UsageStaging, stage_gpu_offers, stage_prices, stage_usage
from warehouse.state import State

log = logging.getLogger("finops")


@dataclass(frozen=True)
class RunOutcome:
    published: bool
    build: Build
    failed_checks: list[CheckResult]
    cost_changes: list[DayCostChange] = field(default_factory=list)  # published days this run re-costed


@contextmanager
def pipeline_lock(layout: Layout):
    """One pipeline run at a time per warehouse (readers never need it)."""
    layout.data.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stage_usage_files(cfg: Config, layout: Layout) -> tuple[State, UsageStaging]:
    """Read new and changed usage files into the staging area; returns the (saved) state and what was read."""
    state = State.load(layout.state_file)
    staging = stage_usage(cfg, layout, state)
    state.save(layout.state_file)
    if staging.quarantined:
        log.warning("%d usage record(s) quarantined (see finance.quarantine)", staging.quarantined)
    return state, staging


def stage_inputs(cfg: Config, layout: Layout) -> State:
    """Stage prices, GPU offers and new or changed usage files; returns the updated (saved) state."""
    stage_prices(cfg, layout)
    stage_gpu_offers(cfg, layout)
    return stage_usage_files(cfg, layout)[0]


def prepare(cfg: Config, layout: Layout, state: State, days: list[date]) -> Build:
    build = plan_build(cfg, layout, state, days)
    prepare_build_db(cfg, layout, state, build)
    extra = sorted(set(build.days) - {d.isoformat() for d in days})
    if extra:
        log.info("also rebuilding %d day(s) whose inputs changed: %s", len(extra), ", ".join(extra))
    return build


def dbt_resource() -> DbtCliResource:
    # the dbt installed beside this Python (the project's .venv), whatever PATH says
    return DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                          dbt_executable=str(Path(sys.executable).parent / "dbt"))


def run_dbt(build: Build) -> list[CheckResult]:
    """Run `dbt build` on the build database; returns every check's result."""
    target = Path(build.target_path)
    with build_db_env(build):
        invocation = dbt_resource().cli(dbt_build_args(build.vars, quiet=True), raise_on_error=False,
                                        target_path=target)
        invocation.wait()
    return checks_of(build)


def checks_of(build: Build) -> list[CheckResult]:
    target = Path(build.target_path)
    run_results = json.loads((target / "run_results.json").read_text()) if (target / "run_results.json").exists() \
        else {"results": []}
    manifest = json.loads((target / "manifest.json").read_text()) if (target / "manifest.json").exists() else None
    results = dbt_results(run_results, manifest)
    if not run_results["results"]:
        results.append(CheckResult("dbt", "dbt build runs", "", False, 0, f"no dbt results in {target}"))
    return results


def finish(layout: Layout, state: State, build: Build, results: list[CheckResult]) -> RunOutcome:
    """Record the checks; publish when every check passed, else keep the published warehouse as it is."""
    write_results(results, build.build_id, layout.results_dir)
    log_unpriced(build)
    failed = [r for r in results if not r.success]
    if failed:
        log.error("quality gate failed: %d check(s); nothing published, %s kept as it was", len(failed),
                  layout.warehouse)
        for r in failed:
            log.error("  %s / %s on %s: %d unexpected %s", r.suite, r.expectation, r.table, r.unexpected_count,
                      r.message)
        return RunOutcome(published=False, build=build, failed_checks=failed)
    changes = cost_changes(layout, state, build)
    export_partitions(layout, build, state)
    write_catalog(layout, build, state)
    state.days.update(build.fingerprints)
    state.save(layout.state_file)
    shutil.rmtree(Path(build.db_path).parent, ignore_errors=True)
    collect_garbage(layout, state)
    log_cost_changes(changes)
    return RunOutcome(published=True, build=build, failed_checks=[], cost_changes=changes)


def run_days(cfg: Config, days: list[date]) -> RunOutcome:
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        state = stage_inputs(cfg, layout)
        build = prepare(cfg, layout, state, days)
        log.info("building %d day(s): %s .. %s", len(build.days), build.days[0], build.days[-1])
        results = run_dbt(build)
        return finish(layout, state, build, results)
