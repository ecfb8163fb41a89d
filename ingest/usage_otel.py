"""kind = "otel_genai": OpenTelemetry spans in OTLP JSON (resourceSpans / scopeSpans / spans) with the GenAI
semantic-convention attributes: one record per model-call span.

A span is a model call when gen_ai.operation.name is chat, generate_content, text_completion or embeddings (or,
from instrumentations older than that attribute, when it has gen_ai.usage.* counts). Other spans (HTTP, tools,
agents with rolled-up usage) are skipped, so nothing is counted twice. Lookup fields are attribute names, read
from the span, then from its resource. The field-by-field mapping is in docs/usage_exports.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from core.config import UsageMapping
from ingest.vendor_records import (
    BadRecord,
    Record,
    Skipped,
    from_unix,
    provider_name,
    record,
    service_tier,
    whole_number,
)

MODEL_CALLS = ("chat", "generate_content", "text_completion", "embeddings")
NOT_MODEL_CALLS = "spans that are not model calls"  # what the log counts of the spans skipped
_ERROR = (2, "2", "STATUS_CODE_ERROR")  # span status code ERROR (an enum: a number in OTLP JSON)


def records(doc: object, mapping: UsageMapping, file: str) -> Iterator[Record | Skipped]:
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
        yield Record(values=None, find=lambda f: None, error="not an OTLP JSON export (no resourceSpans)")
        return
    for resource_spans in doc["resourceSpans"]:
        resource = attributes(get_list(resource_spans, "resource", "attributes"))
        for scope_spans in get_list(resource_spans, "scopeSpans"):
            for span in get_list(scope_spans, "spans"):
                if not isinstance(span, dict):
                    yield Record(
                        values=None, find=lambda f: None, raw=json.dumps(span), error="not a valid JSON object"
                    )
                    continue
                attrs = attributes(get_list(span, "attributes"))
                operation = attrs.get("gen_ai.operation.name")
                counted = "gen_ai.usage.input_tokens" in attrs or "gen_ai.usage.prompt_tokens" in attrs
                if operation not in MODEL_CALLS and (operation is not None or not counted):
                    yield Skipped(NOT_MODEL_CALLS)
                    continue
                yield record(
                    lambda s=span, a=attrs: _span(s, a),
                    lambda f, a=attrs, r=resource: a.get(f, r.get(f)),
                    json.dumps(span),
                )


def get_list(obj: object, *keys: str) -> list:
    for key in keys:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, list) else []


def attributes(pairs: list) -> dict[str, object]:
    """OTLP key/value attributes -> {key: Python value}; a pair whose key is not text is not an attribute."""
    return {p["key"]: any_value(p.get("value")) for p in pairs if isinstance(p, dict) and isinstance(p.get("key"), str)}


def any_value(value: object) -> object:
    """An OTLP AnyValue: {"stringValue": ...} | {"intValue": "12"} | {"arrayValue": {"values": [...]}} | ..."""
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "arrayValue":
        return [any_value(v) for v in get_list(inner, "values")]
    if kind == "kvlistValue":
        return attributes(get_list(inner, "values"))
    return inner  # intValue stays a string of digits (64-bit ints are strings in OTLP JSON): count() reads both


def _span(span: dict, attrs: dict[str, object]) -> dict[str, object]:
    # an embeddings call has input tokens only: the conventions give it no output count, so its output is 0
    embeddings = attrs.get("gen_ai.operation.name") == "embeddings"
    trace_id, span_id = span.get("traceId"), span.get("spanId")
    if not trace_id or not span_id:
        raise BadRecord("missing traceId or spanId")
    start = span.get("startTimeUnixNano")
    return {
        "event_id": f"{trace_id}-{span_id}",
        "occurred_at": None if start is None else from_unix(start, "startTimeUnixNano", per_second=10**9),
        "provider": provider_name(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")),
        "model": attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"),
        "service_tier": service_tier(attrs.get("openai.response.service_tier")),
        "status": "error" if _status_code(span) in _ERROR else "success",
        "input_tokens": _first_count(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "cache_read_tokens": _count(attrs, "gen_ai.usage.cache_read.input_tokens"),
        # no lifetime split in the conventions: every cache write is priced as a 5-minute write
        "cache_write_tokens": _count(attrs, "gen_ai.usage.cache_creation.input_tokens"),
        "output_tokens": _first_count(
            attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", required=not embeddings
        )
        or 0,
        "reasoning_tokens": _count(attrs, "gen_ai.usage.reasoning.output_tokens"),
    }


def _status_code(span: dict) -> object:
    """The span status's code; a status that is not an object has none."""
    status = span.get("status")
    return status.get("code") if isinstance(status, dict) else None


def _count(attrs: dict[str, object], name: str) -> int | None:
    return whole_number(attrs.get(name), name)  # attribute names are flat keys with dots in them


def _first_count(attrs: dict[str, object], name: str, deprecated: str, *, required: bool = True) -> int | None:
    """The count under its current attribute name, else under its deprecated one."""
    used = deprecated if deprecated in attrs and name not in attrs else name
    return whole_number(attrs.get(used), used, required=required)
