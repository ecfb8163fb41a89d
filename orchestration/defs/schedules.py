"""The nightly job (02:00 UTC, yesterday's partition); backfills run the same job over a partition range.
The weekly job (Monday 06:00 UTC, the ISO week that just ended) writes the reports and sends the emails."""

from dagster import AssetSelection, build_schedule_from_partitioned_job, define_asset_job, in_process_executor

from orchestration.defs.partitions import daily

REPORTS = AssetSelection.groups("reports")

nightly_job = define_asset_job(
    "nightly",
    selection=AssetSelection.all() - REPORTS,
    partitions_def=daily,
    executor_def=in_process_executor,  # one step at a time on the pipeline's own files
    description="Stage prices, GPU offers and usage, build with dbt, check, publish.",
)

# A daily-partitioned job's schedule targets the partition that just ended: at 02:00 UTC, yesterday.
nightly_schedule = build_schedule_from_partitioned_job(nightly_job, hour_of_day=2, minute_of_hour=0)

weekly_job = define_asset_job(
    "weekly",
    selection=REPORTS,
    executor_def=in_process_executor,
    description="The week's showback and anomaly reports and the chargeback emails.",
)

# A weekly-partitioned job's schedule targets the week that just ended: on Monday at 06:00 UTC, last week.
weekly_schedule = build_schedule_from_partitioned_job(weekly_job, hour_of_day=6, minute_of_hour=0, day_of_week=1)
