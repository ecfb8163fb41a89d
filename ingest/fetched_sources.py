"""Read each price and GPU source into rows for staging (docs/prices_and_gpus.md).

- a local canonical sheet (price_sheet, gpu_sheet with `path`) is read as it is, every run;
- a `url` source is fetched (ingest/fetch.py), a scraped source with `path` is read; either way the payload is
  landed (ingest/landing.py) and parsed by its kind's reader;
- a canonical sheet fetched from a url keeps the rows of its last good copy; a scraped source (LiteLLM,
  OpenRouter, HTML tables, RunPod, Vast.ai) keeps its observation history (ingest/observations.py): dated rows
  that only grow when a price is new or changes;
- both live in <warehouse>.data/sources/<section>/<name>.parquet with a status file beside (the last good
  fetch: time, payload, ETag / Last-Modified; the last error). A source that cannot be fetched or parsed is an
  error in the run log naming it, and its last good rows stay in force; the run goes on.

The fetch day, the date new and changed prices are in force from, is the UTC date of the fetch: the day the
price was seen, whichever usage day the run is for (a run for an old day does not backdate a change seen
today). FINOPS_FETCH_DATE=YYYY-MM-DD sets it (tests, replays of landed copies).
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl

from core.config import Config, Source
from core.files import write_atomically
from core.layout import Layout
from core.vocabulary import SHEET_KINDS
from ingest.billing_sheet import BILLED_SCHEMA
from ingest.bills import bill_reader
from ingest.fetch import FetchError, fetch
from ingest.gpu_listings import read_gpu_page, read_runpod_gpu_types, read_vast_offers
from ingest.gpu_sheet import GPU_KEY, GPU_OFFER_SCHEMA, read_gpu_sheet
from ingest.landing import landing_folder, new_stamp, sha256, write_payload, write_record
from ingest.litellm_catalog import read_litellm_catalog
from ingest.observations import merge_observation
from ingest.openrouter_catalog import read_openrouter_models
from ingest.payload import PayloadError
from ingest.price_page import read_price_page
from ingest.price_sheet import PRICE_KEY, PRICE_ROW_SCHEMA, read_price_sheet
from ingest.sheets import SheetError

log = logging.getLogger("finops")

FETCH_DATE_ENV = "FINOPS_FETCH_DATE"
START = date(1970, 1, 1)  # "from the start": the first day a price without effective_from covers
_PER_SOURCE = ("source_name", "source_position")  # set from the config at staging, not stored
PRICE_STORED = {k: v for k, v in PRICE_ROW_SCHEMA.items() if k not in _PER_SOURCE}
GPU_STORED = {k: v for k, v in GPU_OFFER_SCHEMA.items() if k not in _PER_SOURCE}
BILLED_ROW_SCHEMA = {**BILLED_SCHEMA, "source_name": pl.String, "source_position": pl.Int32}
EXTENSIONS = {"html_table": "html", "price_sheet": "csv", "gpu_sheet": "csv", "billing_sheet": "csv"}  # others: json


def fetch_clock() -> datetime:
    """The time a fetch is recorded at: now (UTC), or FINOPS_FETCH_DATE at 00:00 UTC."""
    override = os.environ.get(FETCH_DATE_ENV)
    if override:
        return datetime.combine(date.fromisoformat(override), time(0), tzinfo=UTC)
    return datetime.now(UTC)


@dataclass
class SourceStatus:
    last_good_at: str | None = None  # when the last payload that parsed fine was fetched (ISO, UTC)
    last_good_payload: str | None = None  # its landed file
    last_good_sha256: str | None = None
    etag: str | None = None  # validators of that response, for the next conditional request
    last_modified: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None

    @classmethod
    def load(cls, path: Path) -> SourceStatus:
        return cls(**json.loads(path.read_text())) if path.exists() else cls()

    def save(self, path: Path) -> None:
        write_atomically(path, json.dumps(asdict(self), indent=1, sort_keys=True))

    def previous_payload(self) -> Path | None:
        path = Path(self.last_good_payload) if self.last_good_payload else None
        return path if path is not None and path.exists() else None


def price_source_rows(cfg: Config, layout: Layout, src: Source) -> pl.DataFrame:
    """The price rows this source has in force now (PRICE_ROW_SCHEMA)."""
    first_day = _first_day(src)
    reader = _price_reader(src, first_day)
    if src.kind == "price_sheet" and src.path is not None:
        return pl.concat([pl.DataFrame(schema=PRICE_ROW_SCHEMA), *map(reader, src.files())])
    rows = _source_rows(
        cfg, layout, "prices", src, reader, PRICE_STORED, PRICE_KEY, "usd_per_million", "effective_from", first_day
    )
    return _with_source(rows, src, PRICE_ROW_SCHEMA)


def gpu_source_rows(cfg: Config, layout: Layout, src: Source) -> pl.DataFrame:
    """The GPU offer rows this source has in force now (GPU_OFFER_SCHEMA)."""
    reader = _gpu_reader(src)
    if src.kind == "gpu_sheet" and src.path is not None:
        return pl.concat([pl.DataFrame(schema=GPU_OFFER_SCHEMA), *map(reader, src.files())])
    rows = _source_rows(
        cfg, layout, "gpu", src, reader, GPU_STORED, GPU_KEY, "usd_per_hour", "observed_on", _first_day(src)
    )
    return _with_source(rows, src, GPU_OFFER_SCHEMA)


def billing_source_rows(cfg: Config, layout: Layout, src: Source) -> pl.DataFrame:
    """The billed amounts this source has now (BILLED_ROW_SCHEMA): its local files as they are, or the last good
    copy fetched from its url (a bill dates its own rows, like a sheet)."""
    reader = bill_reader(src.kind)
    if src.path is not None:
        rows = pl.concat([pl.DataFrame(schema=BILLED_SCHEMA), *map(reader, src.files())])
    else:
        rows = _source_rows(cfg, layout, "billing", src, reader, BILLED_SCHEMA, (), "", "", START)
    return _with_source(rows, src, BILLED_ROW_SCHEMA)


def _first_day(src: Source) -> date:
    """The day a price or offer first seen in this source is in force from: its effective_from, or START."""
    return date.fromisoformat(src.effective_from) if src.effective_from else START


def _price_reader(src: Source, first_day: date) -> Callable[[Path], pl.DataFrame]:
    if src.kind == "price_sheet":
        return lambda path: read_price_sheet(
            path, source_name=src.name, source_position=src.position, default_effective_from=first_day
        )
    if src.kind == "litellm_json":
        return lambda path: read_litellm_catalog(path.read_bytes())
    if src.kind == "openrouter_json":
        return lambda path: read_openrouter_models(path.read_bytes())
    t = src.table
    return lambda path: read_price_page(
        path.read_bytes(),
        provider=t.provider,
        selector=t.selector,
        heading=t.heading,
        columns=dict(t.columns),
        unit=t.unit,
        models=dict(t.models),
    )


def _gpu_reader(src: Source) -> Callable[[Path], pl.DataFrame]:
    if src.kind == "gpu_sheet":
        return lambda path: read_gpu_sheet(path, source_name=src.name, source_position=src.position)
    if src.kind == "runpod_json":
        return lambda path: read_runpod_gpu_types(path.read_bytes())
    if src.kind == "vast_json":
        return lambda path: read_vast_offers(path.read_bytes(), pricing_type=src.pricing_type)
    t = src.table
    return lambda path: read_gpu_page(
        path.read_bytes(),
        provider=t.provider,
        selector=t.selector,
        heading=t.heading,
        columns=dict(t.columns),
        pricing_type=src.pricing_type,
    )


def _with_source(rows: pl.DataFrame, src: Source, schema: dict) -> pl.DataFrame:
    return (
        rows.with_columns(pl.lit(src.name).alias("source_name"), pl.lit(src.position).alias("source_position"))
        .select(list(schema))
        .cast(schema)
    )


def _source_rows(
    cfg: Config,
    layout: Layout,
    section: str,
    src: Source,
    reader: Callable[[Path], pl.DataFrame],
    stored: dict,
    key: tuple[str, ...],
    value: str,
    date_col: str,
    first_day: date,
) -> pl.DataFrame:
    """Read the source's newest payload and fold it into its stored rows; returns the rows in force."""
    rows_file = layout.source_rows(section, src.name)
    before = pl.read_parquet(rows_file) if rows_file.exists() else pl.DataFrame(schema=stored)
    read = _read_newest(cfg, layout, section, src, reader)
    if read is None:
        return before
    fetch_day, payload, seen = read
    if src.kind in SHEET_KINDS or section == "billing":  # dates its own rows: its last good copy is in force
        after = seen.select(list(stored))
    else:
        merged = merge_observation(
            before,
            seen.with_columns(pl.lit(str(payload)).alias("source_file")),
            key=key,
            value=value,
            date_col=date_col,
            fetch_day=fetch_day,
            first_day=first_day,
        )
        after = merged.history
        log.info(
            "%s source '%s': %d new (in force from %s), %d changed (from %s), %d unchanged",
            section,
            src.name,
            merged.new,
            first_day,
            merged.changed,
            fetch_day,
            merged.unchanged,
        )
    parquet = io.BytesIO()
    after.write_parquet(parquet)
    write_atomically(rows_file, parquet.getvalue())
    return after


def _read_newest(
    cfg: Config, layout: Layout, section: str, src: Source, reader: Callable[[Path], pl.DataFrame]
) -> tuple[date, Path, pl.DataFrame] | None:
    """Fetch or read the source's payload, land it, parse it: (fetch day, landed file, rows). None (logged)
    when that fails; the status file records either outcome."""
    status_file = layout.source_status(section, src.name)
    status = SourceStatus.load(status_file)
    now = fetch_clock()
    folder = landing_folder(cfg.landing_dir, src.name, now.date())
    stamp = new_stamp(folder, now)
    record: dict = {
        "source": src.name,
        "section": section,
        "kind": src.kind,
        "url": src.url,
        "path": str(src.path) if src.path else None,
        "fetched_on": now.date().isoformat(),
        "fetched_at": now.isoformat(),
    }
    previous = status.previous_payload()
    validators = {}
    try:
        if src.url:
            fetched = fetch(
                src.url,
                timeout_seconds=src.timeout_seconds,
                max_bytes=src.max_bytes,
                etag=status.etag if previous else None,
                last_modified=status.last_modified if previous else None,
            )
            record.update(
                status=fetched.status,
                attempts=fetched.attempts,
                request_headers=fetched.request_headers,
                response_headers=fetched.response_headers,
            )
            if fetched.status == 304 and previous is None:
                raise FetchError(f"{src.url}: 304 Not Modified to an unconditional request")
            body = fetched.body if fetched.status == 200 else previous.read_bytes()
            if fetched.status == 200:
                validators = {
                    "etag": fetched.response_headers.get("ETag"),
                    "last_modified": fetched.response_headers.get("Last-Modified"),
                }
        else:
            body = src.files()[0].read_bytes()
            record["status"] = "read"
        digest = sha256(body)
        if previous is not None and digest == status.last_good_sha256:
            payload = previous  # the same bytes as the last good payload: not landed again
        else:
            payload = write_payload(folder, stamp, body, EXTENSIONS.get(src.kind, "json"))
        record.update(payload=str(payload), size=len(body), sha256=digest)
        rows = reader(payload)
    except (FetchError, PayloadError, SheetError, OSError) as exc:
        record["error"] = str(exc)
        write_record(folder, stamp, record)
        status.last_error, status.last_error_at = str(exc), now.isoformat()
        status.save(status_file)
        log.error("%s source '%s' (%s): %s; %s", section, src.name, src.url or src.path, exc, _kept(status, now))
        return None
    write_record(folder, stamp, record)
    status.last_good_at, status.last_good_payload, status.last_good_sha256 = now.isoformat(), str(payload), digest
    if validators:
        status.etag, status.last_modified = validators["etag"], validators["last_modified"]
    status.last_error = status.last_error_at = None
    status.save(status_file)
    return now.date(), payload, rows


def _kept(status: SourceStatus, now: datetime) -> str:
    if status.last_good_at is None:
        return "no earlier good data: this source has nothing in force"
    age = (now - datetime.fromisoformat(status.last_good_at)).total_seconds() / 86400
    return f"its last good data stays in force (fetched {status.last_good_at}, {age:.1f} day(s) old)"


@dataclass(frozen=True)
class SourceAge:
    name: str
    url: str
    last_good_fetch_at: datetime | None  # None: never fetched fine
    age_days: float | None


def url_source_ages(cfg: Config, now: datetime | None = None) -> list[SourceAge]:
    """For each url source of [[prices.sources]]: its last good fetch and how many days old it is at `now`
    (default: the fetch clock). For [quality].max_price_age_days; a local file is as fresh as the run that reads
    it, so it is not listed."""
    now = now or fetch_clock()
    layout = Layout.of(cfg)
    out = []
    for src in cfg.price_sources:
        if src.url is None:
            continue
        status = SourceStatus.load(layout.source_status("prices", src.name))
        at = datetime.fromisoformat(status.last_good_at) if status.last_good_at else None
        out.append(SourceAge(src.name, src.url, at, (now - at).total_seconds() / 86400 if at else None))
    return out


def price_source_ages(cfg: Config) -> dict[str, float | None]:
    """Price source name -> days since its prices were last read successfully (docs/spec.md#config
    [quality].max_price_age_days): a url source's last good fetch; a local file is as fresh as the run."""
    ages: dict[str, float | None] = {src.name: 0.0 for src in cfg.price_sources}
    ages.update({age.name: age.age_days for age in url_source_ages(cfg)})
    return ages
