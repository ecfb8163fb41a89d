"""Usage is partitioned by UTC day; the reports by ISO week (Monday to Sunday, UTC; the key is the Monday).

Both start on the same Monday, so every day of every weekly partition is a daily partition (a week that began
before the first day would depend on days that do not exist, and its report could never be materialized)."""

from dagster import DailyPartitionsDefinition, WeeklyPartitionsDefinition

START = "2024-12-30"  # Monday of 2025-W01

daily = DailyPartitionsDefinition(start_date=START, timezone="UTC")
weekly = WeeklyPartitionsDefinition(start_date=START, day_offset=1, timezone="UTC")
