"""Stage the inputs of a run: read every configured source with the ingest readers (prices and GPU offers
through ingest/fetched_sources.py) and keep what they read under <warehouse>.data/staged/. Usage files are
read once: a file whose size and mtime did not change since it was staged, read by a source whose kind and
lookups did not change, is not read again (unless it could not be read whole: a failed file is read at every run).
A file is read once per run however many paths and sources match it. The objects of an s3:// path are first copied
(when new or changed) beside the warehouse and read there (ingest/object_store.py)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from core.config import Config, Source
from core.layout import Layout
from core.progress import show_progress
from core.staged_usage import StagedUsage, StagedUsageFile
from ingest.fetched_sources import BILLED_ROW_SCHEMA, billing_source_rows, gpu_source_rows, price_source_rows
from ingest.gpu_sheet import GPU_OFFER_SCHEMA
from ingest.object_store import land_objects
from ingest.price_sheet import PRICE_ROW_SCHEMA
from ingest.unreadable import UnreadableUsageFile
from ingest.usage_canonical import StagedFile, UsageWindow, stage_failed_file, stage_usage_file, write_empty_usage
from ingest.usage_exports import stage_export_file

log = logging.getLogger("finops")


@dataclass(frozen=True)
class UsageStaging:
    staged: list[str]  # files read in this run
    removed: list[str]  # files gone since the last run
    quarantined: int  # bad records found in the files read in this run (a failed file counts 1)


def stage_prices(cfg: Config, layout: Layout) -> pl.DataFrame:
    land_objects(cfg, cfg.price_sources)
    rows = _stage_sources(
        PRICE_ROW_SCHEMA, [price_source_rows(cfg, layout, s) for s in cfg.price_sources], layout.staged_prices
    )
    log.info("prices: %d rows from %d source(s)", rows.height, len(cfg.price_sources))
    return rows


def stage_gpu_offers(cfg: Config, layout: Layout) -> pl.DataFrame:
    land_objects(cfg, cfg.gpu_sources)
    offers = _stage_sources(
        GPU_OFFER_SCHEMA, [gpu_source_rows(cfg, layout, s) for s in cfg.gpu_sources], layout.staged_gpu_offers
    )
    log.info("gpu offers: %d rows from %d source(s)", offers.height, len(cfg.gpu_sources))
    return offers


def stage_billing(cfg: Config, layout: Layout) -> pl.DataFrame:
    land_objects(cfg, cfg.billing_sources)
    rows = _stage_sources(
        BILLED_ROW_SCHEMA, [billing_source_rows(cfg, layout, s) for s in cfg.billing_sources], layout.staged_billing
    )
    if cfg.billing_sources:
        log.info("billing: %d billed amount(s) from %d source(s)", rows.height, len(cfg.billing_sources))
    return rows


def _stage_sources(schema: dict, frames: list[pl.DataFrame], path: Path) -> pl.DataFrame:
    """The rows of every source of one kind (none: an empty frame of the schema), written to their staged Parquet."""
    rows = pl.concat([pl.DataFrame(schema=schema), *frames])
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(path)
    return rows


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


def stage_usage(cfg: Config, layout: Layout, state: StagedUsage, canonical_reader=None) -> UsageStaging:
    """Read new and changed usage files, and again the failed ones; forget removed ones. Updates `state` (the
    caller saves it). canonical_reader: reads a canonical file instead of DuckDB (engine = "spark":
    warehouse/engines/spark/usage.py).

    A file that cannot be read whole is staged as a failed file (ingest.usage_canonical.stage_failed_file); a file
    gone before its turn came is skipped with a warning, as a removed file."""
    land_objects(cfg, cfg.usage_sources)
    if not layout.empty_usage_file.exists():
        write_empty_usage(layout.empty_usage_file)
    window = UsageWindow(
        earliest=cfg.earliest_usage_date, run_day=datetime.now(UTC).date(), days_ahead=cfg.max_usage_days_ahead
    )
    seen: set[str] = set()
    staged, quarantined = [], 0
    con = duckdb.connect(config={"memory_limit": cfg.memory_limit})
    read_canonical = canonical_reader or partial(stage_usage_file, con)
    files = usage_files(cfg)
    for n, (src, path) in enumerate(files, 1):
        show_progress(f"usage files: {n} of {len(files)} {path}")
        name = str(path)
        known = state.files.get(name)
        reading = _reading(src)
        try:
            st = path.stat()
        except FileNotFoundError:
            _log_removed(path)
            continue
        seen.add(name)
        if (
            known
            and not known.failure
            and (known.size, known.mtime_ns, known.reading) == (st.st_size, st.st_mtime_ns, reading)
        ):
            continue
        seq = state.next_file_seq
        state.next_file_seq += 1
        key = _file_key(path, seq)
        order = known.seq if known else seq  # a changed file keeps its place in the first-seen order
        where = dict(usage_dir=layout.staged_usage_dir(key), quarantine_file=layout.quarantine_file(key))
        try:
            result = _stage_file(con, src, path, read_canonical, file_seq=order, window=window, **where)
        except (UnreadableUsageFile, FileNotFoundError) as exc:
            if not path.exists():  # removed while it was read
                _drop_staged(layout, key)
                seen.discard(name)
                _log_removed(path)
                continue
            if not isinstance(exc, UnreadableUsageFile):
                raise
            log.error("%s: cannot be read whole: %s", path, exc.reason)
            result = stage_failed_file(exc, file=name, source=src.name, **where)
        if known:
            _drop_staged(layout, known.key)
        state.files[name] = StagedUsageFile(
            source=src.name,
            key=key,
            seq=order,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            days=result.rows_by_day,
            quarantined=result.quarantined,
            reading=reading,
            failure=result.failure,
        )
        staged.append(name)
        quarantined += result.quarantined
        if result.failure is None:
            log.info(
                "staged %s: %d rows over %d day(s), %d quarantined",
                path,
                sum(result.rows_by_day.values()),
                len(result.rows_by_day),
                result.quarantined,
            )
    show_progress("")
    con.close()
    removed = [name for name in state.files if name not in seen]
    for name in removed:
        _drop_staged(layout, state.files.pop(name).key)
        log.info("usage file gone since the last run: %s", name)
    return UsageStaging(staged=staged, removed=removed, quarantined=quarantined)


def _log_removed(path: Path) -> None:
    log.warning("%s: removed before it was read; skipped (it is no longer there)", path)


def usage_files(cfg: Config) -> list[tuple[Source, Path]]:
    """Every usage file to read, with its source, in the sources' order and by name: each file once, by its real path
    (a symlink to it, a symlink loop under a `**` glob, two sources matching it), for the first source that matches
    it, under its own name if that source matches it (else the first matching name); a file matched more than once
    is named in a warning."""
    chosen: dict[str, tuple[Source, Path]] = {}  # real path -> the source and name it is read as
    others: dict[str, list[tuple[Source, Path]]] = {}
    for src in cfg.usage_sources:
        for path in src.files():
            real = os.path.realpath(path)
            first = chosen.setdefault(real, (src, path))
            if first == (src, path):
                continue
            if first[0] is src and str(path) == real:  # the file's own name, rather than a symlink's
                chosen[real], (src, path) = (src, path), first
            others.setdefault(real, []).append((src, path))
    for real, again in others.items():
        src, path = chosen[real]
        matches = []
        for source in dict.fromkeys(s for s, _ in again):
            names = sorted((p for s, p in again if s is source), key=lambda p: (len(str(p)), str(p)))
            more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
            matches.append(f"as {names[0]}{more} by source '{source.name}'")
        log.warning("%s: also matched %s: read once, by source '%s'", path, " and ".join(matches), src.name)
    return sorted(chosen.values(), key=lambda chosen: (chosen[0].position, str(chosen[1])))


def _drop_staged(layout: Layout, key: str) -> None:
    shutil.rmtree(layout.staged_usage_dir(key), ignore_errors=True)
    layout.quarantine_file(key).unlink(missing_ok=True)
