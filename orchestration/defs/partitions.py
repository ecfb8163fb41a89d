"""Usage is partitioned by UTC day; the reports by ISO week (Monday to Sunday, UTC; the key is the Monday)."""

from dagster import DailyPartitionsDefinition, WeeklyPartitionsDefinition

daily = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC")
weekly = WeeklyPartitionsDefinition(start_date="2024-12-30", day_offset=1, timezone="UTC")
