"""The assets of a night: staged prices, GPU offers and usage, the dbt models, the published warehouse.

Each asset calls one step of warehouse/pipeline.py, the same steps `finops run` calls in one go.
A run covers a range of daily partitions in one pass (single-run backfills)."""


from datetime import date, timedelta
from pathlib import Path

from dagster import (AssetExecutionContext, AssetKey, AssetSpec, BackfillPolicy, Failure, MaterializeResult, asset,
                     multi_asset)
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.partitions import daily
from orchestration.defs.resources import FinopsConfig, dbt_project
from warehouse.build import Build, build_db_env
from warehouse.dbt_args import dbt_build_args
from warehouse.layout import Layout
from warehouse.pipeline import checks_of, finish, pipeline_lock, prepare, stage_usage_files
from warehouse.stage import stage_gpu_offers, stage_prices
from warehouse.publish import WHOLE_TABLES
from warehouse.state import PARTITIONED_TABLES, State

SINGLE_RUN = BackfillPolicy.single_run()


def _days(context: AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + timedelta(days=i) for i in range((end - start).days)]


def _build_file(layout: Layout, context: AssetExecutionContext):
    return layout.builds_dir / f"dagster-{context.run_id}.json"


def _locked(finops: FinopsConfig, step):
    """Run one pipeline step, step(cfg, layout), holding the warehouse's pipeline lock."""
    cfg = finops.load()
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        return step(cfg, layout)


@asset(partitions_def=daily, backfill_policy=SINGLE_RUN, group_name="raw",
       description="Prices from every [[prices.sources]], staged for the build.")
def price_rows(finops: FinopsConfig) -> MaterializeResult:
    rows = _locked(finops, stage_prices)
    return MaterializeResult(metadata={"rows": rows.height, "sources": rows["source_name"].n_unique()})


@asset(partitions_def=daily, backfill_policy=SINGLE_RUN, group_name="raw",
       description="GPU rental offers from every [[gpu.sources]], staged for the build.")
def gpu_offer_rows(finops: FinopsConfig) -> MaterializeResult:
    offers = _locked(finops, stage_gpu_offers)
    return MaterializeResult(metadata={"rows": offers.height, "sources": offers["source_name"].n_unique()})


@multi_asset(
    specs=[AssetSpec("usage_events", group_name="raw", description="Canonical usage records from every "
                     "[[usage.sources]], by UTC day: new and changed files are read, each once."),
           AssetSpec("usage_quarantine", group_name="raw", description="The usage records that could not be "
                     "read or broke a rule, with the reason and the raw line.")],
    partitions_def=daily, backfill_policy=SINGLE_RUN)
def usage_events(context: AssetExecutionContext, finops: FinopsConfig):
    state, staging = _locked(finops, stage_usage_files)
    rows = sum(f.days.get(d, 0) for f in state.files.values() for d in map(str, _days(context)))
    yield MaterializeResult(asset_key="usage_events", metadata={
        "files_read": len(staging.staged), "files_removed": len(staging.removed), "rows": rows})
    yield MaterializeResult(asset_key="usage_quarantine", metadata={"quarantined_in_files_read": staging.quarantined})


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, partitions_def=daily,
            backfill_policy=SINGLE_RUN)
def finops_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, finops: FinopsConfig):
    """The dbt models and tests, built for the partition range (plus any day whose inputs changed)."""
    cfg = finops.load()
    layout = Layout.of(cfg)
    with pipeline_lock(layout):
        build = prepare(cfg, layout, State.load(layout.state_file), _days(context))
    build.save(_build_file(layout, context))
    context.log.info(f"building {len(build.days)} day(s) into {build.db_path}")
    with build_db_env(build):
        yield from dbt.cli(dbt_build_args(build.vars), context=context, raise_on_error=False,
                           target_path=Path(build.target_path)).stream()


@asset(partitions_def=daily, backfill_policy=SINGLE_RUN, group_name="publish",
       deps=[AssetKey(["finance", name]) for name in (*PARTITIONED_TABLES, *WHOLE_TABLES)],
       description="The published warehouse file finance reads: replaced atomically when every check passed.")
def published_warehouse(context: AssetExecutionContext, finops: FinopsConfig) -> MaterializeResult:
    cfg = finops.load()
    layout = Layout.of(cfg)
    build = Build.load(_build_file(layout, context))
    with pipeline_lock(layout):
        outcome = finish(layout, State.load(layout.state_file), build, checks_of(build))
    if not outcome.published:
        failed = "; ".join(f"{c.suite}/{c.expectation} on {c.table}: {c.unexpected_count} unexpected"
                           for c in outcome.failed_checks)
        raise Failure(description=f"quality gate failed, nothing published: {failed}",
                      metadata={"failed_checks": len(outcome.failed_checks)})
    return MaterializeResult(metadata={"path": str(cfg.warehouse_path), "days_built": len(build.days),
                                       "first_day": build.days[0], "last_day": build.days[-1],
                                       "recosted_days": [str(c) for c in outcome.cost_changes]})
