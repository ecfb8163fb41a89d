"""kind = "openai_usage": OpenAI usage, per request or aggregated.

- Per-request logs carrying a Chat Completions or Responses API response (its `usage` object): prompt/input
  tokens include cached and cache-write tokens, completion/output tokens include reasoning tokens.
- Pages of the organization Usage API, GET /v1/organization/usage/completions: one bucket result is one
  record with the bucket's counts; tenant and feature come from its grouping keys through the config, the account
  is its project_id (when grouped by project_id).
The field-by-field mapping is in docs/usage_exports.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.config import UsageMapping
from ingest.vendor_records import (
    BadRecord,
    Record,
    bucket_event_id,
    count,
    from_unix,
    service_tier,
    total,
    usage_api_records,
)

# The grouping keys of a Usage API result (non-null only for the keys the export was grouped by).
DIMENSIONS = ("project_id", "api_key_id", "user_id", "model", "batch", "service_tier")
_STATUSES = {"failed": "error", "cancelled": "cancelled"}  # Responses API status; any other is a success


def records(doc: object, mapping: UsageMapping, file: str) -> Iterator[Record]:
    return usage_api_records(
        doc,
        mapping,
        file,
        what="an OpenAI Usage API page",
        dimensions=DIMENSIONS,
        bucket_values=_bucket_result,
        response_values=_response,
    )


def _response(resp: dict) -> dict[str, object]:
    if not isinstance(resp.get("usage"), dict):
        raise BadRecord("no usage object")
    if "prompt_tokens" in resp["usage"]:  # Chat Completions (and the legacy Completions API)
        tokens = {
            "input_tokens": count(resp, "usage.prompt_tokens", required=True),
            "cache_read_tokens": count(resp, "usage.prompt_tokens_details.cached_tokens"),
            "cache_write_tokens": count(resp, "usage.prompt_tokens_details.cache_write_tokens"),
            "output_tokens": count(resp, "usage.completion_tokens", required=True),
            "reasoning_tokens": count(resp, "usage.completion_tokens_details.reasoning_tokens"),
        }
    else:  # Responses API
        tokens = {
            "input_tokens": count(resp, "usage.input_tokens", required=True),
            "cache_read_tokens": count(resp, "usage.input_tokens_details.cached_tokens"),
            "cache_write_tokens": count(resp, "usage.input_tokens_details.cache_write_tokens"),
            "output_tokens": count(resp, "usage.output_tokens", required=True),
            "reasoning_tokens": count(resp, "usage.output_tokens_details.reasoning_tokens"),
        }
    created = resp.get("created", resp.get("created_at"))
    status = resp.get("status")  # any value but failed and cancelled is a success
    return {
        "event_id": resp.get("id"),
        "occurred_at": None if created is None else from_unix(created, "created"),
        "provider": "openai",
        "model": resp.get("model"),
        "service_tier": service_tier(resp.get("service_tier")),
        "status": _STATUSES.get(status, "success") if isinstance(status, str) else "success",
        **tokens,
    }


def _bucket_result(bucket: dict, result: dict) -> dict[str, object]:
    if "input_uncached_tokens" in result or "input_cache_write_tokens" in result:
        # current shape: input_tokens counts every modality, cached and cache-write tokens included
        tokens = {
            "input_tokens": count(result, "input_tokens", required=True),
            "cache_read_tokens": count(result, "input_cached_tokens"),
            "cache_write_tokens": count(result, "input_cache_write_tokens"),
            "output_tokens": count(result, "output_tokens", required=True),
        }
    else:
        # legacy shape (before July 2026): input/output_tokens were text only, audio counted beside them
        tokens = {
            "input_tokens": total(count(result, "input_tokens", required=True), count(result, "input_audio_tokens")),
            "cache_read_tokens": count(result, "input_cached_tokens"),
            "output_tokens": total(count(result, "output_tokens", required=True), count(result, "output_audio_tokens")),
        }
    if result.get("model") is None:
        raise BadRecord("model is null: export the Usage API grouped by model (group_by=model)")
    start = bucket.get("start_time")
    return {
        "event_id": bucket_event_id(
            "openai_usage", start, bucket.get("end_time"), {d: result.get(d) for d in DIMENSIONS}
        ),
        "occurred_at": from_unix(start, "start_time"),
        "provider": "openai",
        "model": result["model"],
        "account_id": result.get("project_id"),  # null unless the export was grouped by project_id
        "service_tier": "batch" if result.get("batch") is True else service_tier(result.get("service_tier")),
        "reasoning_tokens": None,  # the Usage API has no reasoning split (it is inside output_tokens)
        **tokens,
    }
