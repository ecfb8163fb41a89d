"""Stage the inputs of a run: read every configured source with the ingest readers (prices and GPU offers
through warehouse/fetched_sources.py) and keep what they read under <warehouse>.data/staged/. Usage files are
read once: a file whose size and mtime did not change since it was staged, read by a source whose kind and
lookups did not change, is not read again."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from finops.config import Config, Source
from ingest.gpu_sheet import GPU_OFFER_SCHEMA
from ingest.price_sheet import PRICE_ROW_SCHEMA
from ingest.usage_canonical import StagedFile, stage_usage_file, write_empty_usage
from ingest.usage_exports import stage_export_file
from warehouse.fetched_sources import gpu_source_rows, price_source_rows
from warehouse.layout import Layout
from warehouse.state import StagedUsageFile, State

log = logging.getLogger("finops")


@dataclass(frozen=True)
class UsageStaging:
    staged: list[str]           # files read in this run
    removed: list[str]          # files gone since the last run
    quarantined: int            # bad records found in the files read in this run


def stage_prices(cfg: Config, layout: Layout) -> pl.DataFrame:
    frames = [pl.DataFrame(schema=PRICE_ROW_SCHEMA)]
    for src in cfg.price_sources:
        frames.append(price_source_rows(cfg, layout, src))
    rows = pl.concat(frames)
    layout.staged_prices.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(layout.staged_prices)
    log.info("prices: %d rows from %d source(s)", rows.height, len(cfg.price_sources))
    return rows


def stage_gpu_offers(cfg: Config, layout: Layout) -> pl.DataFrame:
    frames = [pl.DataFrame(schema=GPU_OFFER_SCHEMA)]
    for src in cfg.gpu_sources:
        frames.append(gpu_source_rows(cfg, layout, src))
    offers = pl.concat(frames)
    layout.staged_gpu_offers.parent.mkdir(parents=True, exist_ok=True)
    offers.write_parquet(layout.staged_gpu_offers)
    log.info("gpu offers: %d rows from %d source(s)", offers.height, len(cfg.gpu_sources))
    return offers


def _file_key(path: Path, seq: int) -> str:
    return f"{hashlib.sha1(str(path).encode()).hexdigest()[:12]}-{seq}"


def _reading(src: Source) -> str:
    """How a source's files are read (its kind and lookups): a change re-reads them."""
    if src.kind == "canonical":
        return ""
    doc = [src.kind, asdict(src.mapping)]
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def _stage_file(con: duckdb.DuckDBPyConnection, src: Source, path: Path, read_canonical, **where) -> StagedFile:
    if src.kind == "canonical":
        return read_canonical(path, source=src.name, **where)
    return stage_export_file(con, path, src.kind, src.mapping, source=src.name, **where)


def stage_usage(cfg: Config, layout: Layout, state: State, canonical_reader=None) -> UsageStaging:
    """Read new and changed usage files; forget removed ones. Updates `state` (the caller saves it).
    canonical_reader: reads a canonical file instead of DuckDB (engine = "spark": ingest/spark_usage.py)."""
    if not layout.empty_usage_file.exists():
        write_empty_usage(layout.empty_usage_file)
    seen: set[str] = set()
    staged, quarantined = [], 0
    con = duckdb.connect(config={"memory_limit": cfg.memory_limit})
    read_canonical = canonical_reader or partial(stage_usage_file, con)
    for src in cfg.usage_sources:
        reading = _reading(src)
        for path in src.files():
            name = str(path)
            seen.add(name)
            st = path.stat()
            known = state.files.get(name)
            if known and (known.size, known.mtime_ns, known.reading) == (st.st_size, st.st_mtime_ns, reading):
                continue
            seq = state.next_file_seq
            state.next_file_seq += 1
            key = _file_key(path, seq)
            order = known.seq if known else seq  # a changed file keeps its place in the first-seen order
            result = _stage_file(con, src, path, read_canonical, file_seq=order,
                                 usage_dir=layout.staged_usage_dir(key), quarantine_file=layout.quarantine_file(key))
            if known:
                _drop_staged(layout, known.key)
            state.files[name] = StagedUsageFile(source=src.name, key=key, seq=order,
                                                size=st.st_size, mtime_ns=st.st_mtime_ns,
                                                days=result.rows_by_day, quarantined=result.quarantined,
                                                reading=reading)
            staged.append(name)
            quarantined += result.quarantined
            log.info("staged %s: %d rows over %d day(s), %d quarantined", path, sum(result.rows_by_day.values()),
                     len(result.rows_by_day), result.quarantined)
    con.close()
    removed = [name for name in state.files if name not in seen]
    for name in removed:
        _drop_staged(layout, state.files.pop(name).key)
        log.info("usage file gone since the last run: %s", name)
    return UsageStaging(staged=staged, removed=removed, quarantined=quarantined)


def _drop_staged(layout: Layout, key: str) -> None:
    shutil.rmtree(layout.staged_usage_dir(key), ignore_errors=True)
    layout.quarantine_file(key).unlink(missing_ok=True)
