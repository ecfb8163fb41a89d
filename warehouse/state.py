"""What the pipeline remembers between runs, in <warehouse>.data/state.json (written atomically).

- files:      every usage file staged so far: its size, mtime and how it was read (a change means
              re-staging), the order it was first seen in (the first occurrence of a duplicate event wins),
              the days it holds, and why it could not be read whole (a failed file, read again each run).
- days:       every built usage day: the fingerprint of the inputs it was built from.
- partitions: for each per-day table, the Parquet file that holds each day's rows now.
- failed_days: usage days whose last run failed the quality gate (and have not been published since),
              with that run's id; `finops report` refuses a week that has one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from finops.files import write_atomically

PARTITIONED_TABLES = ("fct_llm_requests", "fct_llm_tasks", "agg_cost_daily", "self_hosted_allocation")


@dataclass
class StagedUsageFile:
    source: str
    key: str
    seq: int
    size: int
    mtime_ns: int
    days: dict[str, int]
    quarantined: int
    reading: str = ""   # how it was read: its source's kind and lookups (warehouse/stage.py)
    failure: str | None = None   # why it could not be read whole (nothing of it staged: a failed file)


@dataclass
class State:
    files: dict[str, StagedUsageFile] = field(default_factory=dict)
    days: dict[str, str] = field(default_factory=dict)  # usage_date -> fingerprint of its inputs
    partitions: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in PARTITIONED_TABLES})
    next_file_seq: int = 1
    failed_days: dict[str, str] = field(default_factory=dict)  # usage_date -> run id of the failed gate

    @classmethod
    def load(cls, path: Path) -> "State":
        if not path.exists():
            return cls()
        doc = json.loads(path.read_text())
        return cls(files={k: StagedUsageFile(**v) for k, v in doc["files"].items()}, days=doc["days"],
                   partitions=doc["partitions"], next_file_seq=doc["next_file_seq"],
                   failed_days=doc.get("failed_days", {}))

    def save(self, path: Path) -> None:
        write_atomically(path, json.dumps({"files": {k: asdict(v) for k, v in self.files.items()}, "days": self.days,
                                           "partitions": self.partitions, "next_file_seq": self.next_file_seq,
                                           "failed_days": self.failed_days},
                                          indent=1, sort_keys=True))

    def record_published(self, fingerprints: dict[str, str]) -> None:
        """The days of a published build (usage_date -> fingerprint): built from these inputs, no longer failed."""
        self.days.update(fingerprints)
        for day in fingerprints:
            self.failed_days.pop(day, None)

    def staged_calls(self, days: list[str]) -> int:
        """The valid usage records staged for these days (ISO dates), over every file."""
        return sum(f.days.get(day, 0) for f in self.files.values() for day in days)

    def files_for_day(self, day: str) -> list[str]:
        """Keys of the staged usage files that hold rows of this day, in staging order."""
        return [f.key for f in sorted(self.files.values(), key=lambda f: f.seq) if day in f.days]
