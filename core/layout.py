"""Where the pipeline keeps its files, next to the published warehouse file.

<warehouse>.duckdb                 the published catalog finance opens (small: views + small tables)
<warehouse>.data/state.json        what was staged and built (warehouse/state.py)
<warehouse>.data/staged/           inputs as read: usage by file and day, quarantine, prices, GPU offers, bills
<warehouse>.data/s3/<bucket>/<key>  copies of the objects of s3:// source paths (ingest/object_store.py)
<warehouse>.data/sources/          each url or scraped price/GPU source, each url bill: its rows and fetch status
<warehouse>.data/tables/           immutable per-day Parquet partitions of the big finance tables
<warehouse>.data/results/          data-quality results, one file per run (kept 7 days once published)
<warehouse>.data/builds/           scratch DuckDB build databases (removed after each run)
<warehouse>.data/lock              held by the run in progress; says which run (warehouse/pipeline.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.config import Config


class WarehouseError(Exception):
    """The warehouse's files cannot be used as they are; the message names the file and what to do (exit 2)."""


@dataclass(frozen=True)
class Layout:
    warehouse: Path
    data: Path

    @classmethod
    def of(cls, cfg: Config) -> Layout:
        return cls(warehouse=cfg.warehouse_path, data=cfg.data_dir)

    @property
    def state_file(self) -> Path:
        return self.data / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.data / "lock"

    def staged_usage_dir(self, file_key: str) -> Path:
        return self.data / "staged" / "usage" / file_key

    def staged_usage_day_files(self, file_key: str, day: str) -> list[Path]:
        return sorted((self.staged_usage_dir(file_key) / f"usage_date={day}").glob("*.parquet"))

    def staged_usage_models(self, file_key: str) -> Path:
        """The (usage_date, provider, model) a staged usage file holds (warehouse/build.py's day fingerprints)."""
        return self.staged_usage_dir(file_key) / "models.parquet"

    def quarantine_file(self, file_key: str) -> Path:
        return self.data / "staged" / "quarantine" / f"{file_key}.parquet"

    @property
    def empty_usage_file(self) -> Path:
        return self.data / "staged" / "empty" / "usage_date=1970-01-01" / "empty.parquet"

    @property
    def staged_prices(self) -> Path:
        return self.data / "staged" / "price_rows.parquet"

    @property
    def staged_gpu_offers(self) -> Path:
        return self.data / "staged" / "gpu_offers.parquet"

    @property
    def staged_billing(self) -> Path:
        return self.data / "staged" / "billed_costs.parquet"

    def source_rows(self, section: str, name: str) -> Path:
        """The rows a url or scraped source has in force (scraped: its observation history)."""
        return self.data / "sources" / section / f"{name}.parquet"

    def source_status(self, section: str, name: str) -> Path:
        """When the source was last fetched or read fine, its ETag / Last-Modified, its last error."""
        return self.data / "sources" / section / f"{name}.json"

    def partition_location(self, recorded: str) -> str:
        """A published partition as state.json records it: a path under <warehouse>.data (DuckDB), or the
        location of a Spark table's partition (a URL such as file:/..., s3a://...), kept as it is."""
        return recorded if ":" in recorded.split("/", 1)[0] else str(self.data / recorded)

    @property
    def tables_dir(self) -> Path:
        return self.data / "tables"

    @property
    def results_dir(self) -> Path:
        return self.data / "results"

    @property
    def builds_dir(self) -> Path:
        return self.data / "builds"
