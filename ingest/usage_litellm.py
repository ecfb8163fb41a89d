"""kind = "litellm_spend_logs": rows of the LiteLLM proxy's LiteLLM_SpendLogs table (schema.prisma), exported as
JSON (an array, or a /spend/logs page with `data`), JSON lines or CSV (metadata and request_tags as JSON text).

LiteLLM reports usage the OpenAI way whatever the provider: prompt_tokens includes cache reads and writes,
completion_tokens includes reasoning; the cache and reasoning split is in metadata.additional_usage_values.
Rows served from LiteLLM's own response cache (cache_hit True) made no provider call: they are skipped.
Lookup fields are paths in the row (metadata.*, request_tags, team_id, end_user, ...). The account is the row's
team_id, else its api_key (the hashed key).
The field-by-field mapping is in docs/usage_exports.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from core.config import UsageMapping
from ingest.vendor_records import BadRecord, Record, Skipped, count, get, provider_name, record, total

_USAGE = "metadata.additional_usage_values."


def records(doc: object, mapping: UsageMapping, file: str) -> Iterator[Record | Skipped]:
    if isinstance(doc, list):
        rows = doc
    elif isinstance(doc, dict) and isinstance(doc.get("data"), list) and "request_id" not in doc:
        rows = doc["data"]  # a page of the proxy's /spend/logs API
    else:
        rows = None  # the document is one row
    for row in [doc] if rows is None else rows:
        raw = None if rows is None else json.dumps(row, default=str)
        try:
            row = _decoded(row)
        except BadRecord as exc:
            yield Record(values=None, find=lambda f: None, raw=raw, error=str(exc))
            continue
        if str(row.get("cache_hit")).strip().lower() == "true":
            yield Skipped("LiteLLM response-cache hits (no provider call)")
            continue
        yield record(lambda r=row: _row(r), lambda f, r=row: get(r, f), raw)


def _decoded(row: object) -> dict:
    """The row with its JSON columns (metadata, request_tags) decoded, as they are text in CSV exports."""
    if not isinstance(row, dict):
        raise BadRecord("not a valid JSON object")
    row = dict(row)
    for column in ("metadata", "request_tags"):
        if isinstance(row.get(column), str) and row[column].strip():
            try:
                row[column] = json.loads(row[column])
            except json.JSONDecodeError:
                raise BadRecord(f"{column} is not valid JSON") from None
    return row


def provider_and_model(row: dict) -> tuple[str | None, str | None]:
    """The row's provider (ours) and model: custom_llm_provider, or the model's routing prefix."""
    provider = row.get("custom_llm_provider") or None
    model = row.get("model") or row.get("model_group") or None
    if model and "/" in model and (provider is None or model.startswith(f"{provider}/")):
        provider, model = model.split("/", 1)  # "anthropic/claude-sonnet-4-6" -> anthropic, claude-sonnet-4-6
    return provider_name(provider), model


def account(row: dict) -> object:
    """The row's account: its team_id, else its api_key (the key's hash); the billing kind litellm_spend_logs names
    the same account, so a bill line reconciles against the usage of its team or key."""
    return row.get("team_id") or row.get("api_key") or None


def _row(row: dict) -> dict[str, object]:
    provider, model = provider_and_model(row)
    cache_read = count(row, _USAGE + "prompt_tokens_details.cached_tokens")
    if cache_read is None:
        cache_read = count(row, _USAGE + "cache_read_input_tokens")
    cache_write = count(row, _USAGE + "cache_creation_input_tokens")
    if cache_write is None:
        cache_write = count(row, _USAGE + "prompt_tokens_details.cache_creation_tokens")
    write_1h = count(row, _USAGE + "prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens")
    if write_1h is not None and write_1h > (cache_write or 0):
        raise BadRecord(f"ephemeral_1h_input_tokens {write_1h} > cache_creation_input_tokens {cache_write or 0}")
    status = row.get("status") or get(row, "metadata.status")
    return {
        "event_id": row.get("request_id"),
        "occurred_at": row.get("startTime"),
        "provider": provider,
        "model": model,
        "account_id": account(row),
        "status": "error" if status == "failure" else "success",
        "input_tokens": count(row, "prompt_tokens", required=True),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": None if cache_write is None else cache_write - total(write_1h),
        "cache_write_1h_tokens": write_1h,
        "output_tokens": count(row, "completion_tokens", required=True),
        "reasoning_tokens": count(row, _USAGE + "completion_tokens_details.reasoning_tokens"),
    }
