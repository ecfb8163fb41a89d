"""Read a vendor usage export (kinds openai_usage, anthropic_usage, gemini_usage, otel_genai,
litellm_spend_logs) into canonical records and stage them with the canonical rules.

A file is JSON lines (.jsonl, .ndjson: a document a line), one JSON document (.json; a .json file of JSON lines
is read as lines) or, for litellm_spend_logs, CSV; each optionally .gz. The per-request log lines of a JSON lines
file are read by DuckDB's line reader (split in Python when the file has a \r) and mapped by DuckDB into the staged
rows (ingest/vendor_sql.py, ingest/otel_sql.py); the lines it leaves, and every other file, go through the kind's
reader, which turns each parsed document into Records (ingest/usage_<vendor>.py), the source's lookups fill the
columns the export does not carry (tenant_id, feature, ...), and the rows go through polars into a DuckDB table.
Both are checked and staged by ingest.usage_canonical.stage_relation exactly like a canonical file: same rules,
same quarantine, same staged layout. A record that cannot be mapped is quarantined with the reason, its line (for
a single JSON document: its position in it, 1 = the first record) and its raw text. A file that cannot be read
whole (a broken gzip stream, text that is not UTF-8, a .json file that is neither a JSON document nor JSON lines)
raises UnreadableUsageFile before any of it is staged.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import duckdb
import polars as pl
from duckdb.sqltypes import VARCHAR

from core.config import Lookup, UsageMapping
from core.sql_literals import sql_str
from ingest import usage_anthropic, usage_gemini, usage_litellm, usage_openai, usage_otel
from ingest.otel_sql import mapped_spans_sql
from ingest.unreadable import STAGED_NOTHING, UnreadableUsageFile, is_gzip, read_to_the_end
from ingest.usage_canonical import COLUMNS, StagedFile, UsageFileError, UsageWindow, stage_relation
from ingest.vendor_records import REQUIRED, BadRecord, Record, Skipped, as_time
from ingest.vendor_sql import NotInSql, mapped_lines_sql

log = logging.getLogger("finops")

READERS: dict[str, Callable[[object, UsageMapping, str], Iterator[Record | Skipped]]] = {
    "openai_usage": usage_openai.records,
    "anthropic_usage": usage_anthropic.records,
    "gemini_usage": usage_gemini.records,
    "otel_genai": usage_otel.records,
    "litellm_spend_logs": usage_litellm.records,
}
CSV_KINDS = ("litellm_spend_logs",)
ROW_SCHEMA = {"line_no": pl.Int64, "raw": pl.Utf8, "read_error": pl.Utf8, **dict.fromkeys(COLUMNS, pl.Utf8)}
CHUNK_ROWS = 50_000
LINE_BLOCK = 64 * 2**20  # characters of JSON lines mapped by DuckDB in one statement (ingest/vendor_sql.py)
LINE_FILES = (".jsonl", ".ndjson")
# a quarantined span's raw text: Python's JSON of it, from DuckDB's compact text when mapped in SQL (the reader's
# own text, and a line's, are left as they are: json.loads and json.dumps give back the reader's)
RAW_TEXT = {"otel_genai": "case when read_error is null then python_json(raw) else raw end"}
_NOT_JSON = object()

# DuckDB's line reader (_lines_sql): its field delimiter is two control characters, in no JSON document (nor in text,
# but binary data); a line that has it is read up to it. Its longest line is read_json's longest JSON document (its
# maximum_object_size), not read_csv's 2 MB.
LINE_DELIMITER = "\x1f\x1e"
MAX_LINE_BYTES = 16 * 2**20


def _lines_sql(p: str) -> str:
    """The file's lines as they are (`line`, NULL for an empty one), numbered from 1 (`ordinality`)."""
    return (
        f"read_csv({p}, columns={{'line': 'VARCHAR'}}, header=false, delim='{LINE_DELIMITER}', quote='', escape='',"
        f" auto_detect=false, strict_mode=false, max_line_size={MAX_LINE_BYTES}) with ordinality"
    )


def stage_export_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    mapping: UsageMapping,
    *,
    source: str,
    file_seq: int,
    usage_dir: Path,
    quarantine_file: Path,
    window: UsageWindow,
) -> StagedFile:
    """Read one vendor export file and stage its records (see ingest.usage_canonical.stage_relation). A broken file
    (a gzip stream that breaks, text that is not UTF-8) raises UnreadableUsageFile saying where (read_to_the_end)
    before anything of it is staged."""
    columns = ", ".join(f"{c} {'bigint' if c == 'line_no' else 'varchar'}" for c in ROW_SCHEMA)
    con.execute(f"create or replace temp table export_rows ({columns})")
    skipped: Counter[str] = Counter()
    try:
        documents = _documents_left_by_sql(con, path, kind, mapping, skipped)
        mapped = (
            f"select line_no, line as raw, cast(null as varchar) as read_error, {', '.join(COLUMNS)} from export_mapped"
            " where accepted and not skipped union all "
        )
    except NotInSql:
        read_to_the_end(path, utf8=True)
        documents, mapped = _documents(path, kind), ""
    rows = _rows(documents, kind, mapping, str(path), skipped)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        con.register("export_chunk", pl.DataFrame(chunk, schema=ROW_SCHEMA, orient="row"))
        con.execute("insert into export_rows select * from export_chunk")
        con.unregister("export_chunk")
    for why, n in skipped.items():
        log.info("%s: skipped %d %s", path, n, why)
    rec = ", ".join(f"{c} := {c}" for c in COLUMNS)
    if (
        kind in RAW_TEXT
        and not con.execute("select count(*) from duckdb_functions() where function_name = 'python_json'").fetchone()[0]
    ):
        con.create_function("python_json", lambda text: json.dumps(json.loads(text)), [VARCHAR], VARCHAR)
    staged = stage_relation(
        con,
        f"select line_no, raw, read_error, struct_pack({rec}) as rec from ({mapped}select * from export_rows)",
        file=str(path),
        source=source,
        file_seq=file_seq,
        usage_dir=usage_dir,
        quarantine_file=quarantine_file,
        window=window,
        raw_text=RAW_TEXT.get(kind, "raw"),
    )
    con.execute("drop table export_rows; drop table if exists export_mapped")
    return staged


def _documents_left_by_sql(
    con: duckdb.DuckDBPyConnection, path: Path, kind: str, mapping: UsageMapping, skipped: Counter[str]
) -> Iterator[tuple[int | None, object, str]]:
    """Map the lines of a JSON lines export in DuckDB (ingest/vendor_sql.py, ingest/otel_sql.py) into the table
    export_mapped (its rows `accepted and not skipped` are staged), count the spans it skips (not model calls, as
    usage_otel does), and return the lines it leaves to the kind's reader, as _documents does. Raises NotInSql
    when the file is not JSON lines or the kind or mapping cannot be said in SQL: the reader then reads the whole
    file."""
    if not path.name.lower().removesuffix(".gz").endswith(LINE_FILES):
        raise NotInSql(path.name)
    if kind == "otel_genai":
        mapped = mapped_spans_sql(mapping, "export_lines")
    else:
        mapped = mapped_lines_sql(kind, mapping, "export_lines")
    with ThreadPoolExecutor(1) as pool:  # the file is checked beside DuckDB's line reader
        plain = pool.submit(_plain_lines, path)
        try:  # DuckDB's line reader, numbering every line (a blank one is NULL)
            con.execute(
                "create or replace temp table export_lines as select ordinality as line_no, line"
                f" from {_lines_sql(sql_str(str(path)))} where line is not null"
            )
            read = True
        except duckdb.Error:  # text that is not UTF-8, a line longer than the reader takes
            read = False
        try:
            read = plain.result() and read
        except (OSError, EOFError, zlib.error):  # a broken gzip stream: read_to_the_end says where
            read = False
    if read:
        con.execute(f"create or replace temp table export_mapped as {mapped}")
    else:
        read_to_the_end(path, utf8=True)  # raises UnreadableUsageFile where the file is broken
        _map_line_blocks(con, path, mapped)
    con.execute("drop table export_lines")
    if spans := con.execute("select count(*) from export_mapped where skipped").fetchone()[0]:
        skipped[usage_otel.NOT_MODEL_CALLS] += spans
    left = con.execute("select line_no, line from export_mapped where not accepted order by line_no").fetchall()
    return (_json_line(n, line) for n, line in left if line.strip())  # (white space only: not a record)


def _plain_lines(path: Path) -> bool:
    """True when the file has no \\r (a line end to Python, which DuckDB's line reader reads otherwise) and not
    that reader's field delimiter: then DuckDB's reader splits and numbers its lines as _line_blocks does. A .gz file
    is read to the end of its gzip stream (DuckDB reads a stream that ends early as if the data ended there)."""
    delimiter = LINE_DELIMITER.encode()
    with gzip.open(path, "rb") if is_gzip(path) else open(path, "rb") as f:
        edge = len(delimiter) - 1
        last = b""  # the end of the chunk before: the delimiter may straddle two chunks
        while chunk := f.read(LINE_BLOCK):
            if b"\r" in chunk or delimiter in chunk or delimiter in last + chunk[:edge]:
                return False
            last = chunk[-edge:]
    return True


def _map_line_blocks(con: duckdb.DuckDBPyConnection, path: Path, mapped: str) -> None:
    """Map the file's lines into export_mapped, LINE_BLOCK characters at a time, split in Python (_line_blocks)."""
    con.execute("create or replace temp table export_lines (line_no bigint, line varchar)")
    con.execute(f"create or replace temp table export_mapped as {mapped}")  # (no lines yet: its columns)
    for numbers, lines in _line_blocks(path):
        # copied into a table first: DuckDB maps a table's rows on every core, a registered frame's on one
        con.register("export_block", pl.DataFrame({"line_no": numbers, "line": lines}))
        con.execute("create or replace temp table export_lines as select * from export_block")
        con.unregister("export_block")
        con.execute(f"insert into export_mapped {mapped}")


def _line_blocks(path: Path) -> Iterator[tuple[list[int], list[str]]]:
    """The file's lines that are not blank, with their numbers, LINE_BLOCK characters at a time: split as
    _json_lines splits them (at \\n, \\r\\n and \\r), without a loop over characters or lines in Python."""
    line_no, rest = 0, ""
    with _opened(path) as f:
        while True:
            block = f.read(LINE_BLOCK)
            text = rest + block
            end = text.rfind("\n") + 1 if block else len(text)  # whole lines only (a \r\n may be cut in two)
            text, rest = text[:end], text[end:]
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            lines = text.split("\n")
            if lines[-1] == "":
                lines.pop()  # (after the last line end)
            kept = [n for n, line in enumerate(lines) if line.strip()]
            if kept:
                yield [line_no + 1 + n for n in kept], [lines[n] for n in kept]
            line_no += len(lines)
            if not block:
                return


def _rows(
    documents: Iterator[tuple[int | None, object, str]],
    kind: str,
    mapping: UsageMapping,
    file: str,
    skipped: Counter[str],
) -> Iterator[tuple]:
    """One tuple of ROW_SCHEMA per record of the documents."""
    position = 0
    for line_no, doc, text in documents:
        if doc is _NOT_JSON:
            yield (line_no, text, "not a valid JSON object", *[None] * len(COLUMNS))
            continue
        for rec in READERS[kind](doc, mapping, file):
            position += 1
            if isinstance(rec, Skipped):
                skipped[rec.why] += 1
                continue
            error, values = rec.error, {}
            if error is None:
                try:
                    values = _with_lookups(rec, mapping)
                except BadRecord as exc:
                    error = str(exc)
            yield (line_no or position, rec.raw or text, error, *(_text(values.get(c)) for c in COLUMNS))


def _with_lookups(rec: Record, mapping: UsageMapping) -> dict[str, object]:
    values = dict(rec.values)
    for column, lookup in mapping.lookups.items():
        values[column] = _looked_up(column, lookup, rec.find, mapping.where)
        if column == "occurred_at":
            values[column] = as_time(values[column], lookup.field or "value")
    return values


def _looked_up(column: str, lookup: Lookup, find: Callable[[str], object], where: str) -> str | None:
    """The value of one lookup for one record (see Lookup in core/config.py)."""
    if lookup.value is not None:
        return lookup.value
    found = find(lookup.field)
    if lookup.prefix is not None:
        found = next(
            (
                v[len(lookup.prefix) :]
                for v in (found if isinstance(found, list) else [found])
                if isinstance(v, str) and v.startswith(lookup.prefix)
            ),
            None,
        )
    if isinstance(found, (dict, list)):
        raise BadRecord(f"{column}: '{lookup.field}' is not a single value (key '{where}.{column}')")
    text = _text(found)
    text = text.strip() if text is not None and text.strip() else None
    if text is None:
        if lookup.default is not None:
            return lookup.default
        if column in REQUIRED:
            starting = f" starting with '{lookup.prefix}'" if lookup.prefix is not None else ""
            raise BadRecord(f"missing {column}: no '{lookup.field}'{starting} in the record (key '{where}.{column}')")
        return None
    if lookup.map is None:
        return text
    if text in lookup.map:
        return lookup.map[text]
    if lookup.default is not None:
        return lookup.default
    raise BadRecord(f"{column}: {lookup.field} '{text}' is not in {where}.{column}.map")


def _text(value: object) -> str | None:
    """A value as the canonical checks read it (VARCHAR)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def _documents(path: Path, kind: str) -> Iterator[tuple[int | None, object, str]]:
    """(line number or None for a whole-file document, the parsed document or _NOT_JSON, its text)."""
    name = path.name.lower().removesuffix(".gz")

    def opened():
        return _opened(path)

    if name.endswith(".csv") and kind in CSV_KINDS:
        with opened() as f:
            reader = csv.DictReader(f)
            for row in reader:
                yield reader.line_num, row, json.dumps(row)
    elif name.endswith(LINE_FILES):
        with opened() as f:
            yield from _json_lines(f)
    elif name.endswith(".json"):
        with opened() as f:
            text = f.read()
        if not text.strip():
            return
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            # JSON lines in a .json file (the OpenTelemetry Collector's file exporter writes those): read again
            # line by line, split exactly as a .jsonl file is (\n, \r\n, \r; not U+2028 and the like)
            del text
            with opened() as f:
                for n, (line_no, doc, line) in enumerate(_json_lines(f)):
                    if n == 0 and doc is _NOT_JSON:
                        raise UnreadableUsageFile(
                            f"not a JSON document nor JSON lines ({exc}); {STAGED_NOTHING}: export it again", exc.lineno
                        ) from None
                    yield line_no, doc, line
            return
        yield None, doc, text
    else:
        formats = ".json, .jsonl" + (" or .csv" if kind in CSV_KINDS else "")
        raise UsageFileError(f"{path}: kind '{kind}' reads {formats} files (optionally .gz)")


def _opened(path: Path):
    """The file as text, its lines split at \\n, \\r\\n and \\r (a UTF-8 byte-order mark at the start is not text)."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _json_lines(lines) -> Iterator[tuple[int, object, str]]:
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield _json_line(line_no, line)


def _json_line(line_no: int, line: str) -> tuple[int, object, str]:
    try:
        return line_no, json.loads(line), line
    except json.JSONDecodeError:
        return line_no, _NOT_JSON, line
