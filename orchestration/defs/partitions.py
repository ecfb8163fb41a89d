"""Usage is partitioned by UTC day."""

from dagster import DailyPartitionsDefinition

daily = DailyPartitionsDefinition(start_date="2025-01-01", timezone="UTC")
