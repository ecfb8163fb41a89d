"""The nightly pipeline for a set of usage days: stage inputs, build with dbt, check, publish.

`run_days` is what `finops run` and `finops backfill` call; the Dagster assets call the same steps
one by one (orchestration/defs/)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import Config
from core.layout import Layout, WarehouseError
from expectations.quality_report import quality_report_path, write_quality_reports
from expectations.results import EXAMPLES, CheckResult, dbt_results, write_results
from ingest.stage import UsageStaging, stage_billing, stage_gpu_offers, stage_prices, stage_usage
from warehouse.build import Build, build_batches, days_to_build, plan_build
from warehouse.build_summary import DayCostChange, log_cost_changes, log_repeated, log_unpriced, unpriced_models
from warehouse.engines import Engine, engine_of
from warehouse.quarantine import quarantined_records
from warehouse.retention import clean_leftovers, drop_unreferenced_staging
from warehouse.state import State, load_state

if TYPE_CHECKING:
    from expectations.suites import Limits

log = logging.getLogger("finops")


@dataclass(frozen=True)
class RunOutcome:
    published: bool
    build: Build
    failed_checks: list[CheckResult]
    report: Path
    cost_changes: list[DayCostChange] = field(default_factory=list)  # published days this run re-costed
    published_days: list[str] = field(default_factory=list)  # every day published (of all builds, in order)
    statuses: dict[str, str] = field(default_factory=dict)  # each published day's status (complete, partial, empty)


@contextmanager
def pipeline_lock(layout: Layout):
    """One pipeline run at a time per warehouse (readers never need it). The lock file says who holds it: a run
    that has to wait says for whom. The run that holds it first removes what crashed runs left."""
    try:
        layout.data.mkdir(parents=True, exist_ok=True)
        handle = open(layout.lock_file, "a+")
    except IsADirectoryError:
        raise WarehouseError(
            f"{layout.lock_file}: is a folder, expected the pipeline's lock file (nothing else "
            "belongs there): remove it and run again"
        ) from None
    except OSError as exc:
        raise WarehouseError(
            f"{exc.filename}: cannot be written ({exc.strerror}): the warehouse folder must be "
            "writable by the pipeline; check [warehouse] path and the folder's owner"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            log.warning(
                "another run holds %s: waiting for the run %s",
                layout.lock_file,
                handle.read().strip() or "(it did not say which)",
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"started at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC by pid {os.getpid()} "
            f"on {socket.gethostname()}: {' '.join(sys.argv)}\n"
        )
        handle.flush()
        try:
            clean_leftovers(layout)
            check_writable(layout)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_writable(layout: Layout) -> None:
    """Stop before building when the folder of the warehouse file cannot take the new catalog."""
    probe = layout.warehouse.with_name(f".{layout.warehouse.name}.{os.getpid()}.probe")
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise WarehouseError(
            f"{layout.warehouse.parent}: cannot write the new catalog there ({exc.strerror}): the "
            "warehouse folder must be writable by the pipeline"
        ) from None


def current_state(cfg: Config, layout: Layout) -> State:
    """The pipeline's state, checked against the copy in what is published (warehouse/state.py)."""
    return load_state(layout, engine_of(cfg).published_state())


def stage_usage_files(cfg: Config, layout: Layout) -> tuple[State, UsageStaging]:
    """Read new and changed usage files into the staging area; returns the (saved) state and what was read."""
    state = current_state(cfg, layout)
    drop_unreferenced_staging(layout, state)
    staging = stage_usage(cfg, layout, state, canonical_reader=engine_of(cfg).canonical_reader())
    state.save(layout.state_file)
    if staging.quarantined:
        log.warning(
            "%d usage record(s) quarantined in the files read (`finops quarantine --date D` lists a day's)",
            staging.quarantined,
        )
    return state, staging


def stage_inputs(cfg: Config, layout: Layout) -> State:
    """Stage prices, GPU offers, bills and new or changed usage files; returns the updated (saved) state."""
    stage_prices(cfg, layout)
    stage_gpu_offers(cfg, layout)
    stage_billing(cfg, layout)
    return stage_usage_files(cfg, layout)[0]


def plan_days(cfg: Config, layout: Layout, state: State, days: list[date]) -> dict[str, str]:
    """The requested days plus every built day whose inputs changed (logged), with their fingerprints."""
    planned = days_to_build(cfg, layout, state, days)
    extra = sorted(set(planned) - {d.isoformat() for d in days})
    ended = [d for d in extra if state.status(d) == "partial"]
    changed = [d for d in extra if d not in ended]
    if changed:
        log.info("also rebuilding %d day(s) whose inputs changed: %s", len(changed), ", ".join(changed))
    if ended:
        log.info("also rebuilding %d day(s) published as partial that have ended: %s", len(ended), ", ".join(ended))
    return planned


def prepare_days(
    cfg: Config, layout: Layout, state: State, fingerprints: dict[str, str], allow_empty: bool = False
) -> Build:
    """Plan a build of exactly these days (day -> fingerprint, from plan_days) and create its inputs; allow_empty:
    a day with no usage record is published (status empty) even when the days before it have calls."""
    build = plan_build(cfg, layout, state, fingerprints, allow_empty)
    engine_of(cfg).prepare_build(layout, state, build)
    return build


def run_dbt(cfg: Config, build: Build, on_event=None) -> None:
    """Run `dbt build` on the build, in this process, on the engine's target (models and their tests; the results
    are read by `gate`). on_event: called with each dbt event (the Dagster asset turns them into its events)."""
    engine_of(cfg).run_dbt(build, on_event)


def dbt_checks(build: Build, engine: Engine) -> list[CheckResult]:
    """The build's dbt tests and models as checks; a failed test's examples are its first rows on the build."""
    target = Path(build.target_path)
    run_results = (
        json.loads((target / "run_results.json").read_text())
        if (target / "run_results.json").exists()
        else {"results": []}
    )
    manifest = json.loads((target / "manifest.json").read_text()) if (target / "manifest.json").exists() else None
    results = dbt_results(run_results, manifest, lambda sql: engine.build_rows(build, sql, EXAMPLES))
    if not run_results["results"]:
        results.append(CheckResult("dbt", "dbt build runs", "", False, 0, f"no dbt results in {target}"))
    return results


def limits_of(cfg: Config | None) -> Limits:
    """The gate's thresholds from [quality] (None: the defaults, e.g. to list the suites)."""
    from expectations.suites import Limits

    if cfg is None:
        from core.config import SCHEMA

        return Limits(
            **{
                key: SCHEMA["quality"][key][1]
                for key in (
                    "max_unpriced_share",
                    "max_quarantined_share",
                    "max_price_age_days",
                    "min_requests_vs_trailing_week",
                    "max_conflicting_share",
                    "max_billing_gap_share",
                    "max_billing_gap_usd",
                    "billing_gap_blocks",
                )
            }
        )
    return Limits(
        max_unpriced_share=cfg.max_unpriced_share,
        max_quarantined_share=cfg.max_quarantined_share,
        max_price_age_days=cfg.max_price_age_days,
        min_requests_vs_trailing_week=cfg.min_requests_vs_trailing_week,
        max_conflicting_share=cfg.max_conflicting_share,
        max_billing_gap_share=cfg.max_billing_gap_share,
        max_billing_gap_usd=cfg.max_billing_gap_usd,
        billing_gap_blocks=cfg.billing_gap_blocks,
    )


def blocking_failures(cfg: Config, results: list[CheckResult]) -> list[CheckResult]:
    """The failed checks that stop publishing: every failed check but those of a warning suite (a billing gap,
    unless [quality] billing_gap_blocks)."""
    from expectations.suites import warning_suites

    warnings = warning_suites(limits_of(cfg))
    return [r for r in results if not r.success and r.suite not in warnings]


def log_warnings(cfg: Config, results: list[CheckResult]) -> None:
    """A line per failed check of a warning suite, and one per failing row it kept (the billing gap's name the
    provider and the day)."""
    from expectations.suites import warning_suites

    for r in (r for r in results if not r.success and r.suite in warning_suites(limits_of(cfg))):
        log.warning(
            "WARNING (published anyway) %s on %s: %d row(s) over the limits", r.suite, r.table, r.unexpected_count
        )
        for row in json.loads(r.examples) if r.examples else []:
            log.warning("  %s", ", ".join(f"{key} {value}" for key, value in row.items()))


def gate(cfg: Config, layout: Layout, build: Build) -> list[CheckResult]:
    """The quality gate on a finished dbt build: its dbt tests plus the expectation suites (Great Expectations).
    Every result goes to the run's results file (finance.data_quality_results once published) and to the
    quality report of each built day; the days of a failed gate are remembered as failed in the state."""
    from expectations.suites import build_suites, warning_suites

    started = time.perf_counter()
    engine = engine_of(cfg)
    suites = build_suites(limits_of(cfg), build.days, engine.relations, allow_empty=build.allow_empty)
    results = dbt_checks(build, engine) + engine.run_suites(build, suites)
    write_results(results, build.build_id, layout.results_dir)
    repeated = engine.repeated_events(build)
    quarantined = quarantined_records(layout, current_state(cfg, layout), build.days)
    unpriced = unpriced_models(build)
    reports = write_quality_reports(
        cfg.reports_dir,
        build.build_id,
        build.days,
        suites,
        results,
        repeated,
        quarantined,
        unpriced,
        warning_suites=warning_suites(limits_of(cfg)),
    )
    log_unpriced(unpriced)
    log_repeated(repeated)
    log_warnings(cfg, results)
    failed = blocking_failures(cfg, results)
    log.info(
        "gate: %d check(s), %d failed, in %.1fs; report %s",
        len(results),
        len(failed),
        time.perf_counter() - started,
        reports[-1],
    )
    if failed:
        state = current_state(cfg, layout)
        state.failed_days.update(dict.fromkeys(build.days, build.build_id))
        state.save(layout.state_file)
        # the failed checks are told once, by the caller: the CLI's summary, Dagster's Failure
    return results


def publish(cfg: Config, layout: Layout, build: Build) -> list[DayCostChange]:
    """Publish the build's days on the engine (DuckDB: export the build's partitions and swap in the new catalog;
    Spark: replace the build's days in the published Spark tables); the built days are no longer failed.
    Returns the published days whose total cost this build changed (re-rating)."""
    changes = engine_of(cfg).publish(layout, build)
    log_cost_changes(changes)
    for day, status in sorted(build.statuses.items()):
        if status == "empty":
            log.warning("%s published as empty: no usage record from any source, $0 (a missing export?)", day)
        if status == "partial":
            log.warning("%s published as partial: the day is not over; a run after it ends makes it complete", day)
    return changes


def run_days(cfg: Config, days: list[date], allow_empty: bool = False) -> RunOutcome:
    """Build, gate and publish the requested days and every built day whose inputs changed: one build, or
    several in day order when they hold more than [warehouse] max_calls_per_build calls (each published before
    the next starts; the first failed gate stops the run)."""
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        state = stage_inputs(cfg, layout)
        planned = plan_days(cfg, layout, state, days)
        batches = build_batches(state, list(planned), cfg.max_calls_per_build)
        published: list[str] = []
        statuses: dict[str, str] = {}
        changes: list[DayCostChange] = []
        for number, batch in enumerate(batches, 1):
            # each batch reads the partitions the ones before it published
            build = prepare_days(cfg, layout, current_state(cfg, layout), {d: planned[d] for d in batch}, allow_empty)
            log.info(
                "building %d day(s) for %s: %s .. %s%s",
                len(build.days),
                engine_of(cfg).where,
                build.days[0],
                build.days[-1],
                f" (build {number} of {len(batches)})" if len(batches) > 1 else "",
            )
            run_dbt(cfg, build)
            failed = blocking_failures(cfg, gate(cfg, layout, build))
            if failed:
                break
            changes += publish(cfg, layout, build)
            published += build.days
            statuses.update(build.statuses)
        return RunOutcome(
            published=not failed,
            build=build,
            failed_checks=failed,
            published_days=published,
            statuses=statuses,
            report=quality_report_path(cfg.reports_dir, build.days[-1]),
            cost_changes=changes,
        )
