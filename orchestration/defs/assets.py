"""The assets of a night: staged prices, GPU offers and usage, the dbt models, the published warehouse.

Each asset calls one step of warehouse/pipeline.py, the same steps `finops run` calls in one go, on either
engine.
A run covers a range of daily partitions in one pass (single-run backfills): one build, so a run whose days hold
more than [warehouse] max_calls_per_build staged calls fails before building (`finops backfill` cuts such days into
several builds)."""

from datetime import date, timedelta

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
    multi_asset_check,
)
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from core.config import Config
from core.layout import Layout
from expectations.quality_report import quality_report_path
from expectations.results import read_results
from expectations.suites import build_suites
from ingest.stage import stage_billing, stage_gpu_offers, stage_prices
from orchestration.defs.dbt_events import dbt_events
from orchestration.defs.partitions import daily, weekly
from orchestration.defs.resources import FinopsConfig, dbt_project
from reports.budget_alerts import send_budget_alerts
from reports.readiness import WeekNotPublished
from reports.week import IsoWeek
from reports.weekly import run_weekly_report
from warehouse.build import Build, build_batches
from warehouse.engines import engine_of
from warehouse.finance_tables import finance_tables
from warehouse.pipeline import (
    blocking_failures,
    current_state,
    gate,
    limits_of,
    pipeline_lock,
    plan_days,
    prepare_days,
    publish,
    stage_usage_files,
)
from warehouse.state import State

SINGLE_RUN = BackfillPolicy.single_run()


def _days(context: AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _build_file(layout: Layout, context: AssetExecutionContext | AssetCheckExecutionContext):
    return layout.builds_dir / f"dagster-{context.run.run_id}.json"


def _locked(finops: FinopsConfig, step):
    """Run one pipeline step, step(cfg, layout), holding the warehouse's pipeline lock."""
    cfg = finops.load()
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        return step(cfg, layout)


@asset(
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
    group_name="raw",
    description="Prices from every [[prices.sources]], staged for the build.",
)
def price_rows(finops: FinopsConfig) -> MaterializeResult:
    rows = _locked(finops, stage_prices)
    return MaterializeResult(metadata={"rows": rows.height, "sources": rows["source_name"].n_unique()})


@asset(
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
    group_name="raw",
    description="GPU rental offers from every [[gpu.sources]], staged for the build.",
)
def gpu_offer_rows(finops: FinopsConfig) -> MaterializeResult:
    offers = _locked(finops, stage_gpu_offers)
    return MaterializeResult(metadata={"rows": offers.height, "sources": offers["source_name"].n_unique()})


@asset(
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
    group_name="raw",
    description="What vendors billed, per day, from every [[billing.sources]], staged for the build.",
)
def billed_costs(finops: FinopsConfig) -> MaterializeResult:
    rows = _locked(finops, stage_billing)
    return MaterializeResult(metadata={"rows": rows.height, "sources": rows["source_name"].n_unique()})


@multi_asset(
    specs=[
        AssetSpec(
            "usage_events",
            group_name="raw",
            description="Canonical usage records from every "
            "[[usage.sources]], by UTC day: new and changed files are read, each once.",
        ),
        AssetSpec(
            "usage_quarantine",
            group_name="raw",
            description="The usage records that could not be read or broke a rule, with the reason and the raw line.",
        ),
    ],
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
)
def usage_events(context: AssetExecutionContext, finops: FinopsConfig):
    state, staging = _locked(finops, stage_usage_files)
    rows = state.staged_calls([str(d) for d in _days(context)])
    yield MaterializeResult(
        asset_key="usage_events",
        metadata={"files_read": len(staging.staged), "files_removed": len(staging.removed), "rows": rows},
    )
    yield MaterializeResult(asset_key="usage_quarantine", metadata={"quarantined_in_files_read": staging.quarantined})


class PublishedNames(DagsterDbtTranslator):
    """A dbt model's asset is the table it builds: a mart's is finance.<alias>, the name it is published under
    (its model name says its kind: fct_, agg_, dim_, rpt_), so the asset and its history follow the published table.
    Models are grouped by their layer (the folder under models/: staging, intermediate, marts) and described by
    their dbt description (dbt_project/models/**/_*.yml), without their SQL."""

    def get_asset_key(self, dbt_resource_props) -> AssetKey:
        key = super().get_asset_key(dbt_resource_props)
        if dbt_resource_props["resource_type"] != "model":
            return key
        return AssetKey([*key.path[:-1], dbt_resource_props["alias"]])

    def get_group_name(self, dbt_resource_props):
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if dbt_resource_props["resource_type"] == "model" and len(fqn) > 2 else None

    def get_description(self, dbt_resource_props):
        return (
            dbt_resource_props.get("description")
            or f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=PublishedNames(),
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
)
def finops_dbt_assets(context: AssetExecutionContext, finops: FinopsConfig):
    """The dbt models and tests, built for the partition range (plus any day whose inputs changed)."""
    cfg = finops.load()
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        state = current_state(cfg, layout)
        requested = _days(context)
        planned = plan_days(cfg, layout, state, requested)
        _check_build_size(cfg, state, requested, planned)
        build = prepare_days(cfg, layout, state, planned)
        build.save(_build_file(layout, context))  # (under the lock: the next run to hold it keeps this build)
    context.log.info(f"building {len(build.days)} day(s) for {engine_of(cfg).where}")
    yield from dbt_events(context, cfg, build)


def _check_build_size(cfg: Config, state: State, requested: list[date], planned: dict[str, str]) -> None:
    """Fail, before building, a run whose days (the requested ones and the built days whose inputs changed) hold
    more staged calls than one build may compute ([warehouse] max_calls_per_build): a Dagster run is one build (a
    bigger one could run out of memory), while `finops backfill` cuts such days into several builds, each published
    before the next."""
    days = sorted(planned)
    batches = build_batches(state, days, cfg.max_calls_per_build)
    if len(batches) == 1:
        return
    calls = state.staged_calls(days)
    raise Failure(
        description=(
            f"this run would build {len(days)} day(s), {days[0]} .. {days[-1]}, holding {calls:,} staged calls: more "
            f"than [warehouse] max_calls_per_build = {cfg.max_calls_per_build:,} in one build. Materialize fewer "
            f"partitions per run, or run `finops backfill --from {requested[0]} --to {requested[-1]}`, which builds "
            f"them as {len(batches)} builds one after the other (days rebuilt because their inputs changed are in this "
            f"count)."
        ),
        metadata={"days": len(days), "staged_calls": calls, "max_calls_per_build": cfg.max_calls_per_build},
    )


# The gate's suites as blocking asset checks on the finance tables they check: a failed suite stops the run
# before `published_warehouse`, and the UI shows which expectation failed, with a few failing rows.
GATE_SUITES = build_suites(limits_of(None), [])  # names, tables and guards (the thresholds: the defaults)
GATE_CHECKS = [
    AssetCheckSpec(
        f"gx_{suite.name}",
        asset=AssetKey(["finance", suite.table]),
        blocking=True,
        description=f"Great Expectations suite '{suite.name}': guards against {suite.guards}.",
    )
    for suite in GATE_SUITES
]


@multi_asset_check(
    specs=GATE_CHECKS,
    name="quality_gate",
    description="The quality gate (expectations/suites.py) on the build, before anything is published.",
)
def quality_gate(context: AssetCheckExecutionContext, finops: FinopsConfig):
    cfg = finops.load()
    layout = Layout.of(cfg)
    build = Build.load(_build_file(layout, context))
    with pipeline_lock(layout):
        results = gate(cfg, layout, build)
    for suite, spec in zip(GATE_SUITES, GATE_CHECKS, strict=True):
        checked = [r for r in results if r.suite == suite.label]
        failed = [r for r in checked if not r.success]
        warns = not blocking_failures(cfg, failed)  # a warning suite's failure does not stop the publish
        yield AssetCheckResult(
            check_name=spec.name,
            asset_key=spec.asset_key,
            passed=not failed,
            severity=AssetCheckSeverity.WARN if warns else AssetCheckSeverity.ERROR,
            metadata={
                "expectations": len(checked),
                "failed": len(failed),
                "failures": "\n".join(f"{r.expectation}: {r.message} {r.examples}".strip() for r in failed) or "none",
                "report": str(quality_report_path(cfg.reports_dir, build.days[-1])),
            },
        )


@asset(
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
    group_name="publish",
    deps=[AssetKey(["finance", t.table]) for t in finance_tables()],
    description="The published warehouse file finance reads: replaced atomically when every check passed.",
)
def published_warehouse(context: AssetExecutionContext, finops: FinopsConfig) -> MaterializeResult:
    cfg = finops.load()
    layout = Layout.of(cfg)
    build = Build.load(_build_file(layout, context))
    failed = blocking_failures(cfg, read_results(build.build_id, layout.results_dir))
    if failed:  # a dbt test (not a blocking check) failed
        raise Failure(
            description="quality gate failed, nothing published: "
            + "; ".join(f"{c.suite}/{c.expectation} on {c.table}: {c.unexpected_count} unexpected" for c in failed),
            metadata={"failed_checks": len(failed)},
        )
    with pipeline_lock(layout):
        changes = publish(cfg, layout, build)
        _build_file(layout, context).unlink()
    return MaterializeResult(
        metadata={
            "path": str(cfg.warehouse_path),
            "days_built": len(build.days),
            "first_day": build.days[0],
            "last_day": build.days[-1],
            "recosted_days": [str(c) for c in changes],
        }
    )


@asset(
    partitions_def=daily,
    backfill_policy=SINGLE_RUN,
    group_name="publish",
    deps=[published_warehouse],
    description="The budget alerts after the publish: each [[budgets]] level reached this month (by spend or "
    "forecast) emailed to the budget's owner and POSTed to [alerts] webhook_url, once: what `finops run` does.",
)
def budget_alerts(finops: FinopsConfig) -> MaterializeResult:
    outcome = send_budget_alerts(finops.load())
    if outcome.failed_sends:
        raise Failure(
            description=f"{len(outcome.failed_sends)} budget alert(s) not sent: "
            + "; ".join(f"{s.to}: {s.status} {s.detail}" for s in outcome.failed_sends)
        )
    statuses = [s.status for s in outcome.sends]
    return MaterializeResult(
        metadata={
            "levels_reached": len(outcome.alerts),
            "sent": statuses.count("sent"),
            "already_sent": statuses.count("already sent"),
        }
    )


@asset(
    partitions_def=weekly,
    group_name="reports",
    deps=[published_warehouse],
    description="The week's showback and anomaly pages, their CSV files and the chargeback emails "
    "(written to the outbox, sent through [smtp] when configured): what `finops report` does.",
)
def weekly_report(context: AssetExecutionContext, finops: FinopsConfig) -> MaterializeResult:
    week = IsoWeek.of(context.partition_time_window.start.date())
    try:
        outcome = run_weekly_report(finops.load(), week)
    except WeekNotPublished as exc:
        raise Failure(description=str(exc), metadata={"unpublished_days": [d.isoformat() for d in exc.days]}) from exc
    statuses = [s.status for s in outcome.sends]
    if outcome.failed_sends:
        raise Failure(
            description=f"{len(outcome.failed_sends)} email(s) could not be sent: "
            + "; ".join(f"{s.to}: {s.detail}" for s in outcome.failed_sends)
        )
    return MaterializeResult(
        metadata={
            "week": str(week),
            "showback": MetadataValue.path(str(outcome.pages[0])),
            "anomalies": MetadataValue.path(str(outcome.pages[1])),
            "csv_files": len(outcome.csv_files),
            "emails": len(outcome.emails),
            "sent": statuses.count("sent"),
            "already_sent": statuses.count("already sent"),
        }
    )
