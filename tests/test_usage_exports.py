"""The vendor usage kinds (docs/usage_exports.md): each reader on real-shaped exports gives the exact canonical
tokens (worked out by hand from the vendors' field definitions), bad records land in the quarantine with the
reason, the line and the raw text, and the same call exported in different ways costs the same through the
real `finops run`."""

from __future__ import annotations

import gzip
import json
import shutil
import zlib
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import Project

from core.config import ConfigError, Lookup, UsageMapping, load_config
from core.layout import Layout
from ingest import usage_exports
from ingest.otel_sql import mapped_spans_sql
from ingest.stage import stage_usage
from ingest.unreadable import UnreadableUsageFile
from ingest.usage_canonical import UsageFileError, UsageWindow
from ingest.usage_exports import stage_export_file
from warehouse.state import State

FIXTURES = Path(__file__).parent / "fixtures" / "usage"
TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def mapping(response_field: str | None = None, **lookups: dict) -> UsageMapping:
    return UsageMapping(
        where="usage.sources[0]",
        lookups={c: Lookup(**spec) for c, spec in lookups.items()},
        response_field=response_field,
    )


CONSTANT = {"tenant_id": {"value": "acme"}, "feature": {"value": "assistant"}}
LOGGED_AT = {**CONSTANT, "occurred_at": {"value": "2026-11-02T12:00:00Z"}}  # Anthropic, Gemini: no time in a response


def stage(tmp: Path, kind: str, fixture: str | Path, lookups: UsageMapping) -> tuple[list[dict], list[tuple]]:
    """Stage one file (a fixture name or a path); returns its valid rows (by line) and its quarantine
    (line, reason, raw)."""
    con = duckdb.connect()
    stage_export_file(
        con,
        FIXTURES / fixture,
        kind,
        lookups,
        source="test",
        file_seq=1,
        usage_dir=tmp / "staged",
        quarantine_file=tmp / "quarantine.parquet",
        window=UsageWindow(earliest=date(2000, 1, 1), run_day=date.today(), days_ahead=1),
    )
    rel = con.sql(f"""select * exclude (usage_date), strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%g') as at
                      from read_parquet('{tmp / "staged"}/**/*.parquet', hive_partitioning = true)
                      where reason is null order by line_no""")
    valid = [dict(zip(rel.columns, row, strict=True)) for row in rel.fetchall()]
    quarantine = con.execute(
        f"select line_no, reason, raw from '{tmp / 'quarantine.parquet'}' order by line_no"
    ).fetchall()
    return valid, quarantine


def tokens(rows: list[dict]) -> dict[str, tuple]:
    return {r["event_id"]: tuple(r[c] for c in TOKENS) for r in rows}


@pytest.mark.unit
def test_openai_chat_completions_keep_prompt_and_completion_totals(tmp_path: Path):
    rows, quarantine = stage(tmp_path, "openai_usage", "openai_chat_completion_usage.jsonl", mapping(**CONSTANT))
    assert quarantine == []
    # prompt_tokens already holds the cached tokens and completion_tokens the reasoning: nothing is added
    assert tokens(rows) == {
        "chatcmpl-Bq1aK7fGx2": (2150, 1920, None, None, 180, 0),
        "chatcmpl-Bq1aR2mTn9": (1340, 0, None, None, 2210, 1856),
        "chatcmpl-Bq1bC9pLw4": (5400, 0, 5120, None, 95, 0),
        "chatcmpl-Bq1bX4cVe1": (880, 0, None, None, 410, 0),  # predicted-output tokens are inside completion
    }
    first = rows[0]
    assert (first["provider"], first["model"], first["service_tier"], first["at"]) == (
        "openai",
        "gpt-4.1-mini-2025-04-14",
        "standard",
        "2026-01-01T01:00:11.000",
    )  # created 1767229211
    assert (first["tenant_id"], first["feature"], first["task_id"], first["line_no"]) == ("acme", "assistant", None, 1)


@pytest.mark.unit
def test_openai_responses_api_reads_input_and_output_details(tmp_path: Path):
    rows, _ = stage(tmp_path, "openai_usage", "openai_responses_usage.jsonl", mapping(**CONSTANT))
    assert tokens(rows) == {
        "resp_0a91c2f7e3b4d5a6": (12033, 11904, 0, None, 744, 640),
        "resp_0b22d3e8f4c5e6b7": (3200, 0, 2944, None, 150, 0),
        "resp_0c33e4f9a5d6f7c8": (420, 0, 0, None, 64, 0),
    }
    assert [r["service_tier"] for r in rows] == ["standard", "standard", "flex"]


@pytest.mark.unit
def test_a_json_file_of_json_lines_is_split_into_lines_like_a_jsonl_file(tmp_path: Path):
    lines = (FIXTURES / "openai_chat_completion_usage.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["choices"][0]["message"]["content"] = "total:\u2028$1,284.20"  # a raw U+2028 in a string: no line break
    lines[0] = json.dumps(first, ensure_ascii=False)
    for name in ("export.json", "export.jsonl"):
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_json, quarantine = stage(tmp_path / "json", "openai_usage", tmp_path / "export.json", mapping(**CONSTANT))
    from_jsonl, _ = stage(tmp_path / "jsonl", "openai_usage", tmp_path / "export.jsonl", mapping(**CONSTANT))
    assert quarantine == []
    assert [(r["line_no"], r["event_id"]) for r in from_json] == [(r["line_no"], r["event_id"]) for r in from_jsonl]
    assert tokens(from_json) == tokens(from_jsonl) and len(from_json) == 4


@pytest.mark.unit
def test_an_export_cut_short_or_not_in_utf8_is_not_read(tmp_path: Path):
    """A truncated .gz export was read up to where it broke; a latin-1 one had its bad bytes replaced by U+FFFD and
    was read as if nothing were wrong."""
    text = (FIXTURES / "openai_chat_completion_usage.jsonl").read_bytes() * 50
    cut = gzip.compress(text)[:1000]
    (tmp_path / "cut.jsonl.gz").write_bytes(cut)
    line = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n") + 1
    with pytest.raises(UnreadableUsageFile) as failed:
        stage(tmp_path / "staged-cut", "openai_usage", tmp_path / "cut.jsonl.gz", mapping(**CONSTANT))
    assert failed.value.reason == (
        f"the gzip stream ends early, in line {line:,} (byte 1,000, the end of the file): "
        "a truncated copy; nothing of the file is staged: copy it again whole"
    )
    latin1 = text.replace(b"invoice", "facturé".encode("latin-1"), 1)
    (tmp_path / "latin1.jsonl").write_bytes(latin1)
    with pytest.raises(UnreadableUsageFile) as failed:
        stage(tmp_path / "staged-latin1", "openai_usage", tmp_path / "latin1.jsonl", mapping(**CONSTANT))
    at = latin1.index("é".encode("latin-1"))
    assert failed.value.reason == (
        f"not UTF-8 text: byte 0xe9 in line 1 (byte {at} of the text); nothing of the file is staged: save it as UTF-8"
    )


def test_openai_usage_api_bucket_results_are_records_with_mapped_tenants(tmp_path: Path):
    lookups = mapping(
        tenant_id={
            "field": "project_id",
            "map": {"proj_finops01": "finops", "proj_etl02": "etl", "proj_voice03": "voice"},
        },
        feature={"field": "api_key_id", "map": {"key_a1b2c3": "assistant"}, "default": "unattributed"},
    )
    rows, quarantine = stage(tmp_path, "openai_usage", "openai_usage_completions.json", lookups)
    assert quarantine == []
    assert [(r["line_no"], r["tenant_id"], r["feature"], r["model"], r["service_tier"], r["at"]) for r in rows] == [
        (1, "finops", "assistant", "gpt-4.1-mini-2025-04-14", "standard", "2026-01-01T00:00:00.000"),
        (2, "finops", "assistant", "o4-mini-2025-04-16", "standard", "2026-01-01T00:00:00.000"),
        (3, "etl", "unattributed", "gpt-4o-mini-2024-07-18", "batch", "2026-01-01T00:00:00.000"),  # batch: true
        (4, "voice", "unattributed", "gpt-4o-realtime-preview-2024-12-17", "standard", "2026-01-02T00:00:00.000"),
        (5, "finops", "assistant", "gpt-4.1-mini-2025-04-14", "standard", "2026-01-02T00:00:00.000"),
    ]
    # input_tokens includes cached and cache-write tokens; the Usage API cannot say what was reasoning (NULL)
    assert [tuple(r[c] for c in TOKENS) for r in rows] == [
        (887000, 620000, 15000, None, 96000, None),
        (240000, 90000, 0, None, 310000, None),
        (2400000, 0, 0, None, 180000, None),
        (175000, 70000, 0, None, 76000, None),
        (747000, 540000, 9000, None, 81000, None),
    ]
    assert all(r["event_id"].startswith("openai_usage:") for r in rows)
    assert len({r["event_id"] for r in rows}) == 5
    # the account is the result's project_id (the export is grouped by project_id)
    assert [r["account_id"] for r in rows] == [
        "proj_finops01",
        "proj_finops01",
        "proj_etl02",
        "proj_voice03",
        "proj_finops01",
    ]


def test_openai_usage_api_legacy_results_add_audio_to_the_text_counts(tmp_path: Path):
    lookups = mapping(tenant_id={"field": "project_id"}, feature={"field": "user_id"})
    rows, _ = stage(tmp_path, "openai_usage", "openai_usage_completions_legacy.json", lookups)
    assert [(r["tenant_id"], r["service_tier"]) + tuple(r[c] for c in TOKENS) for r in rows] == [
        ("proj_finops01", None, 500000, 320000, None, None, 40000, None),
        ("proj_voice03", None, 25000 + 60000, 12000, None, None, 5000 + 48000, None),
    ]


def test_reading_a_bucket_again_or_in_an_overlapping_export_gives_the_same_event_id(tmp_path: Path):
    lookups = mapping(tenant_id={"field": "project_id"}, feature={"value": "assistant"})
    first, _ = stage(tmp_path / "a", "openai_usage", "openai_usage_completions.json", lookups)
    page = json.loads((FIXTURES / "openai_usage_completions.json").read_text())
    page["data"] = page["data"][1:]  # a later pull of the same days: the second bucket again
    (tmp_path / "later.json").write_text(json.dumps(page))
    again, _ = stage(tmp_path / "b", "openai_usage", tmp_path / "later.json", lookups)
    assert [r["event_id"] for r in again] == [r["event_id"] for r in first[3:]]


@pytest.mark.unit
def test_anthropic_messages_add_cache_reads_and_writes_to_input(tmp_path: Path):
    rows, quarantine = stage(tmp_path, "anthropic_usage", "anthropic_messages_usage.jsonl", mapping(**LOGGED_AT))
    assert quarantine == []
    assert tokens(rows) == {
        "msg_01XkQ7rTz3VbN8pLmW2sYc4D": (48 + 6200, 0, 6200, 0, 410, None),
        "msg_01Yb4NcKq8WtR2dFgH6jLp9E": (52 + 6200, 6200, 0, 0, 388, None),
        "msg_01Zd6PfMs1XuT5hJkB3nQr7F": (30 + 1500 + 10500, 0, 1500, 10500, 950, 700),  # thinking_tokens 700
        "msg_01Ae8RgNt4YvU7kLmC5pSs2G": (1024, 0, 0, None, 220, None),  # older shape: no cache_creation split
    }
    assert [r["service_tier"] for r in rows] == ["standard", "standard", "priority", None]
    assert rows[0]["at"] == "2026-11-02T12:00:00.000"


@pytest.mark.unit
def test_anthropic_usage_report_buckets_sum_uncached_cache_writes_and_reads(tmp_path: Path):
    lookups = mapping(
        tenant_id={
            "field": "workspace_id",
            "map": {"wrkspc_01Hn5RtGk7WsQ2vXyB8mJd3E": "acme", "wrkspc_01Pz3VbLx8QeN6tCuF1gHs5K": "globex"},
        },
        feature={
            "field": "api_key_id",
            "map": {"apikey_01Fq8LmZr3TxV9wKpN2bYc4D": "assistant", "apikey_01Kc2WdPq6NbT4sRvE7hLm9A": "batch-etl"},
        },
    )
    rows, quarantine = stage(tmp_path, "anthropic_usage", "anthropic_usage_report_messages.json", lookups)
    assert quarantine == []
    # the account is the result's workspace_id (the report is grouped by workspace_id)
    acme, globex = "wrkspc_01Hn5RtGk7WsQ2vXyB8mJd3E", "wrkspc_01Pz3VbLx8QeN6tCuF1gHs5K"
    assert [r["account_id"] for r in rows] == [acme, acme, globex, acme]
    assert [
        (r["tenant_id"], r["feature"], r["model"], r["service_tier"], r["at"]) + tuple(r[c] for c in TOKENS)
        for r in rows
    ] == [
        (
            "acme",
            "assistant",
            "claude-sonnet-4-5-20250929",
            "standard",
            "2026-01-01T00:00:00.000",
            1250000 + 310000 + 8900000,
            8900000,
            310000,
            0,
            420000,
            None,
        ),
        (
            "acme",
            "assistant",
            "claude-sonnet-4-5-20250929",
            "standard",
            "2026-01-01T00:00:00.000",
            600000 + 220000 + 1900000,
            1900000,
            0,
            220000,
            95000,
            None,
        ),
        (
            "globex",
            "batch-etl",
            "claude-haiku-4-5-20251001",
            "batch",
            "2026-01-01T00:00:00.000",
            3100000,
            0,
            0,
            0,
            640000,
            None,
        ),
        (
            "acme",
            "assistant",
            "claude-opus-4-1-20250805",
            "priority",
            "2026-01-02T00:00:00.000",
            80000 + 45000 + 410000,
            410000,
            45000,
            0,
            38000,
            None,
        ),
    ]


@pytest.mark.unit
def test_gemini_adds_thoughts_to_output_and_tool_prompts_to_input(tmp_path: Path):
    rows, quarantine = stage(tmp_path, "gemini_usage", "gemini_usage.jsonl", mapping(**LOGGED_AT))
    assert quarantine == []
    assert tokens(rows) == {
        "k3VaaPOeJ8S2nvgPq4mD-Ac": (1200, 0, None, None, 310 + 842, 842),
        "p8VaaKLyNdW1nvgP9Mqx0Qk": (32500, 28000, None, None, 950 + 2100, 2100),  # cached inside promptTokenCount
        "w1WaaNqgFMe1nvgPr7yQ8Aw": (540 + 2300, 0, None, None, 420, 0),  # toolUsePromptTokenCount 2300
        "Z2XaaMbRA9a1nvgPo5Wm8Q0": (1858, 0, None, None, 200, 0),
    }
    assert {(r["provider"], r["model"]) for r in rows} == {
        ("google", "gemini-2.5-flash"),
        ("google", "gemini-2.5-pro"),
        ("google", "gemini-2.0-flash"),
    }


@pytest.mark.unit
def test_otel_spans_map_genai_attributes_and_look_lookups_up_on_span_then_resource(tmp_path: Path):
    lookups = mapping(
        tenant_id={"field": "service.name", "map": {"finops-assistant": "finops"}},
        feature={"field": "gen_ai.operation.name"},
    )
    rows, quarantine = stage(tmp_path, "otel_genai", "otel_genai_spans.json", lookups)
    assert quarantine == []
    assert [
        (r["line_no"], r["provider"], r["model"], r["service_tier"], r["tenant_id"], r["feature"], r["at"])
        + tuple(r[c] for c in TOKENS)
        for r in rows
    ] == [
        (
            1,
            "openai",
            "gpt-4.1-mini-2025-04-14",
            "standard",
            "finops",
            "chat",
            "2026-01-01T01:00:10.412",
            2150,
            1920,
            None,
            None,
            180,
            None,
        ),
        (
            2,
            "openai",
            "o4-mini-2025-04-16",
            None,
            "finops",
            "chat",
            "2026-01-01T01:02:21.002",
            1340,
            None,
            None,
            None,
            2210,
            1856,
        ),
        (
            3,
            "anthropic",
            "claude-sonnet-4-5-20250929",
            None,
            "finops",
            "chat",
            "2026-01-01T01:03:20.000",
            6248,
            0,
            6200,
            None,
            410,
            None,
        ),
        # an older instrumentation (gen_ai.system, no cache attributes): mapped as reported
        (
            4,
            "anthropic",
            "claude-sonnet-4-5-20250929",
            None,
            "finops",
            "chat",
            "2026-01-01T01:05:00.000",
            52,
            None,
            None,
            None,
            388,
            None,
        ),
        (
            5,
            "google",
            "gemini-2.5-flash",
            None,
            "finops",
            "generate_content",
            "2026-01-01T01:06:40.000",
            1200,
            None,
            None,
            None,
            1152,
            842,
        ),
    ]
    assert rows[0]["event_id"] == "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"


@pytest.mark.unit
def test_an_otel_span_that_is_not_an_object_is_quarantined(tmp_path: Path):
    export = json.loads((FIXTURES / "otel_genai_spans.json").read_text())
    export["resourceSpans"][0]["scopeSpans"][0]["spans"].insert(1, "not a span")
    (tmp_path / "spans.json").write_text(json.dumps(export))
    rows, quarantine = stage(tmp_path, "otel_genai", tmp_path / "spans.json", mapping(**CONSTANT))
    assert quarantine == [(2, "not a valid JSON object", '"not a span"')]
    assert [r["line_no"] for r in rows] == [1, 3, 4, 5, 6]  # the other spans are read as before


def otel_export(*spans: dict) -> dict:
    """An OTLP JSON export of these spans (one resource, one scope)."""
    return {
        "resourceSpans": [
            {"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "test"}, "spans": list(spans)}]}
        ]
    }


def otel_span(span_id: str, operation: str, model: str, **counts: int) -> dict:
    """A model-call span (GenAI semantic conventions) with its gen_ai.usage.<name> counts."""
    attributes = {
        "gen_ai.operation.name": {"stringValue": operation},
        "gen_ai.provider.name": {"stringValue": "openai"},
        "gen_ai.request.model": {"stringValue": model},
        **{f"gen_ai.usage.{name}": {"intValue": str(n)} for name, n in counts.items()},
    }
    return {
        "traceId": "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0",
        "spanId": span_id,
        "name": f"{operation} {model}",
        "kind": 3,
        "startTimeUnixNano": "1793613600000000000",
        "endTimeUnixNano": "1793613600200000000",
        "attributes": [{"key": k, "value": v} for k, v in attributes.items()],
        "status": {},
    }


@pytest.mark.unit
def test_an_otel_embeddings_span_has_input_tokens_only(tmp_path: Path):
    """The semantic conventions give an embeddings span gen_ai.usage.input_tokens and no output count: its output
    is 0. A chat span without an output count is still quarantined."""
    (tmp_path / "spans.json").write_text(
        json.dumps(
            otel_export(
                otel_span("0000000000000001", "embeddings", "text-embedding-3-small", input_tokens=512),
                otel_span("0000000000000002", "chat", "gpt-4o", input_tokens=880),
            )
        )
    )
    rows, quarantine = stage(tmp_path, "otel_genai", tmp_path / "spans.json", mapping(**CONSTANT))
    assert [(r["line_no"], r["model"]) + tuple(r[c] for c in TOKENS) for r in rows] == [
        (1, "text-embedding-3-small", 512, None, None, None, 0, None)
    ]
    assert [(line, reason) for line, reason, _ in quarantine] == [(2, "missing gen_ai.usage.output_tokens")]


@pytest.mark.unit
def test_otel_spans_of_unexpected_shapes_are_read_without_a_traceback(tmp_path: Path):
    """A status that is not an object has no error code (a success); attributes that are not a list are none;
    an attribute whose key is not text is not one (each was an AttributeError or TypeError traceback)."""
    spans = [
        {**otel_span("0000000000000001", "chat", "gpt-4o", input_tokens=10, output_tokens=2), "status": "ERROR"},
        {**otel_span("0000000000000002", "chat", "gpt-4o", input_tokens=10, output_tokens=2), "attributes": 5},
        otel_span("0000000000000003", "chat", "gpt-4o", input_tokens=30, output_tokens=4),
    ]
    spans[2]["attributes"].insert(0, {"key": ["gen_ai.usage.input_tokens"], "value": {"intValue": "1"}})
    (tmp_path / "spans.json").write_text(json.dumps(otel_export(*spans)))
    rows, quarantine = stage(tmp_path, "otel_genai", tmp_path / "spans.json", mapping(**CONSTANT))
    assert quarantine == []
    assert [(r["line_no"], r["status"], r["input_tokens"], r["output_tokens"]) for r in rows] == [
        (1, "success", 10, 2),
        (3, "success", 30, 4),  # span 2, without attributes, is not a model call: skipped
    ]


BATCH_RESULTS = [  # anthropic_batch_results.jsonl: the succeeded results, read as Messages responses
    ("msg_01BatchSonnet00000000001", "batch", 2000, 0, 0, None, 500, None),  # usage without service_tier
    ("msg_01BatchSonnet00000000002", "batch", 300 + 1700, 1700, 0, 0, 40, None),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    "response_field, wrapped", [(None, False), ("result.message", False), ("batch.result.message", True)]
)
def test_anthropic_batch_results_are_batch_tier_and_unbilled_results_are_skipped(
    tmp_path: Path, response_field, wrapped, caplog
):
    """A Message Batches results file (the lines as downloaded, or each inside the app's own log record): a
    succeeded result is a batch-tier call even when its usage names no service_tier; errored, expired and canceled
    results carry no usage and are not billed: skipped and counted, not quarantined."""
    path = tmp_path / "results.jsonl"
    lines = (FIXTURES / "anthropic_batch_results.jsonl").read_text().splitlines()
    path.write_text(
        "".join(
            (json.dumps({"tenant": "acme", "batch": json.loads(line)}) if wrapped else line) + "\n" for line in lines
        )
    )
    with caplog.at_level("INFO", logger="finops"):
        rows, quarantine = stage(tmp_path, "anthropic_usage", path, mapping(response_field, **LOGGED_AT))
    assert quarantine == []
    assert [(r["event_id"], r["service_tier"]) + tuple(r[c] for c in TOKENS) for r in rows] == BATCH_RESULTS
    assert sorted(m.split(": ", 1)[1] for m in caplog.messages if "skipped" in m) == [
        "skipped 1 canceled Message Batches results (not billed)",
        "skipped 1 errored Message Batches results (not billed)",
        "skipped 1 expired Message Batches results (not billed)",
    ]


@pytest.mark.unit
def test_an_anthropic_batch_result_of_an_unknown_type_is_quarantined(tmp_path: Path):
    (tmp_path / "results.jsonl").write_text(
        '{"custom_id":"t-9","result":{"type":"processing"}}\n{"custom_id":"t-8","result":{"type":"succeeded"}}\n'
    )
    rows, quarantine = stage(tmp_path, "anthropic_usage", tmp_path / "results.jsonl", mapping(**LOGGED_AT))
    assert rows == []
    assert [(line, reason) for line, reason, _ in quarantine] == [
        (1, "result.type 'processing' is not succeeded, errored, expired or canceled"),
        (2, "no result.message object"),
    ]


LITELLM = mapping(
    tenant_id={"field": "request_tags", "prefix": "tenant:"},
    feature={"field": "request_tags", "prefix": "feature:"},
    task_id={"field": "session_id"},
)


@pytest.mark.unit
def test_litellm_spend_logs_map_tags_and_additional_usage_values(tmp_path: Path):
    rows, quarantine = stage(tmp_path, "litellm_spend_logs", "litellm_spend_logs.json", LITELLM)
    assert quarantine == []  # the response-cache hit (5th row) is skipped: no provider call
    assert [
        (
            r["line_no"],
            r["event_id"],
            r["tenant_id"],
            r["feature"],
            r["task_id"],
            r["provider"],
            r["model"],
            r["status"],
        )
        + tuple(r[c] for c in TOKENS)
        for r in rows
    ] == [
        (
            1,
            "chatcmpl-BvT2kQ9xLm4NpR7sYc1A",
            "acme",
            "search",
            "run-5f0c2a",
            "openai",
            "gpt-4o",
            "success",
            2150,
            1920,
            None,
            None,
            180,
            0,
        ),
        # prompt_tokens 8748 = 48 + 2500 written (2000 for 5 minutes, 500 for 1 hour) + 6200 read
        (
            2,
            "msg_01Gq7WmT2xYc9ZbN4vKp8LhR",
            "globex",
            "support",
            "ticket-40917",
            "anthropic",
            "claude-sonnet-4-6",
            "success",
            8748,
            6200,
            2000,
            500,
            410,
            120,
        ),
        (
            3,
            "b9f1c2e4-3a5d-4c7e-9f0a-1b2c3d4e5f60",
            "acme",
            "search",
            "run-5f0c2a",
            "google",
            "gemini-2.5-flash",
            "success",
            1200,
            0,
            None,
            None,
            1152,
            842,
        ),
        (
            4,
            "2e8c6a4f-1d3b-4a5c-8e7f-9a0b1c2d3e4f",
            "globex",
            "support",
            "ticket-40917",
            "anthropic",
            "claude-sonnet-4-6",
            "error",
            0,
            None,
            None,
            None,
            0,
            None,
        ),
        (
            6,
            "emb-77c1a9e2-5b3d-4f6a-8c0e-2d4f6a8c0e1b",
            "acme",
            "indexing",
            None,
            "openai",
            "text-embedding-3-small",
            "success",
            512,
            None,
            None,
            None,
            0,
            None,
        ),
        (
            7,
            "msg_01Hd3XpV8rNq2TyK6wBz4Lj1",
            "globex",
            "triage",
            None,
            "anthropic",
            "claude-haiku-4-5",
            "success",
            1024,
            0,
            0,
            None,
            434,
            None,
        ),
    ]
    assert [r["at"] for r in rows][-1] == "2026-11-02T14:20:05.000"


@pytest.mark.unit
def test_litellm_csv_export_gives_the_same_records_as_json(tmp_path: Path):
    from_json, _ = stage(tmp_path / "json", "litellm_spend_logs", "litellm_spend_logs.json", LITELLM)
    from_csv, quarantine = stage(tmp_path / "csv", "litellm_spend_logs", "litellm_spend_logs.csv", LITELLM)
    assert quarantine == []
    columns = ("event_id", "tenant_id", "feature", "task_id", "provider", "model", "status", "at") + TOKENS
    assert [tuple(r[c] for c in columns) for r in from_csv] == [tuple(r[c] for c in columns) for r in from_json]
    assert [r["line_no"] for r in from_csv] == [2, 3, 4, 5, 7, 8]  # CSV lines; the header is line 1


ASKED = {"tenant_id": {"field": "tenant"}, "feature": {"field": "feature"}}


@pytest.mark.parametrize(
    "kind, fixture, lookups, staged, quarantined",
    [
        (
            "openai_usage",
            "openai_chat_bad.jsonl",
            mapping("response", occurred_at={"field": "ts"}, **ASKED),
            ["chatcmpl-Bad01ok"],
            [
                (2, "not a valid JSON object"),
                (3, "no usage object"),
                (4, "usage.prompt_tokens -5 is negative"),
                (5, "missing tenant_id: no 'tenant' in the record (key 'usage.sources[0].tenant_id')"),
                (6, "occurred_at 'yesterday 10am' is not an ISO 8601 timestamp"),
                (7, "cache tokens 900 > input_tokens 880"),
                (8, "missing model"),
                (9, "reasoning_tokens 500 > output_tokens 410"),
                (10, "usage.completion_tokens '41.5' is not a whole number"),
            ],
        ),
        (
            "openai_usage",
            "openai_usage_bad.json",
            mapping(
                tenant_id={"field": "project_id", "map": {"proj_finops01": "finops"}}, feature={"value": "assistant"}
            ),
            None,
            [
                (2, "tenant_id: project_id 'proj_unknown' is not in usage.sources[0].tenant_id.map"),
                (3, "model is null: export the Usage API grouped by model (group_by=model)"),
                (4, "input_cached_tokens -100 is negative"),
                (5, "missing output_tokens"),
            ],
        ),
        (
            "anthropic_usage",
            "anthropic_messages_bad.jsonl",
            mapping("response", occurred_at={"field": "logged_at"}, **ASKED),
            ["msg_01BadA1ok"],
            [
                (
                    2,
                    "usage.cache_creation_input_tokens 2000 is not ephemeral_5m_input_tokens 1500 + "
                    "ephemeral_1h_input_tokens 0",
                ),
                (3, "usage.cache_read_input_tokens -1 is negative"),
                (4, "missing usage.input_tokens"),
                (5, "no usage object"),
                (6, "missing occurred_at: no 'logged_at' in the record (key 'usage.sources[0].occurred_at')"),
                (7, "not a valid JSON object"),
            ],
        ),
        (
            "anthropic_usage",
            "anthropic_report_bad.json",
            mapping(
                tenant_id={"field": "workspace_id", "map": {"wrkspc_01Hn5RtGk7WsQ2vXyB8mJd3E": "acme"}},
                feature={"value": "assistant"},
            ),
            None,
            [
                (
                    2,
                    "tenant_id: workspace_id 'wrkspc_01Unmapped0000000000000' is not in usage.sources[0].tenant_id.map",
                ),
                (3, "missing cache_creation"),
                (4, "output_tokens 'n/a' is not a whole number"),
            ],
        ),
        (
            "gemini_usage",
            "gemini_bad.jsonl",
            mapping("response", occurred_at={"field": "ts"}, **ASKED),
            ["gBad1ok"],
            [
                (2, "no usageMetadata object"),
                (3, "missing model"),
                (4, "usageMetadata.thoughtsTokenCount -3 is negative"),
                (5, "tenant_id: 'tenant' is not a single value (key 'usage.sources[0].tenant_id')"),
            ],
        ),
        (
            "otel_genai",
            "otel_genai_bad.json",
            mapping(tenant_id={"field": "tenant.id"}, feature={"field": "app.feature"}),
            ["7c1e4b9a2f3d5e6c8a0b1c2d3e4f5a6b-b000000000000001"],
            [
                # spans 2-4 (a tool, an agent with rolled-up usage, an HTTP call) are not model calls: skipped
                (5, "gen_ai.usage.input_tokens 'abc' is not a whole number"),
                (6, "missing gen_ai.usage.output_tokens"),
                (7, "cache tokens 6200 > input_tokens 52"),  # raw Anthropic input_tokens in the span: caught
                (8, "missing model"),
                (9, "missing tenant_id: no 'tenant.id' in the record (key 'usage.sources[0].tenant_id')"),
            ],
        ),
        (
            "litellm_spend_logs",
            "litellm_spend_logs_bad.jsonl",
            LITELLM,
            ["chatcmpl-LBad1ok"],
            [
                (2, "not a valid JSON object"),
                (3, "metadata is not valid JSON"),
                (4, "prompt_tokens -1 is negative"),
                (5, "occurred_at 'not-a-time' is not an ISO 8601 timestamp"),
                (
                    6,
                    "missing tenant_id: no 'request_tags' starting with 'tenant:' in the record "
                    "(key 'usage.sources[0].tenant_id')",
                ),
                (7, "missing event_id"),
                (8, "missing provider"),
            ],
        ),
    ],
)
def test_bad_records_are_quarantined_with_reason_line_and_raw_text(
    tmp_path, kind, fixture, lookups, staged, quarantined
):
    rows, quarantine = stage(tmp_path, kind, fixture, lookups)
    assert [(line, reason) for line, reason, _ in quarantine] == quarantined
    assert len(rows) == 1
    if staged is not None:
        assert [r["event_id"] for r in rows] == staged
    lines = (FIXTURES / fixture).read_text().splitlines()
    for line, _, raw in quarantine:
        if fixture.endswith(".jsonl"):
            assert raw == lines[line - 1]  # the line as it is
        else:
            assert isinstance(json.loads(raw), dict)  # the record (bucket result, span) out of the document


def test_an_aggregated_export_cannot_use_a_per_request_lookup(tmp_path: Path):
    lookups = mapping(tenant_id={"field": "metadata.tenant"}, feature={"value": "assistant"})
    with pytest.raises(
        UsageFileError,
        match=r"openai_usage_completions.json: an OpenAI Usage API page is aggregated "
        r"and has no field 'metadata.tenant' \(key 'usage.sources\[0\]."
        r"tenant_id.field'\); map one of its grouping keys instead: project_id",
    ):
        stage(tmp_path, "openai_usage", "openai_usage_completions.json", lookups)
    with pytest.raises(
        UsageFileError,
        match=r"its occurred_at comes from the bucket; remove key "
        r"'usage.sources\[0\].occurred_at'",
    ):
        stage(
            tmp_path,
            "anthropic_usage",
            "anthropic_usage_report_messages.json",
            mapping(occurred_at={"field": "starting_at"}, **CONSTANT),
        )


@pytest.mark.unit
def test_a_vendor_kind_reads_json_only(tmp_path: Path):
    with pytest.raises(UsageFileError, match="kind 'otel_genai' reads .json, .jsonl files"):
        stage(tmp_path, "otel_genai", "litellm_spend_logs.csv", mapping(**CONSTANT))


USAGE_SOURCE = """
[warehouse]
path = "wh/finops.duckdb"
[[usage.sources]]
kind = "openai_usage"
path = "{path}"
"""


@pytest.mark.parametrize(
    "keys, message",
    [
        (
            'feature = { value = "x" }\n',
            "missing required key 'usage.sources[0].tenant_id': kind 'openai_usage' has no tenant_id of ours",
        ),
        (
            'tenant_id = "acme"\nfeature = { value = "x" }\n',
            "key 'usage.sources[0].tenant_id' must be a table such as { field = \"metadata.tenant\" } or "
            '{ value = "acme" }',
        ),
        (
            'tenant_id = { field = "a", value = "b" }\nfeature = { value = "x" }\n',
            "key 'usage.sources[0].tenant_id' needs exactly one of 'field' or 'value'",
        ),
        (
            'tenant_id = { value = "a", map = { k = "v" } }\nfeature = { value = "x" }\n',
            "key 'usage.sources[0].tenant_id.map' goes with 'field', not with 'value'",
        ),
        (
            'tenant_id = { field = "project_id", map = { proj_1 = 3 } }\nfeature = { value = "x" }\n',
            "key 'usage.sources[0].tenant_id.map.proj_1' must be str, got int 3",
        ),
        (
            'tenant_id = { field = "a", prefx = "t:" }\nfeature = { value = "x" }\n',
            "unknown key 'usage.sources[0].tenant_id.prefx'",
        ),
        (
            'tenant_id = { field = "a" }\nfeature = { value = "x" }\nteam = { value = "y" }\n',
            "unknown key 'usage.sources[0].team'",
        ),
        (
            'tenant_id = { field = 7 }\nfeature = { value = "x" }\n',
            "key 'usage.sources[0].tenant_id.field' must be str",
        ),
    ],
)
def test_bad_lookups_are_config_errors_naming_the_key(tmp_path: Path, keys: str, message: str):
    (tmp_path / "u.json").write_text("{}")
    config = tmp_path / "finops.toml"
    config.write_text(USAGE_SOURCE.format(path="u.json") + keys)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert message in str(err.value)


@pytest.mark.unit
def test_lookups_are_for_vendor_kinds_and_response_field_for_per_request_logs(tmp_path: Path):
    (tmp_path / "u.json").write_text("{}")
    config = tmp_path / "finops.toml"
    config.write_text(
        USAGE_SOURCE.replace("openai_usage", "canonical").format(path="u.json") + 'tenant_id = { value = "acme" }\n'
    )
    with pytest.raises(ConfigError, match=r"key 'usage.sources\[0\].tenant_id': kind 'canonical' reads every column"):
        load_config(config)
    config.write_text(
        USAGE_SOURCE.replace("openai_usage", "otel_genai").format(path="u.json")
        + 'tenant_id = { value = "a" }\nfeature = { value = "b" }\nresponse_field = "response"\n'
    )
    with pytest.raises(ConfigError, match=r"key 'usage.sources\[0\].response_field' is for kinds openai_usage"):
        load_config(config)


@pytest.mark.parametrize(
    "lookups, message",
    [
        (
            'feature = { value = "assistant" }\n',
            "missing required key 'usage.sources[0].tenant_id': kind 'openai_usage' has no tenant_id of ours",
        ),
        (
            'tenant_id = { field = "metadata.tenant" }\nfeature = { value = "assistant" }\n',
            "openai_usage_completions.json: an OpenAI Usage API page is aggregated and has no field 'metadata.tenant' "
            "(key 'usage.sources[0].tenant_id.field')",
        ),
    ],
)
def test_finops_run_exits_2_on_a_lookup_the_export_cannot_use(project: Project, lookups: str, message: str):
    shutil.copy(FIXTURES / "openai_usage_completions.json", project.usage)
    project.write_config(usage='[[usage.sources]]\nkind = "openai_usage"\npath = "usage/*.json"\n' + lookups)
    proc = project.finops("run", "--date", "2026-01-01")
    assert proc.returncode == 2
    assert message in proc.stderr


def test_a_changed_lookup_reads_the_source_files_again(tmp_path: Path):
    shutil.copy(FIXTURES / "openai_usage_completions.json", tmp_path / "usage.json")
    config = tmp_path / "finops.toml"
    tenants = 'tenant_id = {{ field = "project_id", map = {{ proj_finops01 = "{name}" }}, default = "other" }}\n'
    config.write_text(
        USAGE_SOURCE.format(path="usage.json") + tenants.format(name="finops") + 'feature = { value = "assistant" }\n'
    )
    cfg = load_config(config)
    layout, state = Layout.of(cfg), State()
    assert stage_usage(cfg, layout, state).staged == [str(tmp_path / "usage.json")]
    assert stage_usage(cfg, layout, state).staged == []  # unchanged file and lookups: not read again

    config.write_text(
        USAGE_SOURCE.format(path="usage.json") + tenants.format(name="finance") + 'feature = { value = "assistant" }\n'
    )
    cfg = load_config(config)
    assert stage_usage(cfg, layout, state).staged == [str(tmp_path / "usage.json")]
    key = state.files[str(tmp_path / "usage.json")].key
    staged = layout.staged_usage_dir(key) / "**" / "*.parquet"
    tenants_now = duckdb.sql(f"select distinct tenant_id from read_parquet('{staged}') order by 1").fetchall()
    assert tenants_now == [("finance",), ("other",)]


PROJECT_A = """
[[usage.sources]]
name = "anthropic-log"
kind = "anthropic_usage"
path = "exports/anthropic_messages.jsonl"
response_field = "response"
occurred_at = { field = "logged_at" }
tenant_id = { field = "tenant" }
feature = { field = "feature" }
task_id = { field = "ticket" }

[[usage.sources]]
name = "openai-log"
kind = "openai_usage"
path = "exports/openai_chat.jsonl"
response_field = "response"
occurred_at = { field = "ts" }
model = { field = "model" }          # the model the app asked for (the response names the dated snapshot)
tenant_id = { field = "tenant" }
feature = { field = "feature" }
"""

PROJECT_B = """
[[usage.sources]]
name = "otel"
kind = "otel_genai"
path = "exports/anthropic_otel.json"
tenant_id = { field = "tenant.id" }
feature = { field = "app.feature" }
task_id = { field = "app.ticket" }

[[usage.sources]]
name = "litellm"
kind = "litellm_spend_logs"
path = "exports/openai_litellm.json"
tenant_id = { field = "request_tags", prefix = "tenant:" }
feature = { field = "request_tags", prefix = "feature:" }
task_id = { field = "session_id" }

[[usage.sources]]
name = "openai-usage-api"
kind = "openai_usage"
path = "exports/openai_usage_page.json"
tenant_id = { field = "project_id", map = { proj_etl02 = "acme" } }
feature = { field = "api_key_id", map = { key_b7d8e9 = "etl" } }
"""


def project_with(root: Path, usage: str, exports: list[str]) -> Project:
    project = Project(root)
    (root / "exports").mkdir()
    for name in exports:
        shutil.copy(FIXTURES / "e2e" / name, root / "exports" / name)
    project.write_config(usage=usage)
    return project


def test_the_same_call_in_different_exports_costs_the_same(tmp_path: Path):
    a = project_with(tmp_path / "a", PROJECT_A, ["anthropic_messages.jsonl", "openai_chat.jsonl"])
    b = project_with(
        tmp_path / "b", PROJECT_B, ["anthropic_otel.json", "openai_litellm.json", "openai_usage_page.json"]
    )
    # the Usage API names the dated snapshot: a contract sheet prices it (docs/cost_rules.md: exact names)
    (b.root / "prices" / "contract.csv").write_text(
        "provider,model,usage_type,usd_per_million,service_tier,min_input_tokens,effective_from,source\n"
        "openai,gpt-4o-mini-2024-07-18,input,0.15,standard,0,2026-01-01,contract\n"
        "openai,gpt-4o-mini-2024-07-18,output,0.60,standard,0,2026-01-01,contract\n"
    )
    a.finops("run", "--date", "2026-11-02", check=True)
    b.finops("run", "--date", "2026-11-02", check=True)

    sql = """select event_id, tenant_id, feature, task_id, provider, model, service_tier, input_tokens,
                    cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, cost_usd,
                    list_cost_usd, cache_savings_usd, pricing_status
             from finance.fct_llm_requests order by provider, event_id"""
    # claude-sonnet-4-6 (bundled sheet): input 3.00, cache write 3.75, cache read 0.30, output 15.00 per million
    #   (48 x 3.00 + 2000 x 3.75 + 6200 x 0.30 + 410 x 15.00) / 1e6 = 15654 / 1e6
    #   list: (8248 x 3.00 + 410 x 15.00) / 1e6 = 0.030894; savings 0.030894 - 0.015654
    anthropic = (
        "anthropic",
        "claude-sonnet-4-6",
        "standard",
        8248,
        6200,
        2000,
        0,
        410,
        0.015654,
        0.030894,
        0.01524,
        "priced",
    )
    # gpt-4o (bundled sheet): input 2.50, cache read 1.25, output 10.00 per million
    #   (230 x 2.50 + 1920 x 1.25 + 180 x 10.00) / 1e6 = 4775 / 1e6; list (2150 x 2.50 + 1800) / 1e6 = 0.007175
    openai = ("openai", "gpt-4o", "standard", 2150, 1920, 0, 0, 180, 0.004775, 0.007175, 0.0024, "priced")
    assert a.query(sql) == [
        ("msg_01E2eSonnetCache0000001", "acme", "support", "T-1001", *anthropic),
        ("chatcmpl-E2eGpt4oCached01", "acme", "search", "chatcmpl-E2eGpt4oCached01", *openai),
    ]
    # the Usage API bucket: batch, no batch rows -> 50% of the contract rates:
    #   (2,400,000 x 0.075 + 180,000 x 0.30) / 1e6 = 0.18 + 0.054
    bucket = b.query(sql + " limit 1 offset 2")[0]
    assert b.query(sql)[:2] == [
        ("e2e0a1b2c3d4e5f60718293a4b5c6d7e-5a5a5a5a5a5a0001", "acme", "support", "T-1001", *anthropic),
        ("chatcmpl-E2eGpt4oCached01", "acme", "search", "run-5f0c2a", *openai),
    ]
    assert bucket[1:] == (
        "acme",
        "etl",
        bucket[0],
        "openai",
        "gpt-4o-mini-2024-07-18",
        "batch",
        2400000,
        0,
        0,
        0,
        180000,
        0.234,
        0.468,
        0.0,
        "priced",
    )
    for project in (a, b):
        assert project.query("select count(*) from finance.quarantine") == [(0,)]


def test_embeddings_spans_and_batch_results_cost_what_the_vendor_bills(project: Project):
    """Through `finops run`: an embeddings span costs its input tokens, a Message Batches result half the standard
    rate (claude-sonnet-4-6 has no batch rows: 50% of 3.00 / 0.30 / 15.00 per million), and the three results that
    were not billed leave nothing behind, not even in the quarantine."""
    (project.root / "exports" / "batch").mkdir(parents=True)
    (project.root / "exports" / "spans.json").write_text(
        json.dumps(otel_export(otel_span("0000000000000001", "embeddings", "text-embedding-3-small", input_tokens=512)))
    )
    shutil.copy(FIXTURES / "anthropic_batch_results.jsonl", project.root / "exports" / "batch" / "results.jsonl")
    (project.root / "prices" / "embeddings.csv").write_text(
        "provider,model,usage_type,usd_per_million,service_tier,min_input_tokens,effective_from,source\n"
        "openai,text-embedding-3-small,input,0.02,standard,0,2026-01-01,contract\n"
        "openai,text-embedding-3-small,output,0,standard,0,2026-01-01,contract\n"
    )
    project.write_config(
        usage="""
[[usage.sources]]
kind = "otel_genai"
path = "exports/spans.json"
tenant_id = { value = "acme" }
feature = { value = "indexing" }

[[usage.sources]]
kind = "anthropic_usage"
path = "exports/batch/*.jsonl"
response_field = "result.message"
occurred_at = { value = "2026-11-02T12:00:00Z" }
tenant_id = { value = "acme" }
feature = { value = "triage" }
"""
    )
    run = project.finops("run", "--date", "2026-11-02", check=True)
    assert "skipped 1 errored Message Batches results (not billed)" in run.stderr
    assert project.query("""select model, service_tier, input_tokens, output_tokens, round(cost_usd, 12),
                                   round(list_cost_usd, 12)
                            from finance.fct_llm_requests order by event_id""") == [
        ("text-embedding-3-small", "standard", 512, 0, 0.00001024, 0.00001024),  # 512 x 0.02 / 1e6
        # (2,000 x 1.50 + 500 x 7.50) / 1e6; list (2,000 x 3 + 500 x 15) / 1e6
        ("claude-sonnet-4-6", "batch", 2000, 500, 0.00675, 0.0135),
        # (300 x 1.50 + 1,700 x 0.15 + 40 x 7.50) / 1e6; list (2,000 x 3 + 40 x 15) / 1e6
        ("claude-sonnet-4-6", "batch", 2000, 40, 0.001005, 0.0066),
    ]
    assert project.query("select count(*) from finance.quarantine") == [(0,)]


def _same_as_the_reader(tmp: Path, kind: str, lookups: UsageMapping, records: list, endings: str = "\n") -> list:
    """Stage the lines as .jsonl (mapped in DuckDB SQL where it can, ingest/vendor_sql.py) and as .json (a .json file
    of JSON lines: the Python reader alone); assert the same staged rows and quarantine; return the quarantine."""
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    text = "".join(line + endings[n % len(endings)] for n, line in enumerate(lines))
    staged = {}
    tmp.mkdir(exist_ok=True)
    for name in ("export.jsonl", "export.json"):
        (tmp / name).write_text(text, encoding="utf-8", newline="")
        rows, quarantine = stage(tmp / name.replace(".", "_"), kind, tmp / name, lookups)
        rows = sorted(rows, key=lambda r: (r["line_no"], r["event_id"]))  # the records of a line in any order
        staged[name] = ([{k: v for k, v in r.items() if k != "file"} for r in rows], sorted(quarantine))
    assert staged["export.jsonl"] == staged["export.json"]
    return staged["export.jsonl"][1]


OPENAI = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1793577600,
    "model": "gpt-4.1-mini",
    "service_tier": "default",
    "usage": {
        "prompt_tokens": 2150,
        "completion_tokens": 180,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
}
RESPONSES = {
    "id": "resp_1",
    "created_at": 1793577601,
    "model": "o4-mini",
    "status": "failed",
    "usage": {"input_tokens": 90, "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 10}},
}


def _openai(n: int, tenant: object = "a", **changes: object) -> dict:
    return {"tenant": tenant, "feature": "search", "response": {**OPENAI, "id": f"chatcmpl-{n}", **changes}}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("endings", "block"),
    [
        (["\n"], usage_exports.LINE_BLOCK),  # lines split and numbered by DuckDB's line reader
        (["\n", "\r\n", "\r"], usage_exports.LINE_BLOCK),  # \r: split in Python (_line_blocks)
        (["\n", "\r\n", "\r"], 7),  # 7 characters: lines and \r\n cut across blocks
    ],
)
def test_openai_lines_mapped_in_sql_are_the_readers_records(tmp_path: Path, monkeypatch, endings: list, block: int):
    monkeypatch.setattr(usage_exports, "LINE_BLOCK", block)
    usage = OPENAI["usage"]
    records = [
        _openai(1),
        {"tenant": "b", "feature": "search", "response": RESPONSES},
        _openai(3, created=None, created_at=1793577602),  # "created" is there: no time
        _openai(4, usage={**usage, "prompt_tokens": "2150"}),  # digits as text
        _openai(5, service_tier=" Priority "),
        _openai(6, service_tier="PRIORITY"),
        _openai(7, service_tier="scale"),
        _openai(8, tenant=" a "),
        _openai(9, tenant=7),
        _openai(10, tenant="zz"),
        _openai(11, tenant="é"),
        _openai(12, usage=None),
        _openai(13, id=13),
        _openai(14, usage={**usage, "completion_tokens": -1}),
        _openai(15, usage={**usage, "completion_tokens": 180.0}),
        _openai(16, usage={**usage, "prompt_tokens_details": {"cached_tokens": 9999}}),
        {"tenant": "a", "response": OPENAI},  # no feature
        [_openai(18), _openai(19)],  # an array of log records on one line
        "   ",
        "",
        "{not json",
        _openai(20, created="1793577600"),
        _openai(21, usage={**usage, "prompt_tokens": True}),
        _openai(22, status={"code": 1}),  # not a Responses API status: a success (was a TypeError traceback)
        {"tenant": "a", "feature": "search", "response": "not an object"},
        {**_openai(23), "project": "proj_search"},  # the account (OpenAI project) the log record names
        {**_openai(24), "project": 42},
        {**_openai(25), "project": " proj_padded "},
    ]
    lookups = mapping(
        "response",
        tenant_id={"field": "tenant", "map": {"a": "acme", "b": "globex", "7": "x"}},
        feature={"field": "feature"},
        account_id={"field": "project"},
    )
    quarantine = _same_as_the_reader(tmp_path, "openai_usage", lookups, records, endings=endings)
    assert [line for line, _, _ in quarantine] == [3, 7, 10, 11, 12, 14, 16, 17, 21, 23, 25]
    rows, _ = stage(tmp_path / "again", "openai_usage", tmp_path / "export.jsonl", lookups)
    accounts = {r["event_id"]: r["account_id"] for r in rows if r["account_id"] is not None}
    assert accounts == {"chatcmpl-23": "proj_search", "chatcmpl-24": "42", "chatcmpl-25": "proj_padded"}


@pytest.mark.unit
@pytest.mark.parametrize(
    "odd",
    [usage_exports.LINE_DELIMITER, "\x1f", "\u00a0", "\x0c", "\u2028"],  # DuckDB's line reader's delimiter; blank
    # to Python's strip()
)
def test_odd_lines_are_numbered_as_the_reader_numbers_them(tmp_path: Path, odd: str):
    """A byte-order mark, blank lines, lines of white space or of a character DuckDB's line reader splits at: each
    record keeps its line, and each line the reader skips is skipped."""
    records = [
        "\ufeff" + json.dumps(_openai(1)),
        "",
        odd,
        _openai(2, model="C:\\x1f"),  # the text \x1f (not the character)
        f"{odd}{json.dumps(_openai(3))}",
        "   ",
        _openai(4),
    ]
    records += [f"{json.dumps(_openai(5))}{odd}", "{not json", _openai(6)]
    lookups = mapping("response", tenant_id={"field": "tenant"}, feature={"field": "feature"})
    quarantine = _same_as_the_reader(tmp_path, "openai_usage", lookups, records)
    rows, _ = stage(tmp_path / "again", "openai_usage", tmp_path / "export.jsonl", lookups)
    # a line of the odd character alone is blank to the reader (str.strip), one with a record too is not JSON to it
    assert sorted((r["line_no"], r["event_id"]) for r in rows) == [
        (1, "chatcmpl-1"),
        (4, "chatcmpl-2"),
        (7, "chatcmpl-4"),
        (10, "chatcmpl-6"),
    ]
    assert [line for line, _, _ in quarantine] == [5, 8, 9]


@pytest.mark.unit
def test_a_line_longer_than_duckdbs_line_reader_takes_is_read_all_the_same(tmp_path: Path):
    long = {**_openai(2), "note": "x" * (usage_exports.MAX_LINE_BYTES + 1)}  # the lines are split in Python
    lookups = mapping("response", tenant_id={"field": "tenant"}, feature={"field": "feature"})
    assert _same_as_the_reader(tmp_path, "openai_usage", lookups, [_openai(1), long, _openai(3, usage=None)]) == [
        (3, "no usage object", json.dumps(_openai(3, usage=None)))
    ]


@pytest.mark.unit
def test_anthropic_gemini_and_litellm_lines_mapped_in_sql_are_the_readers_records(tmp_path: Path):
    message = {
        "id": "msg_1",
        "type": "message",
        "model": "claude-sonnet-4-6",
        "usage": {
            "input_tokens": 48,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 6200,
            "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500},
            "output_tokens": 410,
            "output_tokens_details": {"thinking_tokens": 100},
            "service_tier": "priority_on_demand",
        },
    }
    older = {**message, "usage": {k: v for k, v in message["usage"].items() if k != "cache_creation"}}
    split_wrong = {**message, "usage": {**message["usage"], "cache_creation_input_tokens": 1999}}
    anthropic = [
        {"ts": "2026-11-02T09:00:00Z", "tenant": "a", "feature": "f", "response": message},
        {"ts": "2026-11-02T09:00:00Z", "tenant": "a", "feature": "f", "response": older},
        {"ts": "2026-11-02T09:00:00Z", "tenant": "a", "feature": "f", "response": split_wrong},
        {"ts": 1793577600, "tenant": "a", "feature": "f", "response": message},
        {"ts": "1793577600", "tenant": "a", "feature": "f", "response": message},
        {"tenant": "a", "feature": "f", "response": message},
        {"custom_id": "r1", "result": {"type": "succeeded", "message": message}, "ts": "2026-11-02T09:00:00Z"},
    ]
    quarantine = _same_as_the_reader(
        tmp_path / "anthropic",
        "anthropic_usage",
        mapping("response", occurred_at={"field": "ts"}, tenant_id={"field": "tenant"}, feature={"field": "feature"}),
        anthropic,
    )
    assert len(quarantine) == 3

    response = {
        "responseId": "g1",
        "createTime": "2026-11-02T09:00:00Z",
        "modelVersion": "gemini-2.5-flash",
        "usageMetadata": {"promptTokenCount": 100, "candidatesTokenCount": 20, "thoughtsTokenCount": 5},
    }
    gemini = [
        {"response": response},
        {"response": {**response, "usageMetadata": 5}},
        {"response": {**response, "usageMetadata": {}}},
        {"response": {**response, "createTime": 1793577600}},
        {"response": {**response, "usageMetadata": {"promptTokenCount": 100, "toolUsePromptTokenCount": 7}}},
    ]
    _same_as_the_reader(tmp_path / "gemini", "gemini_usage", mapping("response", **CONSTANT), gemini)

    row = {
        "request_id": "l1",
        "startTime": "2026-11-02T15:00:00.000000+00:00",
        "model": "gpt-4o",
        "custom_llm_provider": "openai",
        "prompt_tokens": 880,
        "completion_tokens": 410,
        "metadata": {"status": "success", "additional_usage_values": {"cache_read_input_tokens": 80}},
        "cache_hit": "False",
        "request_tags": ["tenant:acme", "feature:search"],
        "status": "success",
    }
    written = {
        "cache_creation_input_tokens": 300,
        "prompt_tokens_details": {"cache_creation_token_details": {"ephemeral_1h_input_tokens": 100}},
    }
    litellm = [
        row,
        {**row, "request_id": "l2", "model": "anthropic/claude-sonnet-4-6", "custom_llm_provider": None},
        {**row, "request_id": "l3", "custom_llm_provider": "Vertex_AI", "model": "gemini-2.5-flash"},
        {**row, "request_id": "l4", "cache_hit": True},
        {**row, "request_id": "l5", "cache_hit": "True "},
        {**row, "request_id": "l6", "metadata": json.dumps(row["metadata"])},
        {**row, "request_id": "l7", "request_tags": [7, "tenant:x", "feature:y"]},
        {**row, "request_id": "l8", "metadata": {"additional_usage_values": written}},
        {
            **row,
            "request_id": "l9",
            "metadata": {"additional_usage_values": {**written, "cache_creation_input_tokens": 50}},
        },
        {**row, "request_id": "l10", "status": "", "metadata": {"status": "failure"}},
        {"data": [{**row, "request_id": "l11"}], "total": 1},
        {**row, "request_id": "l12", "request_tags": ["feature:search"]},
        # the account: team_id, else api_key (the key's hash), as the billing kind litellm_spend_logs names it
        {**row, "request_id": "l13", "team_id": "team-search", "api_key": "hash-1"},
        {**row, "request_id": "l14", "team_id": "", "api_key": "hash-2"},
        {**row, "request_id": "l15", "team_id": None, "api_key": "hash-3"},
        {**row, "request_id": "l16", "team_id": 7, "api_key": "hash-4"},
        {**row, "request_id": "l17", "team_id": "", "api_key": ""},
    ]
    quarantine = _same_as_the_reader(tmp_path / "litellm", "litellm_spend_logs", LITELLM, litellm)
    assert len(quarantine) == 2
    rows, _ = stage(
        tmp_path / "litellm" / "again", "litellm_spend_logs", tmp_path / "litellm" / "export.jsonl", LITELLM
    )
    accounts = {
        r["event_id"]: r["account_id"] for r in rows if r["event_id"] in ("l1", "l13", "l14", "l15", "l16", "l17")
    }
    assert accounts == {"l1": None, "l13": "team-search", "l14": "hash-2", "l15": "hash-3", "l16": "7", "l17": None}


def _otel_line(*spans: dict, tenant: dict | None = None, **resource: dict) -> dict:
    """One OTLP export (a line of an OpenTelemetry Collector file): one resource, with tenant.id when given."""
    attributes = {**({"tenant.id": tenant} if tenant else {}), **resource}
    export = otel_export(*spans)
    export["resourceSpans"][0]["resource"]["attributes"] = [{"key": k, "value": v} for k, v in attributes.items()]
    return export


def _otel_span(n: int, *pairs: tuple, **changes: object) -> dict:
    """A chat span with 100 input and 20 output tokens, then the attribute pairs (key, AnyValue) added after them,
    then the span's changed fields."""
    span = otel_span(f"{n:016x}", "chat", "gpt-4o", input_tokens=100, output_tokens=20)
    span["attributes"] += [{"key": k, "value": v} for k, v in pairs]
    return {**span, **changes}


def _attr(span: dict, key: str, value: object) -> dict:
    """The span with the attribute `key` given this AnyValue (replaced where it is, else added)."""
    pairs = [p for p in span["attributes"] if p["key"] != key]
    return {**span, "attributes": [*pairs, {"key": key, "value": value}]}


@pytest.mark.unit
@pytest.mark.parametrize("block", [usage_exports.LINE_BLOCK, 7])  # 7 characters: lines cut across blocks
def test_otel_lines_mapped_in_sql_are_the_readers_records(tmp_path: Path, monkeypatch, caplog, block: int):
    monkeypatch.setattr(usage_exports, "LINE_BLOCK", block)
    sample = json.loads((FIXTURES / "otel_genai_spans.json").read_text())
    for resource_spans in sample["resourceSpans"]:
        resource_spans["resource"]["attributes"].append({"key": "tenant.id", "value": {"stringValue": "a"}})
    s = _otel_span
    tool = {**s(90), "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}}]}
    older = {
        **s(91),
        "attributes": [
            {"key": "gen_ai.system", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": 70}},
            {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "9"}},
        ],
    }
    a = {"stringValue": "a"}
    records = [
        sample,  # several resources, scopes and spans on one line
        _otel_line(s(1), s(2, ("tenant.id", {"stringValue": "b"})), tenant=a),  # the span's attribute first
        _otel_line(s(3), tool, older, tenant=a),  # a tool span (skipped), an instrumentation older than operation
        _otel_line({**s(4), "attributes": []}, {**s(5)} | {"attributes": None}, tenant=a),  # not model calls
        _otel_line(_attr(s(6), "gen_ai.usage.input_tokens", {"intValue": 100}), tenant=a),  # intValue a number
        _otel_line(_attr(s(7), "gen_ai.usage.input_tokens", {"intValue": " 100"}), tenant=a),
        _otel_line(_attr(s(8), "gen_ai.usage.input_tokens", {"intValue": "-1"}), tenant=a),
        _otel_line(_attr(s(9), "gen_ai.usage.input_tokens", {"intValue": None}), tenant=a),  # missing
        _otel_line(_attr(s(10), "gen_ai.usage.input_tokens", {}), s(11), tenant=a),  # a bad span, then a good one
        _otel_line(s(12, ("gen_ai.usage.prompt_tokens", {"intValue": "5"})), tenant=a),  # input_tokens wins
        _otel_line(_attr(s(13), "gen_ai.usage.output_tokens", {"doubleValue": 20.0}), tenant=a),
        _otel_line(_attr(s(14), "gen_ai.operation.name", {"stringValue": "embeddings"}), tenant=a),
        _otel_line(
            _attr(
                {**s(15), "attributes": [p for p in s(15)["attributes"] if "output" not in p["key"]]},
                "gen_ai.operation.name",
                {"stringValue": "embeddings"},
            ),
            tenant=a,
        ),  # no output count: 0
        _otel_line({**s(16), "attributes": s(16)["attributes"][:3]}, tenant=a),  # chat without counts
        _otel_line(s(17, status={"code": 2}), s(18, status={"code": "STATUS_CODE_ERROR"}), tenant=a),
        _otel_line(s(19, status={"code": 2.0}), s(20, status={"code": 1}), s(21, status="ERROR"), tenant=a),
        _otel_line(s(22, startTimeUnixNano=1793613600123456789), s(23, startTimeUnixNano=None), tenant=a),
        _otel_line(s(24, startTimeUnixNano="1793613600.5"), tenant=a),
        _otel_line(s(25, startTimeUnixNano="17936136001234567890"), tenant=a),  # 20 digits: year 2538
        _otel_line(s(26, startTimeUnixNano=" 1793613600000000000"), tenant=a),
        _otel_line(s(27, startTimeUnixNano="0"), tenant=a),  # 1970: before the window
        _otel_line(_attr(s(28), "gen_ai.response.model", {"stringValue": "modèle"}), tenant=a),  # not ASCII
        _otel_line(_attr(s(29), "gen_ai.response.model", {"stringValue": 'gpt "4o"'}), tenant=a),
        _otel_line(s(30, ("llm.temperature", {"doubleValue": 0.5})), tenant=a),  # a fraction in the span
        _otel_line(s(31, ("openai.response.service_tier", {"stringValue": "priority"})), tenant=a),
        _otel_line(s(32, ("openai.response.service_tier", {"stringValue": "scale"})), tenant=a),
        _otel_line(s(33, ("openai.response.service_tier", {"stringValue": " Flex"})), tenant=a),
        _otel_line(_attr(s(34), "gen_ai.provider.name", {"stringValue": "Vertex_AI"}), tenant=a),
        _otel_line(_attr(s(35), "gen_ai.provider.name", {"stringValue": ""}), s(36), tenant=a),
        _otel_line(s(37, ("gen_ai.response.model", {"stringValue": ""})), tenant=a),  # "" or the request model
        _otel_line(_attr(s(38), "gen_ai.request.model", {"intValue": "4"}), tenant=a),
        _otel_line(s(39, traceId=""), s(40, spanId=None), s(41, traceId=7), tenant=a),
        _otel_line(s(42), "not a span", tenant=a),
        _otel_line(s(43), tenant={"intValue": "7"}),
        _otel_line(s(44), tenant={"intValue": 7}),
        _otel_line(s(45), tenant={"stringValue": "zz"}),  # not in the map
        _otel_line(s(46), tenant={"stringValue": " a"}),
        _otel_line(s(47), tenant={"arrayValue": {"values": [a]}}),
        _otel_line(s(48)),  # no tenant
        _otel_line(s(49, ("tenant.id", None)), tenant=a),  # the span's key, with no value: no tenant
        _otel_line(s(50, ("tenant.id", {"stringValue": "b"}), ("tenant.id", a)), tenant=a),  # the last pair
        _otel_line(s(51), tenant=a, **{"app.feature": {"kvlistValue": {"values": []}}}),
        _otel_line(_attr(s(52), "gen_ai.operation.name", {"arrayValue": None}), tenant=a),  # a list: skipped
        _otel_line(s(53, attributes=5), tenant=a),
        _otel_line(s(54, ("tenant.id", {"stringValue": "b", "intValue": "7"})), tenant=a),  # the first kind
        _otel_line(
            _attr(s(55), "gen_ai.usage.cache_read.input_tokens", {"intValue": "99999999999999999999"}), tenant=a
        ),
        {**_otel_line(s(56), tenant=a), "resourceSpans": [5, *_otel_line(s(57), tenant=a)["resourceSpans"]]},
        {"resourceSpans": [{"scopeSpans": {"spans": [s(58)]}}]},  # scopeSpans not a list: no spans
        {"resourceSpans": {}},
        {"resourceSpans": []},
        [_otel_line(s(59), tenant=a)],
        "   ",
        "{not json",
        json.dumps(_otel_line(_attr(s(60), "gen_ai.usage.output_tokens", {"intValue": 0}), tenant=a)).replace(
            '{"intValue": 0}', '{"intValue": -0}'
        ),
        json.dumps(_otel_line(_attr(s(61), "gen_ai.usage.input_tokens", {"intValue": 100}), tenant=a)).replace(
            '{"intValue": 100}', '{"intValue": 1E2}'
        ),
        # mapped in SQL and quarantined: the raw text is Python's JSON, with its escapes
        _otel_line(
            s(62, ("openai.response.service_tier", {"stringValue": "scale"}), ("app.note", {"stringValue": 'é "q"'})),
            tenant=a,
        ),
    ]
    lookups = mapping(
        tenant_id={"field": "tenant.id", "map": {"a": "acme", "b": "globex", "7": "x"}},
        feature={"value": "assistant"},
        account_id={"field": "service.name"},
    )
    with caplog.at_level("INFO", logger="finops"):
        quarantine = _same_as_the_reader(tmp_path, "otel_genai", lookups, records)
    skipped = [m.split(": ", 1)[1] for m in caplog.messages if "skipped" in m]
    assert skipped == ["skipped 5 spans that are not model calls"] * 2  # the .jsonl file, then the .json file
    assert [(line, reason) for line, reason, _ in quarantine] == [
        (7, "gen_ai.usage.input_tokens -1 is negative"),
        (8, "missing gen_ai.usage.input_tokens"),
        (9, "missing gen_ai.usage.input_tokens"),
        (14, "missing gen_ai.usage.input_tokens"),
        (17, "missing occurred_at"),  # (mapped in SQL, as 21, 26, 29 and 56: the raw text is Python's JSON of the span)
        (18, "occurred_at '1970-01-01T00:00:01.793614+00:00' is before 2000-01-01 ([quality] earliest_usage_date)"),
        (
            19,
            f"occurred_at '2538-05-17T04:00:01.234567+00:00' is after {date.today() + timedelta(days=1)} "
            f"([quality] max_usage_days_ahead: 1 day(s) after the day of the run, {date.today()})",
        ),
        (21, "occurred_at '1970-01-01T00:00:00+00:00' is before 2000-01-01 ([quality] earliest_usage_date)"),
        (26, "service_tier 'scale' is not one of standard, batch, flex, priority"),
        (29, "missing provider"),
        (32, "missing traceId or spanId"),
        (32, "missing traceId or spanId"),
        (33, "not a valid JSON object"),
        (36, "tenant_id: tenant.id 'zz' is not in usage.sources[0].tenant_id.map"),
        (38, "tenant_id: 'tenant.id' is not a single value (key 'usage.sources[0].tenant_id')"),
        (39, "missing tenant_id: no 'tenant.id' in the record (key 'usage.sources[0].tenant_id')"),
        (40, "missing tenant_id: no 'tenant.id' in the record (key 'usage.sources[0].tenant_id')"),
        (46, "cache_read_tokens '99999999999999999999' is not a whole number"),
        (49, "not an OTLP JSON export (no resourceSpans)"),
        (51, "not an OTLP JSON export (no resourceSpans)"),
        (53, "not a valid JSON object"),
        (56, "service_tier 'scale' is not one of standard, batch, flex, priority"),
    ]
    # the lines SQL leaves to the reader: the others (1-5, 10, 12, 13, 15, 17, ...) were mapped in SQL
    text = (tmp_path / "export.jsonl").read_text()
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    con = duckdb.connect()
    con.register("lines", pl.DataFrame(lines, schema=["line_no", "line"], orient="row"))
    left = con.execute(
        f"select distinct line_no from ({mapped_spans_sql(lookups, 'lines')}) where not accepted order by 1"
    ).fetchall()
    read_by_the_reader = [
        6,
        7,
        8,
        9,
        11,
        14,
        16,
        18,
        19,
        20,
        24,
        27,
        32,
        33,
        36,
        37,
        38,
        39,
        40,
        43,
        46,
        49,
        51,
        53,
        55,
    ]
    assert [n for (n,) in left] == read_by_the_reader
