"""kind = "gemini_usage": per-request logs carrying a Gemini generateContent response (its `usageMetadata`).

promptTokenCount already includes cachedContentTokenCount; thoughtsTokenCount is billed as output but is
not inside candidatesTokenCount, so our output_tokens = candidates + thoughts and reasoning_tokens = thoughts;
toolUsePromptTokenCount (tool results fed back to the model) is outside promptTokenCount and is added to
input_tokens. The API omits a count that is 0 (proto3 JSON), so an absent count is 0.
The field-by-field mapping is in docs/usage_exports.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.config import UsageMapping
from ingest.vendor_records import BadRecord, Record, count, response_records, total


def records(doc: object, mapping: UsageMapping, file: str) -> Iterator[Record]:
    yield from response_records(doc, mapping, _response)


def _response(resp: dict) -> dict[str, object]:
    if not isinstance(resp.get("usageMetadata"), dict):
        raise BadRecord("no usageMetadata object")
    thoughts = count(resp, "usageMetadata.thoughtsTokenCount") or 0
    return {
        "event_id": resp.get("responseId"),
        "occurred_at": resp.get("createTime"),
        "provider": "google",
        "model": resp.get("modelVersion"),
        "input_tokens": total(
            count(resp, "usageMetadata.promptTokenCount"), count(resp, "usageMetadata.toolUsePromptTokenCount")
        ),
        "cache_read_tokens": count(resp, "usageMetadata.cachedContentTokenCount") or 0,
        "output_tokens": total(count(resp, "usageMetadata.candidatesTokenCount"), thoughts),
        "reasoning_tokens": thoughts,
    }
