"""The reader of each [[billing.sources]] kind (docs/spec.md#billing): a file (or a fetched page) -> billed rows
(ingest.billing_sheet.BILLED_SCHEMA). A file a reader cannot use raises SheetError naming the file and what was
expected (exit 2 for a local file; a url source logs it and keeps its last good copy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from ingest.billing_sheet import read_billing_sheet

READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "billing_sheet": read_billing_sheet,
}


def bill_reader(kind: str) -> Callable[[Path], pl.DataFrame]:
    return READERS[kind]
