"""Read canonical usage files (JSONL, CSV, Parquet, optionally .gz) with DuckDB, in place.

A file is streamed by DuckDB (never row by row in Python; JSONL and CSV by as many statements side by side as DuckDB
has threads, see stage_usage_file), checked against the quarantine rules of docs/spec.md#usage-record and the usage
window (UsageWindow), and written as:
  - valid rows: Parquet partitioned by usage_date, one folder per file  (<out>/usage/<key>/usage_date=D/)
  - bad rows:   one Parquet file with source, file, line, reason, raw     (<out>/quarantine/<key>.parquet)
A file that cannot be read whole (ingest/unreadable.py) raises UnreadableUsageFile: nothing of it is staged, and
ingest/stage.py stages it as a failed file (stage_failed_file). The cost arithmetic is not done here: it lives in
the dbt project.

The vendor readers (ingest/usage_exports.py) shape their records into the same canonical columns and
hand them to `stage_relation`, so every kind goes through these rules and this staged layout.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import shutil
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.sql_literals import sql_str
from core.vocabulary import SERVICE_TIERS, STATUSES
from ingest.unreadable import STAGED_NOTHING, UnreadableUsageFile, is_gzip, read_to_the_end

# Every canonical column, as read (VARCHAR) before the checks cast it.
COLUMNS = (
    "event_id",
    "occurred_at",
    "tenant_id",
    "feature",
    "task_id",
    "provider",
    "model",
    "deployment_id",
    "account_id",
    "service_tier",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "status",
    "attempt",
)
TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)
REQUIRED_TEXT = ("event_id", "tenant_id", "feature", "provider", "model")

# The typed columns of a staged (valid) usage row; also the schema of an empty day.
STAGED_SCHEMA = {
    "source": "VARCHAR",
    "file": "VARCHAR",
    "file_seq": "INTEGER",
    "line_no": "BIGINT",
    "event_id": "VARCHAR",
    "occurred_at": "TIMESTAMP",
    "usage_date": "DATE",
    "tenant_id": "VARCHAR",
    "feature": "VARCHAR",
    "task_id": "VARCHAR",
    "provider": "VARCHAR",
    "model": "VARCHAR",
    "deployment_id": "VARCHAR",
    "account_id": "VARCHAR",
    "service_tier": "VARCHAR",
    **dict.fromkeys(TOKEN_COLUMNS, "BIGINT"),
    "status": "VARCHAR",
    "attempt": "INTEGER",
}


# A canonical file is checked and written in at most this many parts side by side (see stage_usage_file). Each part
# reads all of the file, so more parts than this would spend more on reading again than they share of the checks
# and the write (docs/performance.md).
READ_PARTS = 4


class UsageFileError(Exception):
    """A usage file the config should not have given this reader (an unknown file type): the run stops, exit 2."""


@dataclass(frozen=True)
class StagedFile:
    rows_by_day: dict[str, int]
    quarantined: int
    failure: str | None = None  # why nothing of the file is staged (a failed file: stage_failed_file)


@dataclass(frozen=True)
class UsageWindow:
    """The days a usage record may fall on: from [quality] earliest_usage_date to [quality] max_usage_days_ahead
    days after the day of the run (UTC), both included. A record outside is quarantined: no run would build its
    day, so it would be in no finance table and not in the quarantine either."""

    earliest: date
    run_day: date
    days_ahead: int

    @property
    def end(self) -> date:
        """The first day after the window (a record of this day or later is quarantined)."""
        return self.run_day + timedelta(days=self.days_ahead + 1)


def _file_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for ext, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "jsonl"),
        (".csv", "csv"),
        (".parquet", "parquet"),
    ):
        if name.endswith(ext):
            return fmt
    raise UsageFileError(f"{path}: unknown usage file type (expected .jsonl, .csv or .parquet, optionally .gz)")


# The field delimiters a CSV usage file may use: the one its header line holds most (a comma when tied).
CSV_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvHeader:
    delimiter: str
    columns: list[str]  # [] for an empty file


def _csv_header(path: Path) -> CsvHeader:
    """The delimiter and the column names of a CSV file, from its first line."""
    opened = (
        gzip.open(path, "rt", encoding="utf-8-sig", newline="")
        if is_gzip(path)
        else open(path, encoding="utf-8-sig", newline="")
    )
    try:
        with opened as f:
            line = f.readline()
    except (ValueError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        read_to_the_end(path, utf8=True)  # says where the gzip stream or the text breaks
        raise UnreadableUsageFile(f"cannot read the CSV header ({exc}); {STAGED_NOTHING}", 1) from None
    delimiter = max(CSV_DELIMITERS, key=line.count)
    columns = next(csv.reader([line], delimiter=delimiter), [])
    twice = sorted({name for name in columns if columns.count(name) > 1})
    if twice:
        raise UnreadableUsageFile(
            f"the CSV header names column '{twice[0]}' twice; {STAGED_NOTHING}: give each column one name", 1
        )
    return CsvHeader(delimiter, columns)


def _csv_sql(p: str, header: CsvHeader, options: str = "") -> str:
    """A CSV file as its header says (delimiter, columns, every one VARCHAR), fields quoted with double quotes (RFC
    4180): no sniffing (a malformed row made DuckDB's sniffer read a whole file as one column)."""
    columns = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in header.columns) + "}"
    return (
        f"read_csv({p}, columns = {columns}, header = true, auto_detect = false, "
        f"delim = {sql_str(header.delimiter)}, quote = '\"', escape = '\"'{options})"
    )


# A CSV read a second time, its malformed rows set aside (see stage_usage_file): DuckDB keeps them in these tables.
CSV_REJECTS = ", store_rejects = true, rejects_table = 'csv_reject_errors', rejects_scan = 'csv_reject_scans'"


def _raw_relation_sql(con: duckdb.DuckDBPyConnection, path: Path, csv_options: str = "") -> str:
    """SQL for one row per record: line_no, raw (the original text), rec (every canonical column as VARCHAR)
    and read_error (why a reader could not make a record of it; always NULL here).

    JSONL goes through DuckDB's parallel JSON reader, which skips blank lines and returns a record of NULLs for
    a line that is not a JSON object: line_no is then the record's number and raw is NULL, and
    `_restore_quarantined_lines` gives the quarantined records their line, raw text and reason afterwards.
    A CSV file's records are numbered from 2 (the header is line 1); csv_options: see stage_usage_file."""
    fmt = _file_format(path)
    p = sql_str(str(path))
    if fmt == "jsonl":
        columns = "{" + ", ".join(f"{c}: 'VARCHAR'" for c in COLUMNS) + "}"
        return f"""
            select ordinality as line_no, cast(null as varchar) as raw,
                   struct_pack({", ".join(COLUMNS)}) as rec, cast(null as varchar) as read_error
            from read_json({p}, format = 'newline_delimited', columns = {columns}, ignore_errors = true)
                 with ordinality"""
    if fmt == "csv":
        header = _csv_header(path)
        # (an empty file has no header and no records)
        reader = _csv_sql(p, header, csv_options) if header.columns else "(select 1) where false"
        line_no = "row_number() over () + 1"  # the header is line 1
        present = set(header.columns)
    else:
        # parquet rows are numbered from 1; DuckDB's reader numbers them itself, in parallel
        reader = f"read_parquet({p}, file_row_number = true)"
        line_no = "file_row_number + 1"
        present = {row[0] for row in con.sql(f"describe select * from {reader}").fetchall()}
    fields = ", ".join(
        f"{c} := cast({c} as varchar)" if c in present else f"{c} := cast(null as varchar)" for c in COLUMNS
    )
    return f"""
        select {line_no} as line_no, cast(null as varchar) as raw,
               struct_pack({fields}) as rec, cast(null as varchar) as read_error
        from {reader}"""


# ISO 8601 text to a UTC time, in DuckDB's SQL: a value with no zone is UTC (the session time zone is UTC); the
# UTC wall time from the epoch (`at time zone` is several times slower on big files). The Spark reader
# (warehouse/engines/spark/usage.py) passes Spark's spelling, and of a string literal; the rules are the same SQL
# on both engines.
UTC_TIMESTAMP_SQL = "make_timestamp(epoch_us(try_cast({0} as timestamptz)))"
# The spaces a text field loses at either end: U+0020 and the Unicode spaces (no-break space, U+2000-U+200A, ...),
# not tabs; what DuckDB's trim strips (every code point up to U+3100 tried). Spark spells it from this list.
TRIMMED_SPACES = (0x20, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)
# A text field without them, in DuckDB's SQL: an ASCII value without a space at either end is its own trim and is
# not trimmed (most fields need no trim, and the test is cheaper than trim).
QUOTE = "'"
TRIMMED_SQL = "case when {0} like ' %' or {0} like '% ' or strlen({0}) <> length({0}) then trim({0}) else {0} end"


def checked_sql(
    raw_sql: str,
    source: str,
    file: str,
    file_seq: int,
    window: UsageWindow,
    utc_timestamp: str = UTC_TIMESTAMP_SQL,
    trimmed: str = TRIMMED_SQL,
    literal=sql_str,
) -> str:
    """SQL that casts each record and sets `reason` to the first broken rule (NULL when valid). `utc_timestamp`,
    `trimmed` and `literal` (a text as a string literal) spell what the engines' SQL spells differently ({0}: the
    text; Spark's: warehouse/engines/spark/usage.py)."""

    def quoted(name: str, value: str, after: str) -> str:
        """SQL for the message: <name> '<value>'<after>."""
        return f"{literal(name + ' ' + QUOTE)} || {value} || {literal(QUOTE + after)}"

    text = {
        c: trimmed.format(f"rec.{c}")
        for c in (*REQUIRED_TEXT, "occurred_at", "task_id", "deployment_id", "account_id", "service_tier", "status")
    }
    # each text parsed once; a whole number only (try_cast('1.5' as bigint) would round it to 2)
    numbers = ", ".join(f"try_cast(rec.{c} as double) as {c}_number" for c in TOKEN_COLUMNS)
    casts = ",\n".join(
        f"case when {c}_number = floor({c}_number) then try_cast({c}_number as bigint) end as {c}"
        for c in TOKEN_COLUMNS
    )
    tiers = ", ".join(f"'{t}'" for t in SERVICE_TIERS)
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    rules = ["when read_error is not null then read_error", "when rec is null then 'not a valid JSON object'"]
    rules += [f"when nullif({c}, '') is null then 'missing {c}'" for c in REQUIRED_TEXT]  # trimmed below
    rules += [
        f"when nullif({text['occurred_at']}, '') is null then 'missing occurred_at'",
        "when occurred_at is null then " + quoted("occurred_at", "rec.occurred_at", " is not an ISO 8601 timestamp"),
        f"when usage_date < date '{window.earliest}' then "
        + quoted("occurred_at", "rec.occurred_at", f" is before {window.earliest} ([quality] earliest_usage_date)"),
        f"when usage_date >= date '{window.end}' then "
        + quoted(
            "occurred_at",
            "rec.occurred_at",
            f" is after {window.end - timedelta(days=1)} ([quality] max_usage_days_ahead: "
            f"{window.days_ahead} day(s) after the day of the run, {window.run_day})",
        ),
        "when rec.input_tokens is null then 'missing input_tokens'",
        "when rec.output_tokens is null then 'missing output_tokens'",
    ]
    rules += [
        f"when rec.{c} is not null and {c} is null then " + quoted(c, f"rec.{c}", " is not a whole number")
        for c in TOKEN_COLUMNS
    ]
    rules += [f"when {c} < 0 then '{c} ' || {c} || ' is negative'" for c in TOKEN_COLUMNS]
    rules += [
        "when coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0) + coalesce(cache_write_1h_tokens, 0)"
        " > input_tokens then 'cache tokens ' || (coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)"
        " + coalesce(cache_write_1h_tokens, 0)) || ' > input_tokens ' || input_tokens",
        "when coalesce(reasoning_tokens, 0) > output_tokens then 'reasoning_tokens ' || reasoning_tokens"
        " || ' > output_tokens ' || output_tokens",
        f"when service_tier is not null and service_tier not in ({tiers}) then "
        + quoted("service_tier", "service_tier", " is not one of " + ", ".join(SERVICE_TIERS)),
        f"when status is not null and status not in ({statuses}) then "
        + quoted("status", "status", " is not one of " + ", ".join(STATUSES)),
        "when rec.attempt is not null and (attempt is null or attempt < 1) then "
        + quoted("attempt", "rec.attempt", " is not a whole number >= 1"),
    ]
    return f"""
        select {literal(source)} as source, {literal(file)} as file, {file_seq} as file_seq, *,
               case {" ".join(rules)} end as reason
        from (
            select line_no, raw, rec, read_error,
                   {text["event_id"]} as event_id,
                   occurred_at,
                   cast(occurred_at as date) as usage_date,
                   {text["tenant_id"]} as tenant_id, {text["feature"]} as feature,
                   nullif({text["task_id"]}, '') as task_id, {text["provider"]} as provider,
                   {text["model"]} as model, nullif({text["deployment_id"]}, '') as deployment_id,
                   nullif({text["account_id"]}, '') as account_id,
                   lower(nullif({text["service_tier"]}, '')) as service_tier,
                   {casts},
                   lower(nullif({text["status"]}, '')) as status,
                   try_cast(rec.attempt as integer) as attempt
            from (
                select *,
                       {utc_timestamp.format("rec.occurred_at")} as occurred_at,
                       {numbers}
                from ({raw_sql})
            )
        )"""


def stage_usage_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    source: str,
    file_seq: int,
    usage_dir: Path,
    quarantine_file: Path,
    window: UsageWindow,
) -> StagedFile:
    """Read, check and stage one canonical usage file (see stage_relation); for JSONL with quarantined records, one
    more pass over its lines fetches their raw text (see _restore_quarantined_lines). Raises UnreadableUsageFile
    when the file cannot be read whole: a .gz file is read to its end in a thread while DuckDB reads it (DuckDB takes
    a gzip stream that ends early for a whole one), and text that is not UTF-8 stops DuckDB.

    A JSONL or CSV file is checked and written in as many side-by-side parts as DuckDB has threads (at most
    READ_PARTS), each part streaming the whole file: numbering its records (`with ordinality`, `row_number() over
    ()`) makes DuckDB read it on one thread, and the checks and the write after the read with it (see
    stage_relation). A Parquet file's rows are numbered by DuckDB's parallel reader (`file_row_number`): one part.
    A CSV file with a row DuckDB cannot parse (a field too many or too few, a quote not closed) is read again in one
    part, those rows set aside (see _quarantine_rejected_rows)."""
    fmt = _file_format(path)
    parts = 1 if fmt == "parquet" else min(con.sql("select current_setting('threads')").fetchone()[0], READ_PARTS)
    where = dict(
        file=str(path),
        source=source,
        file_seq=file_seq,
        usage_dir=usage_dir,
        quarantine_file=quarantine_file,
        window=window,
    )
    with ThreadPoolExecutor(1) as pool:
        whole = pool.submit(read_to_the_end, path, utf8=False)
        try:
            staged = _stage_read(con, path, fmt, parts, where)
        except duckdb.Error as exc:
            whole.result()  # a broken gzip stream says best where the file broke,
            if fmt != "parquet":
                read_to_the_end(path, utf8=True)  # then text that is not UTF-8
            message = str(exc).strip().splitlines()[0]
            raise UnreadableUsageFile(
                f"cannot be read as {fmt}: {message}; {STAGED_NOTHING}: copy it again whole, or export it again"
            ) from None
        whole.result()
    return staged


def _stage_read(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, parts: int, where: dict) -> StagedFile:
    """The reading and staging of stage_usage_file, in `parts`; `where`: stage_relation's keyword arguments."""
    if fmt == "csv":
        try:
            return stage_relation(con, _raw_relation_sql(con, path), parts=parts, **where)
        except duckdb.Error:  # a row DuckDB cannot parse: read again, in one part, setting such rows aside
            con.execute("drop table if exists csv_reject_errors; drop table if exists csv_reject_scans")
            staged = stage_relation(con, _raw_relation_sql(con, path, CSV_REJECTS), **where)
            return _quarantine_rejected_rows(con, path, where["source"], where["quarantine_file"], staged)
    staged = stage_relation(con, _raw_relation_sql(con, path), parts=parts, **where)
    if staged.quarantined and fmt == "jsonl":
        _restore_quarantined_lines(con, path, where["quarantine_file"])
    return staged


def _quarantine_rejected_rows(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, quarantine_file: Path, staged: StagedFile
) -> StagedFile:
    """Add the CSV rows DuckDB set aside (CSV_REJECTS) to the file's quarantine, with their line and raw text, and
    give the quarantined records their line: record n is on line n + 1 (the header) + the rows set aside before it
    (the k-th row set aside, on line L, has L - 1 - k records before it). Text that is not UTF-8 is not a row to set
    aside: the file cannot be read whole."""
    con.execute("""create or replace temp table rejected as
                   select line, any_value(csv_line) as raw, bool_or(error_type = 'INVALID ENCODING') as undecodable,
                          bool_or(error_type = 'UNQUOTED VALUE') as open_quote,
                          line - 1 - row_number() over (order by line) as records_before
                   from csv_reject_errors group by line""")
    con.execute("drop table csv_reject_errors; drop table csv_reject_scans")
    broken = con.execute("select min(line) from rejected where undecodable").fetchone()[0]
    if broken is not None:
        con.execute("drop table rejected")
        read_to_the_end(path, utf8=True)  # says where
        raise UnreadableUsageFile(f"not UTF-8 text in line {broken:,}; {STAGED_NOTHING}: save it as UTF-8", broken)
    fields = len(_csv_header(path).columns)
    q = sql_str(str(quarantine_file))
    quarantined = con.execute(f"""
        copy (select source, file, line_no + (select count(*) from rejected as r
                                              where r.records_before < q.line_no - 1) as line_no,
                     reason, raw, ingested_at
              from read_parquet({q}) as q
              union all
              select {sql_str(source)}, {sql_str(str(path))}, cast(line as bigint),
                     case when open_quote then 'malformed CSV row: a quote is not closed'
                          else 'malformed CSV row: not the {fields} fields of the header' end,
                     raw, cast(now() at time zone 'UTC' as timestamp)
              from rejected
              order by line_no)
        to {q} (format parquet)""").fetchone()[0]
    con.execute("drop table rejected")
    return StagedFile(rows_by_day=staged.rows_by_day, quarantined=quarantined)


def stage_failed_file(
    error: UnreadableUsageFile, *, file: str, source: str, usage_dir: Path, quarantine_file: Path
) -> StagedFile:
    """Stage a file that cannot be read whole: no rows, and one quarantine row with the reason and the line it broke
    in (raw text NULL). The quality gate counts it as a file of one record, quarantined (docs/quality.md)."""
    shutil.rmtree(usage_dir, ignore_errors=True)
    usage_dir.mkdir(parents=True)
    quarantine_file.parent.mkdir(parents=True, exist_ok=True)
    duckdb.execute(
        f"""copy (select {sql_str(source)} as source, {sql_str(file)} as file,
                                    cast(? as bigint) as line_no, {sql_str(error.reason)} as reason,
                                    cast(null as varchar) as raw,
                                    cast(now() at time zone 'UTC' as timestamp) as ingested_at)
                       to {sql_str(str(quarantine_file))} (format parquet)""",
        [error.line],
    )
    return StagedFile(rows_by_day={}, quarantined=1, failure=error.reason)


def _restore_quarantined_lines(con: duckdb.DuckDBPyConnection, path: Path, quarantine_file: Path) -> None:
    """Rewrite a JSONL file's quarantine with each record's line number and raw line (it holds record numbers,
    see _raw_relation_sql); a line that is not a JSON object gets that reason."""
    q = sql_str(str(quarantine_file))
    records = [n for (n,) in con.execute(f"select distinct line_no from read_parquet({q})").fetchall()]
    found = _lines_of_records(path, records)
    con.register(
        "record_lines",
        pl.DataFrame(
            [(n, line, raw) for n, (line, raw) in found.items()],
            schema={"record": pl.Int64, "file_line": pl.Int64, "line": pl.Utf8},
            orient="row",
        ),
    )
    con.execute(f"""copy (select q.source, q.file, coalesce(l.file_line, q.line_no) as line_no,
                                 case when not json_valid(l.line) or json_type(l.line) <> 'OBJECT'
                                      then 'not a valid JSON object' else q.reason end as reason,
                                 l.line as raw, q.ingested_at
                          from read_parquet({q}) as q
                          left join record_lines as l on l.record = q.line_no
                          order by 3)
                    to {q} (format parquet)""")
    con.unregister("record_lines")


RECORD_LINES_BLOCK = 64 * 2**20  # bytes of a JSONL file scanned at a time for the quarantined records' lines
_BLANK_FIRST_BYTES = np.frombuffer(b"\n \t\r", dtype=np.uint8)  # how a blank line starts


def _lines_of_records(path: Path, records: list[int]) -> dict[int, tuple[int, str]]:
    """{record number: (its line, its text)} of a JSONL file, for the given record numbers: record n is the n-th line
    that is not blank (empty or only spaces, tabs and \\r: the lines DuckDB's JSON reader skips). A line ends at
    \\n (a \\r before it is not its text) and a UTF-8 byte-order mark is not text, as DuckDB's JSON reader reads
    them. The file is read in blocks of whole lines, its line ends found by numpy; only the lines that start like a
    blank one are looked at in Python. Raises UnreadableUsageFile when a record's line is not UTF-8 or the gzip
    stream breaks (read_to_the_end says where)."""
    wanted = sorted(set(records))
    found: dict[int, tuple[int, str]] = {}
    lines_before = records_before = 0
    rest, head = b"", True
    try:
        with gzip.open(path, "rb") if is_gzip(path) else open(path, "rb") as f:
            while len(found) < len(wanted):
                chunk = f.read(RECORD_LINES_BLOCK)
                data = rest + chunk if rest else chunk
                if head:
                    data, head = data.removeprefix(codecs.BOM_UTF8), False
                ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
                end = int(ends[-1]) + 1 if len(ends) else 0
                if chunk:  # whole lines only, but at the end of the file
                    rest, size, lines = data[end:], end, len(ends)
                else:
                    size, lines = len(data), len(ends) + (len(data) > end)
                if lines:
                    blank = _blank_lines(data, ends, lines, size)
                    for record in wanted[len(found) :]:
                        if record > records_before + lines - len(blank):
                            break  # (in a block after this one)
                        index = record - records_before - 1  # the record's line in the block, were no line blank
                        for b in blank:
                            index += b <= index
                        start = int(ends[index - 1]) + 1 if index else 0
                        stop = int(ends[index]) if index < len(ends) else size
                        text = data[start:stop].removesuffix(b"\r").decode("utf-8")
                        found[record] = (lines_before + index + 1, text)
                    lines_before, records_before = lines_before + lines, records_before + lines - len(blank)
                if not chunk:
                    break
    except (UnicodeDecodeError, EOFError, OSError, zlib.error):  # not UTF-8, a broken gzip stream: says where
        read_to_the_end(path, utf8=True)
        raise
    return found


def _blank_lines(data: bytes, ends: np.ndarray, lines: int, size: int) -> list[int]:
    """The indexes of the blank lines among the first `lines` lines of data (its first `size` bytes), whose line
    ends are at `ends`: only the lines that start with a line end, a space, a tab or a \\r are looked at."""
    starts = np.concatenate(([0], ends[: lines - 1] + 1))
    first = np.frombuffer(data, dtype=np.uint8)[np.minimum(starts, len(data) - 1)]
    maybe = np.flatnonzero(np.isin(first, _BLANK_FIRST_BYTES) | (starts >= size))
    limits = ends if lines == len(ends) else np.append(ends, size)  # (a last line with no line end)
    return [int(i) for i in maybe if not data[starts[i] : limits[i]].strip(b" \t\r")]


def stage_relation(
    con: duckdb.DuckDBPyConnection,
    raw_sql: str,
    *,
    file: str,
    source: str,
    file_seq: int,
    usage_dir: Path,
    quarantine_file: Path,
    window: UsageWindow,
    parts: int = 1,
    raw_text: str = "raw",
) -> StagedFile:
    """Check the records of one file and stage them.

    raw_sql selects line_no, raw, rec (a struct of every canonical column as VARCHAR) and read_error; window: the
    days a record may fall on. Every row is written under usage_dir, partitioned by usage_date (hive folders), with
    `reason` NULL when valid; the bad rows (reason and raw text) are then copied to quarantine_file. raw_text: SQL
    of a bad row's raw text from raw_sql's raw and read_error, computed for the bad rows only.

    parts > 1: the records are checked and written by that many statements side by side, each on its own thread,
    part k taking the records whose line_no % parts = k. Each reads all of raw_sql, so this is for a reader that
    runs on one thread anyway (numbered records): its checks and its write, most of the work, are then shared.
    """
    con.execute("set TimeZone = 'UTC'")
    staged_cols = ", ".join(c for c in STAGED_SCHEMA)
    shutil.rmtree(usage_dir, ignore_errors=True)
    usage_dir.mkdir(parents=True)
    checked = checked_sql(raw_sql, source, file, file_seq, window)
    part_sql = (
        [checked]
        if parts == 1
        else [
            checked_sql(f"select * from ({raw_sql}) where line_no % {parts} = {k}", source, file, file_seq, window)
            for k in range(parts)
        ]
    )
    copies = [
        f"""copy (select {staged_cols}, reason,
                               case when reason is not null then coalesce({raw_text}, to_json(rec)::varchar) end as raw
                        from ({sql}))
                  to {sql_str(str(usage_dir))} (format parquet, partition_by (usage_date), overwrite_or_ignore true,
                                                filename_pattern 'part{k}_{{i}}')"""
        for k, sql in enumerate(part_sql)
    ]
    _side_by_side(con, copies)

    staged = f"read_parquet({sql_str(str(usage_dir / '**' / '*.parquet'))}, hive_partitioning=true)"
    if not any(usage_dir.rglob("*.parquet")):  # a file with no records: nothing staged, an empty quarantine
        staged = f"({checked})"
    rows_by_day = {
        str(d): n
        for d, n in con.sql(
            f"select usage_date, count(*) from {staged} where reason is null group by 1 order by 1"
        ).fetchall()
    }
    quarantine_file.parent.mkdir(parents=True, exist_ok=True)
    copied = con.execute(f"""copy (select source, file, line_no, reason, raw,
                                          cast(now() at time zone 'UTC' as timestamp) as ingested_at from {staged}
                                   where reason is not null order by line_no)
                             to {sql_str(str(quarantine_file))} (format parquet)""")
    quarantined = copied.fetchone()[0]  # COPY ... TO returns the number of rows it wrote
    return StagedFile(rows_by_day=rows_by_day, quarantined=quarantined)


def _side_by_side(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run the statements: one on `con` (which alone sees its temporary tables, such as the vendor exports' rows);
    several at once, each on a cursor of its own thread, with DuckDB's threads set to 1 meanwhile (so each runs on
    the thread that issued it, and no more threads than statements compete for the cores)."""
    if len(statements) == 1:
        con.execute(statements[0])
        return

    def run(statement: str) -> None:
        with con.cursor() as cursor:
            cursor.execute("set TimeZone = 'UTC'")
            cursor.execute(statement)

    threads = con.sql("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    try:
        with ThreadPoolExecutor(len(statements)) as pool:
            list(pool.map(run, statements))
    finally:
        con.execute(f"set threads = {threads}")


def write_empty_usage(path: Path) -> None:
    """A Parquet file with the staged usage schema and no rows (so a day with no usage still builds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = ", ".join(f"cast(null as {t}) as {c}" for c, t in STAGED_SCHEMA.items() if c != "usage_date")
    duckdb.sql(
        f"copy (select {cols}, cast(null as varchar) as reason, cast(null as varchar) as raw where false)"
        f" to {sql_str(str(path))} (format parquet)"
    )
