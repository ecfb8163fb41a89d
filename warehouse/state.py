"""What the pipeline remembers between runs, in <warehouse>.data/state.json (written atomically).

- files:      every usage file staged so far: its size, mtime and how it was read (a change means
              re-staging), the order it was first seen in (the first occurrence of a duplicate event wins),
              the days it holds, and why it could not be read whole (a failed file, read again each run).
- days:       every built usage day: the fingerprint of the inputs it was built from.
- partitions: for each per-day table, the Parquet file that holds each day's rows now.
- superseded: partition files no catalog references since the last publish: when they stopped being referenced
              (they are kept a while for readers of older catalogs: warehouse/retention.py).
- published:  every published usage day: the run that published it last, when that run started (UTC, ISO) and
              the day's status then (`complete`, `partial`: today's unfinished day, `empty`: no usage record):
              finance.published_days.
- failed_days: usage days whose last run failed the quality gate (and have not been published since),
              with that run's id; `finops report` refuses a week that has one.
- published_build: the build id of the last publish.

Every publish also writes the state it leaves into the published catalog itself (CATALOG_STATE, in the same atomic
rename as the finance tables; on Spark, into the table <database>_pipeline.state: warehouse/engines/spark/publish.py): what
is published is the truth. load_state takes state.json when it is the state of that publish (or newer: a failed gate
since); when state.json is missing, unreadable or from another publish (a backup, a crash between the publish and
the save), the state is the published copy, and a warning says so.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from core.files import write_atomically
from core.layout import Layout, WarehouseError
from core.staged_usage import StagedUsageFile
from warehouse.finance_tables import per_day_tables

if TYPE_CHECKING:
    from warehouse.build import Build

log = logging.getLogger("finops")

# The state as the publish left it, in the published catalog: one row (build_id, published_at, state as JSON).
CATALOG_STATE_SCHEMA = "finops_pipeline"
CATALOG_STATE = f"{CATALOG_STATE_SCHEMA}.state"


@dataclass
class State:
    files: dict[str, StagedUsageFile] = field(default_factory=dict)
    days: dict[str, str] = field(default_factory=dict)  # usage_date -> fingerprint of its inputs
    partitions: dict[str, dict[str, str]] = field(default_factory=lambda: {t: {} for t in per_day_tables()})
    next_file_seq: int = 1
    failed_days: dict[str, str] = field(default_factory=dict)  # usage_date -> run id of the failed gate
    # usage_date -> {"run_id", "published_at", "status"} of its last publish (a day published by a finops that kept
    # none: no entry; it reads as complete)
    published: dict[str, dict[str, str]] = field(default_factory=dict)
    superseded: dict[str, float] = field(default_factory=dict)  # partition file -> when superseded (epoch seconds)
    published_build: str = ""

    @classmethod
    def from_json(cls, text: str) -> State:
        """Raises ValueError when `text` is not a state document (truncated, garbage)."""
        try:
            doc = json.loads(text)
            return cls(
                files={k: StagedUsageFile(**v) for k, v in doc["files"].items()},
                days=dict(doc["days"]),
                # a table added since has no partition yet (its days are rebuilt: the code is in their
                # fingerprints)
                partitions={t: dict(doc["partitions"].get(t, {})) for t in per_day_tables()},
                next_file_seq=int(doc["next_file_seq"]),
                failed_days=dict(doc.get("failed_days", {})),
                published={k: dict(v) for k, v in doc.get("published", {}).items()},
                superseded=dict(doc.get("superseded", {})),
                published_build=doc.get("published_build", ""),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a state document ({type(exc).__name__}: {exc})") from None

    def to_json(self) -> str:
        return json.dumps(
            {
                "files": {k: asdict(v) for k, v in self.files.items()},
                "days": self.days,
                "partitions": self.partitions,
                "next_file_seq": self.next_file_seq,
                "failed_days": self.failed_days,
                "published": self.published,
                "superseded": self.superseded,
                "published_build": self.published_build,
            },
            indent=1,
            sort_keys=True,
        )

    def save(self, path: Path) -> None:
        write_atomically(path, self.to_json())

    def record_published(self, build: Build) -> None:
        """The days of a published build: built from these inputs (fingerprints), with their status, no longer
        failed."""
        self.days.update(build.fingerprints)
        for day in build.days:
            self.failed_days.pop(day, None)
            self.published[day] = {
                "run_id": build.build_id,
                "published_at": build.started_at,
                "status": build.statuses[day],
            }
        self.published_build = build.build_id

    def status(self, day: str) -> str | None:
        """The status of a published day (None: not published)."""
        if day not in self.days:
            return None
        return self.published.get(day, {}).get("status", "complete")

    def staged_calls(self, days: list[str]) -> int:
        """The valid usage records staged for these days (ISO dates), over every file."""
        return sum(f.days.get(day, 0) for f in self.files.values() for day in days)

    def files_for_day(self, day: str) -> list[str]:
        """Keys of the staged usage files that hold rows of this day, in staging order."""
        return [f.key for f in sorted(self.files.values(), key=lambda f: f.seq) if day in f.days]


def write_catalog_state(con: duckdb.DuckDBPyConnection, state: State) -> None:
    """Write `state` into the catalog being built on `con` (warehouse/publish.py)."""
    con.execute(f"create schema {CATALOG_STATE_SCHEMA}")
    con.execute(f"create table {CATALOG_STATE} (build_id varchar, published_at timestamptz, state varchar)")
    con.execute(
        f"insert into {CATALOG_STATE} values (?, ?, ?)", [state.published_build, datetime.now(UTC), state.to_json()]
    )


@dataclass(frozen=True)
class Published:
    """What is published: where ("catalog <path>", "Spark database <name>"), and the state its last publish left
    there (None: published by a finops that did not write it)."""

    where: str
    state: State | None


def catalog_state(warehouse: Path) -> Published | None:
    """What the published DuckDB catalog holds; None when nothing is published."""
    if not warehouse.exists():
        return None
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            if not con.execute(
                "select 1 from duckdb_tables() where schema_name = ? and table_name = 'state'", [CATALOG_STATE_SCHEMA]
            ).fetchall():
                return Published(f"catalog {warehouse}", None)
            text = con.execute(f"select state from {CATALOG_STATE}").fetchone()[0]
    except duckdb.Error as exc:
        raise WarehouseError(
            f"{warehouse}: not a warehouse catalog finops can open ({exc}); check [warehouse] "
            "path, or move the file aside if it is not the published warehouse"
        ) from None
    return Published(f"catalog {warehouse}", published_copy(text, f"{warehouse}: its table {CATALOG_STATE}"))


def published_copy(text: str, where: str) -> State:
    """The state a publish wrote beside the finance tables (`where` names it in the error)."""
    try:
        return State.from_json(text)
    except ValueError as exc:
        raise WarehouseError(f"{where} is damaged ({exc}); restore the published warehouse from a backup") from None


def load_state(layout: Layout, published: Published | None) -> State:
    """The pipeline's state: state.json, unless the copy of the state in what is published (`published`:
    catalog_state, or the Spark tables' warehouse/engines/spark/publish.py) must replace it (module docstring)."""
    path = layout.state_file
    try:
        state, problem = State.from_json(path.read_text()), ""
    except FileNotFoundError:
        state, problem = None, "is missing"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        state, problem = None, f"is unreadable ({exc})"
    if published is None or published.state is None:
        if published is not None and state is None:
            raise WarehouseError(
                f"{path} {problem}, and the published {published.where} was written by an earlier finops that kept "
                f"no copy of it: restore {path.name} from a backup, or move the published {published.where} aside "
                "and run `finops backfill` over the whole history"
            )
        if problem and problem != "is missing":
            log.warning(
                "%s %s: nothing is published yet, starting afresh (every usage file is read again)", path, problem
            )
        return state or State()
    if state is not None and state.published_build == published.state.published_build:
        return state
    if state is not None:
        problem = (
            f"is from another publish (its last publish {state.published_build or 'unknown'}, the published "
            f"one's {published.state.published_build})"
        )
    gone = drop_unstaged_files(layout, published.state)
    log.warning(
        "%s %s: rebuilt from the published %s%s",
        path,
        problem,
        published.where,
        f"; {gone} usage file(s) whose staged rows are gone will be read again" if gone else "",
    )
    return published.state


def drop_unstaged_files(layout: Layout, state: State) -> int:
    """Forget the staged files whose staged rows are no longer all there (they are staged again); how many."""
    gone = [
        name
        for name, f in state.files.items()
        if not layout.quarantine_file(f.key).exists()
        or not all((layout.staged_usage_dir(f.key) / f"usage_date={day}").is_dir() for day in f.days)
    ]
    for name in gone:
        del state.files[name]
    return len(gone)
