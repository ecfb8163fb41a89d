"""What staging remembers of the usage files it read (kept in the pipeline's state: warehouse/state.py), so that a
file is read again only when it changed (ingest/stage.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class StagedUsageFile:
    source: str
    key: str
    seq: int
    size: int
    mtime_ns: int
    days: dict[str, int]
    quarantined: int
    reading: str = ""  # how it was read: its source's kind and lookups (ingest/stage.py)
    failure: str | None = None  # why it could not be read whole (nothing of it staged: a failed file)


class StagedUsage(Protocol):
    """The part of the pipeline's state staging reads and updates (warehouse.state.State has it)."""

    files: dict[str, StagedUsageFile]  # file name -> how it was staged
    next_file_seq: int  # the staging order of the next file read
