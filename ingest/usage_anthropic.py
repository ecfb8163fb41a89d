"""kind = "anthropic_usage": Anthropic usage, per request or aggregated.

- Per-request logs carrying a Messages API response (its `usage` object). Anthropic's input_tokens counts only
  the tokens after the last cache breakpoint: our input_tokens = input + cache_creation + cache_read.
- Message Batches results files (a line: {"custom_id", "result": {"type", "message" | "error"}}): a succeeded
  result's message is read as a Messages response, batch tier unless its usage names a tier; errored, expired and
  canceled results carry no usage and are not billed: skipped and counted, not quarantined.
- Pages of the Admin API usage report, GET /v1/organizations/usage_report/messages: one bucket result is one
  record with the bucket's counts; tenant and feature come from its grouping keys through the config, the account
  is its workspace_id (when grouped by workspace_id).
The field-by-field mapping is in docs/usage_exports.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from core.config import UsageMapping
from ingest.vendor_records import (
    BadRecord,
    NotBilled,
    Record,
    Skipped,
    bucket_event_id,
    count,
    get,
    logged_response,
    service_tier,
    total,
    usage_api_records,
)

# The grouping keys of a usage report result (non-null only for the keys the report was grouped by).
DIMENSIONS = (
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
)


# Where a Message Batches result holds its message, and the result types without one (Anthropic does not bill them).
BATCH_MESSAGE = "result.message"
NOT_BILLED = ("errored", "expired", "canceled")


def records(doc: object, mapping: UsageMapping, file: str) -> Iterator[Record | Skipped]:
    return usage_api_records(
        doc,
        mapping,
        file,
        what="an Anthropic usage report page",
        dimensions=DIMENSIONS,
        bucket_values=_report_result,
        response_values=_message,
        response_of=_response_of,
    )


def _response_of(item: object, mapping: UsageMapping) -> dict:
    """The Messages response of a log record: at response_field (logged_response), or, for a Message Batches
    result, its message. A batch result is known by its shape ({"custom_id", "result": {"type": ...}}): the log
    record itself when response_field is unset or "result.message", else the object response_field points into
    ("<path>.result.message")."""
    field = mapping.response_field
    if field in (None, BATCH_MESSAGE):
        batch = item
    elif field.endswith("." + BATCH_MESSAGE):
        batch = get(item, field.removesuffix("." + BATCH_MESSAGE))
    else:
        batch = None
    if not (
        isinstance(batch, dict)
        and "custom_id" in batch
        and isinstance(batch.get("result"), dict)
        and "type" in batch["result"]
    ):
        return logged_response(item, mapping)
    result = batch["result"]
    if result["type"] in NOT_BILLED:
        raise NotBilled(f"{result['type']} Message Batches results (not billed)")
    if result["type"] != "succeeded":
        raise BadRecord(
            f"result.type '{result['type']}' is not succeeded, {', '.join(NOT_BILLED[:-1])} or {NOT_BILLED[-1]}"
        )
    message = result.get("message")
    if not isinstance(message, dict):
        raise BadRecord(f"no {BATCH_MESSAGE} object")
    usage = message.get("usage")
    if not isinstance(usage, dict):
        return message  # (_message: no usage object)
    # the Batches API bills at the batch tier: a result whose usage does not name its tier is batch
    return {**message, "usage": {**usage, "service_tier": usage.get("service_tier") or "batch"}}


def _message(resp: dict) -> dict[str, object]:
    if not isinstance(resp.get("usage"), dict):
        raise BadRecord("no usage object")
    uncached = count(resp, "usage.input_tokens", required=True)
    cache_read = count(resp, "usage.cache_read_input_tokens")
    cache_creation = count(resp, "usage.cache_creation_input_tokens")
    if isinstance(resp["usage"].get("cache_creation"), dict):  # the write split by cache lifetime
        write_5m = count(resp, "usage.cache_creation.ephemeral_5m_input_tokens") or 0
        write_1h = count(resp, "usage.cache_creation.ephemeral_1h_input_tokens") or 0
        if cache_creation is not None and cache_creation != write_5m + write_1h:
            raise BadRecord(
                f"usage.cache_creation_input_tokens {cache_creation} is not ephemeral_5m_input_tokens "
                f"{write_5m} + ephemeral_1h_input_tokens {write_1h}"
            )
    else:  # older responses: one cache lifetime (5 minutes)
        write_5m, write_1h = cache_creation, None
    return {
        "event_id": resp.get("id"),
        "provider": "anthropic",
        "model": resp.get("model"),
        "service_tier": service_tier(resp["usage"].get("service_tier")),
        "input_tokens": total(uncached, write_5m, write_1h, cache_read),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": write_5m,
        "cache_write_1h_tokens": write_1h,
        "output_tokens": count(resp, "usage.output_tokens", required=True),
        "reasoning_tokens": count(resp, "usage.output_tokens_details.thinking_tokens"),
    }


def _report_result(bucket: dict, result: dict) -> dict[str, object]:
    if not isinstance(result.get("cache_creation"), dict):
        raise BadRecord("missing cache_creation")
    if result.get("model") is None:
        raise BadRecord("model is null: request the usage report grouped by model (group_by[]=model)")
    uncached = count(result, "uncached_input_tokens", required=True)
    write_5m = count(result, "cache_creation.ephemeral_5m_input_tokens", required=True)
    write_1h = count(result, "cache_creation.ephemeral_1h_input_tokens", required=True)
    cache_read = count(result, "cache_read_input_tokens", required=True)
    return {
        "event_id": bucket_event_id(
            "anthropic_usage",
            bucket.get("starting_at"),
            bucket.get("ending_at"),
            {d: result.get(d) for d in DIMENSIONS},
        ),
        "occurred_at": bucket.get("starting_at"),
        "provider": "anthropic",
        "model": result["model"],
        "account_id": result.get("workspace_id"),  # null unless the report was grouped by workspace_id
        "service_tier": service_tier(result.get("service_tier")),
        "input_tokens": total(uncached, write_5m, write_1h, cache_read),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": write_5m,
        "cache_write_1h_tokens": write_1h,
        "output_tokens": count(result, "output_tokens", required=True),
        "reasoning_tokens": None,
    }  # the report has no thinking split (it is inside output_tokens)
