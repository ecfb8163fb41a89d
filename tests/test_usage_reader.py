"""The canonical usage reader: JSONL, CSV, Parquet (and .gz) read by DuckDB in place, every rule of
docs/spec.md#usage-record sending the record to the quarantine with the reason, the line and the raw text."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import event, write_jsonl

from ingest import usage_canonical
from ingest.unreadable import UnreadableUsageFile
from ingest.usage_canonical import COLUMNS, UsageFileError, UsageWindow, stage_usage_file

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

# The days a record may fall on in these tests (the run's day: the day the tests run)
WINDOW = UsageWindow(earliest=date(2000, 1, 1), run_day=date.today(), days_ahead=1)

GOOD = event("ok-1", "2026-11-02T10:00:00Z", cache_read_tokens=500, reasoning_tokens=0)

BAD = [
    ("not json at all", "not a valid JSON object"),
    (event("neg", "2026-11-02T10:00:00Z", input_tokens=-5), "input_tokens -5 is negative"),
    (event("neg-out", "2026-11-02T10:00:00Z", output_tokens=-1), "output_tokens -1 is negative"),
    (
        event("cache", "2026-11-02T10:00:00Z", input_tokens=100, cache_read_tokens=80, cache_write_tokens=30),
        "cache tokens 110 > input_tokens 100",
    ),
    (
        event("reason", "2026-11-02T10:00:00Z", output_tokens=10, reasoning_tokens=11),
        "reasoning_tokens 11 > output_tokens 10",
    ),
    ({k: v for k, v in event("tenant", "2026-11-02T10:00:00Z").items() if k != "tenant_id"}, "missing tenant_id"),
    (event("blank-tenant", "2026-11-02T10:00:00Z", tenant="  "), "missing tenant_id"),
    (event("time", "yesterday-ish"), "occurred_at 'yesterday-ish' is not an ISO 8601 timestamp"),
    (event("frac", "2026-11-02T10:00:00Z", input_tokens=1.5), "input_tokens '1.5' is not a whole number"),
    (
        event("tier", "2026-11-02T10:00:00Z", service_tier="turbo"),
        "service_tier 'turbo' is not one of standard, batch, flex, priority",
    ),
    (
        {k: v for k, v in event("no-out", "2026-11-02T10:00:00Z").items() if k != "output_tokens"},
        "missing output_tokens",
    ),
]


def stage(path: Path, tmp: Path, threads: int | None = None, window: UsageWindow = WINDOW):
    con = duckdb.connect(config={"threads": threads} if threads else {})
    result = stage_usage_file(
        con,
        path,
        source="test",
        file_seq=1,
        usage_dir=tmp / "staged",
        quarantine_file=tmp / "quarantine.parquet",
        window=window,
    )
    quarantine = con.execute(
        f"select line_no, reason, raw from '{tmp / 'quarantine.parquet'}' order by line_no"
    ).fetchall()
    valid = con.execute(f"""select * from read_parquet('{tmp / "staged"}/**/*.parquet', hive_partitioning = true)
                            where reason is null""").fetchall()
    return result, quarantine, valid


def test_each_quarantine_rule_names_the_line_and_keeps_the_raw_text(tmp_path: Path):
    path = write_jsonl(tmp_path / "u.jsonl", [GOOD] + [b for b, _ in BAD])
    result, quarantine, valid = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert result.quarantined == len(BAD)
    assert [(line, reason) for line, reason, _ in quarantine] == [(i + 2, r) for i, (_, r) in enumerate(BAD)]
    assert quarantine[0][2] == "not json at all"
    assert json.loads(quarantine[1][2])["event_id"] == "neg"
    assert len(valid) == 1


def assert_staged_the_same(one, other) -> None:
    """Two stagings of a file (stage's result, quarantine, valid rows) are the same, whatever the valid rows' order."""
    assert other[0] == one[0]
    assert other[1] == one[1]
    assert sorted(other[2]) == sorted(one[2])


def staged_whole_and_in_3_parts(path: Path, tmp: Path, day: str):
    """Stage the file in one statement and in 3 side by side (each taking every third record by its number); they
    must stage the same: result, quarantine, valid rows. Returns the one-statement staging."""
    whole = stage(path, tmp / "whole", threads=1)
    in_parts = stage(path, tmp / "parts", threads=3)
    assert {f.name for f in (tmp / "parts" / "staged" / f"usage_date={day}").iterdir()} == {
        "part0_0.parquet",
        "part1_0.parquet",
        "part2_0.parquet",
    }  # written by 3 statements
    assert_staged_the_same(whole, in_parts)
    return whole


def test_jsonl_checked_in_parts_side_by_side_stages_what_it_does_in_one(tmp_path: Path):
    # the blank line and the broken records still get their numbers and lines
    good = [event(f"e-{i}", f"2026-11-0{2 + i % 2}T10:00:{i:02d}Z", task_id=f"t-{i % 7}") for i in range(50)]
    path = write_jsonl(tmp_path / "u.jsonl", good[:20] + ["", "not json"] + [b for b, _ in BAD] + good[20:])
    result, quarantine, valid = staged_whole_and_in_3_parts(path, tmp_path, "2026-11-02")
    assert result.rows_by_day == {"2026-11-02": 25, "2026-11-03": 25}
    assert [line for line, _, _ in quarantine] == list(range(22, 34))
    # the records' numbers (the blank line has none): 20 good ones, 1 + 11 broken, 30 good
    assert sorted(row[3] for row in valid) == [*range(1, 21), *range(33, 63)]


def rows_with_broken_ones(tmp: Path) -> duckdb.DuckDBPyRelation:
    """40 good records with the broken dict records of BAD after the 15th (rows 16-25), every column as text."""
    good = [event(f"e-{i}", f"2026-11-0{2 + i % 2}T10:00:{i:02d}Z") for i in range(40)]
    bad = [b for b, _ in BAD if isinstance(b, dict)]
    rows = write_jsonl(tmp / "rows.jsonl", good[:15] + bad + good[15:])
    return duckdb.sql(
        f"select * from read_json('{rows}', format = 'newline_delimited', columns = "
        "{" + ", ".join(f"{c}: 'VARCHAR'" for c in COLUMNS) + "})"
    )


def test_csv_checked_in_parts_stages_what_it_does_in_one(tmp_path: Path):
    path = tmp_path / "u.csv"
    rows_with_broken_ones(tmp_path).write_csv(str(path))
    result, quarantine, _ = staged_whole_and_in_3_parts(path, tmp_path, "2026-11-03")
    assert result.rows_by_day == {"2026-11-02": 20, "2026-11-03": 20}
    assert [line for line, _, _ in quarantine] == list(range(17, 27))  # a CSV's header is its line 1


def test_parquet_rows_keep_their_numbers_when_read_in_parallel(tmp_path: Path):
    """DuckDB numbers a Parquet file's rows itself (file_row_number), whichever thread reads which row group:
    a file of 13 row groups staged on 4 threads stages what it does on one."""
    path = tmp_path / "u.parquet"
    pq.write_table(rows_with_broken_ones(tmp_path).to_arrow_table(), path, row_group_size=4)
    assert pq.ParquetFile(path).num_row_groups == 13
    one = stage(path, tmp_path / "one", threads=1)
    four = stage(path, tmp_path / "four", threads=4)
    assert_staged_the_same(one, four)
    assert one[0].rows_by_day == {"2026-11-02": 20, "2026-11-03": 20}
    assert [line for line, _, _ in one[1]] == list(range(16, 26))
    assert sorted(row[3] for row in one[2]) == [*range(1, 16), *range(26, 51)]  # the valid rows' numbers


def test_blank_lines_are_skipped_but_keep_line_numbers(tmp_path: Path):
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + "{broken\n")
    _, quarantine, _ = stage(path, tmp_path)
    assert [(line, reason) for line, reason, _ in quarantine] == [(3, "not a valid JSON object")]


def test_a_quarantined_line_keeps_its_whole_text_with_a_backslash_x1f_in_it(tmp_path: Path):
    # the line reader's field delimiter is the character U+001F, not the text \x1f (it cut this line in two)
    line = json.dumps({**GOOD, "feature": "C:\\x1f", "output_tokens": -1})
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n")
    _, quarantine, _ = stage(path, tmp_path)
    assert quarantine == [(2, "output_tokens -1 is negative", line)]


def test_a_line_longer_than_2_mb_does_not_stop_the_quarantine_from_finding_its_lines(tmp_path: Path):
    # (DuckDB's line reader stops at 2 MB lines by default: the file failed whole as "cannot be read")
    long = json.dumps({**GOOD, "event_id": "long", "note": "x" * 3_000_000})
    bad = json.dumps({**GOOD, "event_id": "bad", "output_tokens": -1})
    path = tmp_path / "u.jsonl"
    path.write_text(long + "\n" + bad + "\n")
    result, quarantine, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert quarantine == [(2, "output_tokens -1 is negative", bad)]


@pytest.mark.parametrize("block", [5, 64, usage_canonical.RECORD_LINES_BLOCK])  # bytes read at a time
@pytest.mark.parametrize("name", ["u.jsonl", "u.jsonl.gz"])
def test_quarantined_records_get_their_lines_across_blank_lines_and_blocks(tmp_path: Path, monkeypatch, block, name):
    monkeypatch.setattr(usage_canonical, "RECORD_LINES_BLOCK", block)

    def bad(n: int) -> str:
        return json.dumps({**GOOD, "event_id": f"bad-{n}", "output_tokens": -n})

    lines = [
        "\ufeff" + json.dumps(GOOD),
        "",
        "  \t",
        bad(1),
        "\r",
        json.dumps(GOOD),
        "not json",
        "",
        bad(2),
        " ",
        bad(3),
    ]
    data = ("\n".join(lines[:5]) + "\r\n" + "\n".join(lines[5:])).encode()  # a \r\n, no line end at the end
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result, quarantine, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 2}
    assert quarantine == [
        (4, "output_tokens -1 is negative", bad(1)),
        (7, "not a valid JSON object", "not json"),
        (9, "output_tokens -2 is negative", bad(2)),
        (11, "output_tokens -3 is negative", bad(3)),
    ]


def test_time_zones_are_converted_to_utc_days(tmp_path: Path):
    path = write_jsonl(
        tmp_path / "u.jsonl", [event("late", "2026-11-02T23:30:00-02:00"), event("naive", "2026-11-02 23:30:00")]
    )
    result, _, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1, "2026-11-03": 1}


def test_gzipped_jsonl_reads_the_same(tmp_path: Path):
    path = tmp_path / "u.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(GOOD) + "\nnot json\n")
    result, quarantine, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert [(line, r) for line, r, _ in quarantine] == [(2, "not a valid JSON object")]


def test_csv_in_any_column_order_with_missing_optional_columns(tmp_path: Path):
    path = tmp_path / "u.csv"
    path.write_text(
        "model,provider,output_tokens,input_tokens,event_id,occurred_at,feature,tenant_id\n"
        "gpt-5,openai,10,100,c1,2026-11-02T10:00:00Z,search,acme\n"
        "gpt-5,openai,10,100,c2,2026-11-02T10:00:00Z,search,\n"
    )
    result, quarantine, valid = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert [(line, r) for line, r, _ in quarantine] == [(3, "missing tenant_id")]
    assert json.loads(quarantine[0][2])["event_id"] == "c2"


def test_parquet_with_typed_columns(tmp_path: Path):
    path = tmp_path / "u.parquet"
    duckdb.execute(f"""copy (select 'p1' as event_id, timestamptz '2026-11-02 10:00:00+00' as occurred_at,
                              'acme' as tenant_id, 'search' as feature, 'openai' as provider, 'gpt-5' as model,
                              100::bigint as input_tokens, 10::bigint as output_tokens
                        union all
                        select 'p2', timestamptz '2026-11-02 11:00:00+00', 'acme', 'search', 'openai', 'gpt-5',
                               -1, 10)
                       to '{path}' (format parquet)""")
    result, quarantine, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert [(line, r) for line, r, _ in quarantine] == [(2, "input_tokens -1 is negative")]


def test_an_unknown_file_type_is_an_error(tmp_path: Path):
    path = tmp_path / "u.xml"
    path.write_text("<x/>")
    with pytest.raises(UsageFileError, match="unknown usage file type"):
        stage(path, tmp_path)


def test_text_fields_lose_their_spaces_at_either_end_and_nothing_else(tmp_path: Path):
    """Spaces (U+0020 and Unicode spaces such as the no-break space) around a text field are dropped; a value
    with none, ASCII or not, is kept as it is; a blank optional field is NULL."""
    path = write_jsonl(
        tmp_path / "u.jsonl",
        [
            event(
                " e1 ",
                "2026-11-02T10:00:00Z",
                tenant="\u00a0acme\u2003",
                feature="café",
                provider="openai ",
                model=" gpt-5",
                task_id="\u3000T9",
                deployment_id="  ",
                status=" Success ",
                service_tier="Batch\u00a0",
            ),
            event("e2", "2026-11-02T10:00:00Z", tenant="a b", feature="naïve\u00a0", task_id="t\u00a0"),
        ],
    )
    _, quarantine, _ = stage(path, tmp_path)
    assert quarantine == []
    con = duckdb.connect()
    rows = con.execute(f"""select event_id, tenant_id, feature, provider, model, task_id, deployment_id, status,
                                  service_tier
                           from read_parquet('{tmp_path / "staged"}/**/*.parquet') order by event_id""").fetchall()
    assert rows == [
        ("e1", "acme", "café", "openai", "gpt-5", "T9", None, "success", "batch"),
        ("e2", "a b", "naïve", "anthropic", "claude-sonnet-4-6", "t", None, None, None),
    ]


CSV_HEADER = "event_id,occurred_at,tenant_id,feature,provider,model,input_tokens,output_tokens"


def csv_row(event_id: str, tenant: str = "acme", input_tokens: int = 100) -> str:
    return f"{event_id},2026-11-02T10:00:00Z,{tenant},search,anthropic,claude-sonnet-4-6,{input_tokens},10"


def test_a_malformed_csv_row_is_quarantined_alone_with_its_text_and_line(tmp_path: Path):
    """A row with a field too many or too few is set aside with its raw text and line; the rows around it are read
    (they were all quarantined as 'missing event_id', raw text NULL, when one bad row misled DuckDB's sniffer)."""
    too_many = csv_row("cx") + ",oops"
    too_few = "cy,2026-11-02T10:00:00Z,acme"
    path = tmp_path / "u.csv"
    path.write_text(
        "\n".join(
            [
                CSV_HEADER,
                csv_row("c1"),
                too_many,
                csv_row("c2"),
                csv_row("c3"),
                too_few,
                csv_row("neg", input_tokens=-1),
                csv_row("c4"),
                csv_row("c5"),
            ]
        )
        + "\n"
    )
    result, quarantine, valid = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 5}
    assert sorted(row[4] for row in valid) == ["c1", "c2", "c3", "c4", "c5"]
    assert [(line, reason) for line, reason, _ in quarantine] == [
        (3, "malformed CSV row: not the 8 fields of the header"),
        (6, "malformed CSV row: not the 8 fields of the header"),
        (7, "input_tokens -1 is negative"),
    ]
    assert [raw for _, _, raw in quarantine[:2]] == [too_many, too_few]
    assert json.loads(quarantine[2][2])["event_id"] == "neg"


def test_a_csv_quote_that_is_not_closed_is_quarantined_with_what_it_swallowed(tmp_path: Path):
    path = tmp_path / "u.csv"
    path.write_text("\n".join([CSV_HEADER, csv_row("c1"), csv_row("cx", tenant='"acme'), csv_row("c2")]) + "\n")
    result, quarantine, _ = stage(path, tmp_path)
    assert result.rows_by_day == {"2026-11-02": 1}
    assert [(line, reason) for line, reason, _ in quarantine] == [(3, "malformed CSV row: a quote is not closed")]
    assert quarantine[0][2] == csv_row("cx", tenant='"acme') + "\n" + csv_row("c2") + "\n"


def jsonl_bytes(n: int) -> bytes:
    return "".join(json.dumps(event(f"e{i}", f"2026-11-02T{i % 24:02d}:00:00Z")) + "\n" for i in range(n)).encode()


def test_a_truncated_gzip_file_is_not_read_at_all(tmp_path: Path):
    """A .gz file cut in half was read as its first half (955 calls of 2,000, 1 quarantined): now it cannot be
    staged, and the error says where it broke (the line the stream ends in)."""
    whole = gzip.compress(jsonl_bytes(2000))
    cut = whole[: len(whole) // 2]
    path = tmp_path / "u.jsonl.gz"
    path.write_bytes(cut)
    readable = zlib.decompressobj(wbits=31).decompress(cut)
    with pytest.raises(UnreadableUsageFile) as failed:
        stage(path, tmp_path)
    line = readable.count(b"\n") + 1
    assert failed.value.line == line
    assert failed.value.reason == (
        f"the gzip stream ends early, in line {line:,} (byte {len(cut):,}, the end of the "
        "file): a truncated copy; nothing of the file is staged: copy it again whole"
    )


def test_a_gz_file_that_is_not_gzip_or_is_corrupt_is_not_read(tmp_path: Path):
    path = tmp_path / "u.jsonl.gz"
    path.write_bytes(jsonl_bytes(3))
    with pytest.raises(
        UnreadableUsageFile,
        match=r"^not a gzip file \(Not a gzipped file \(b'\{\"'\)\); nothing of "
        r"the file is staged",
    ):
        stage(path, tmp_path)
    corrupt = bytearray(gzip.compress(jsonl_bytes(2000)))
    corrupt[-8] ^= 0xFF  # the CRC of the data
    path.write_bytes(bytes(corrupt))
    with pytest.raises(UnreadableUsageFile, match=r"^corrupt gzip data in line 2,001 \(CRC check failed"):
        stage(path, tmp_path)


@pytest.mark.parametrize(
    "name, content, reason, line",
    [
        (
            "latin1.jsonl",
            jsonl_bytes(2)
            + json.dumps(event("e", "2026-11-02T10:00:00Z", tenant="café"), ensure_ascii=False).encode("latin-1")
            + b"\n",
            "not UTF-8 text: byte 0xe9 in line 3 (byte 472 of the text); nothing of the file is staged: save it as UTF-8",
            3,
        ),
        (
            "utf16.jsonl",
            jsonl_bytes(2).decode().encode("utf-16"),
            "UTF-16 text (it starts with a UTF-16 byte-order mark); nothing of the file is staged: save it as UTF-8",
            1,
        ),
        (
            "latin1.csv",
            f"{CSV_HEADER}\n{csv_row('c1')}\n{csv_row('c2', tenant='café')}\n".encode("latin-1"),
            "not UTF-8 text: byte 0xe9 in line 3 (byte 179 of the text); nothing of the file is staged: save it as UTF-8",
            3,
        ),
        (
            "latin1.jsonl.gz",
            gzip.compress("é\n".encode("latin-1"), mtime=0),
            "not UTF-8 text: byte 0xe9 in line 1 (byte 0 of the text); nothing of the file is staged: save it as UTF-8",
            1,
        ),
    ],
)
def test_a_file_that_is_not_utf8_is_not_read(tmp_path: Path, name: str, content: bytes, reason: str, line: int):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableUsageFile) as failed:
        stage(path, tmp_path)
    assert (failed.value.reason, failed.value.line) == (reason, line)


def test_a_parquet_file_cut_short_is_not_read(tmp_path: Path):
    path = tmp_path / "u.parquet"
    pq.write_table(rows_with_broken_ones(tmp_path).to_arrow_table(), path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UnreadableUsageFile, match=r"^cannot be read as parquet: .*; nothing of the file is staged"):
        stage(path, tmp_path)


def test_a_record_outside_the_usage_window_is_quarantined_with_its_time(tmp_path: Path):
    """Times such as 0001-01-01 or 9999-12-31 were staged onto days no run builds: in no finance table and not in the
    quarantine. The window: from [quality] earliest_usage_date to max_usage_days_ahead days after the run's day."""
    window = UsageWindow(earliest=date(2000, 1, 1), run_day=date(2026, 11, 3), days_ahead=1)
    times = [
        "0001-01-01T00:00:00Z",
        "1900-05-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:00:00Z",
        "2026-11-04T23:59:59Z",
        "2026-11-05T00:00:00Z",
        "2200-01-01T00:00:00Z",
        "9999-12-31T23:00:00Z",
    ]
    path = write_jsonl(tmp_path / "u.jsonl", [event(f"t{i}", t) for i, t in enumerate(times)])
    result, quarantine, _ = stage(path, tmp_path, window=window)
    assert result.rows_by_day == {"2000-01-01": 1, "2026-11-04": 1}
    before = "is before 2000-01-01 ([quality] earliest_usage_date)"
    after = "is after 2026-11-04 ([quality] max_usage_days_ahead: 1 day(s) after the day of the run, 2026-11-03)"
    assert [(line, reason) for line, reason, _ in quarantine] == [
        (1, f"occurred_at '0001-01-01T00:00:00Z' {before}"),
        (2, f"occurred_at '1900-05-01T00:00:00Z' {before}"),
        (3, f"occurred_at '1999-12-31T23:59:59Z' {before}"),
        (6, f"occurred_at '2026-11-05T00:00:00Z' {after}"),
        (7, f"occurred_at '2200-01-01T00:00:00Z' {after}"),
        (8, f"occurred_at '9999-12-31T23:00:00Z' {after}"),
    ]
