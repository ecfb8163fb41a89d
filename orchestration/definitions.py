"""The one Dagster Definitions of finops: `dagster dev` from the project root loads it (pyproject.toml)."""

from dagster import Definitions

from orchestration.defs.assets import (
    billed_costs,
    budget_alerts,
    finops_dbt_assets,
    gpu_offer_rows,
    price_rows,
    published_warehouse,
    quality_gate,
    usage_events,
    weekly_report,
)
from orchestration.defs.resources import finops_config
from orchestration.defs.schedules import nightly_job, nightly_schedule, weekly_job, weekly_schedule

defs = Definitions(
    assets=[
        price_rows,
        gpu_offer_rows,
        billed_costs,
        usage_events,
        finops_dbt_assets,
        published_warehouse,
        budget_alerts,
        weekly_report,
    ],
    asset_checks=[quality_gate],
    jobs=[nightly_job, weekly_job],
    schedules=[nightly_schedule, weekly_schedule],
    resources={"finops": finops_config},
)
