"""What the vendor usage readers share: a Record, the BadRecord that sends one to the quarantine, reading
whole-number counts and times out of parsed JSON, and our names for providers and service tiers.

A reader turns one parsed document (a log line, an API page, an OTLP export, a spend-log row) into Records:
canonical column -> value as the vendor reports it, plus where the config's lookups look for a field.
ingest/usage_exports.py applies the lookups and hands the rows to the canonical checks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.config import UsageMapping
from ingest.usage_canonical import REQUIRED_TEXT, UsageFileError

REQUIRED = (*REQUIRED_TEXT, "occurred_at")  # a lookup that finds nothing for these makes a bad record


class BadRecord(Exception):
    """A record a reader cannot map; the message is the quarantine reason."""


class NotBilled(Exception):
    """A record of a request the vendor did not bill and reports no usage for (an errored Message Batches request):
    skipped, counted and logged, not quarantined; the message is what the log counts."""


@dataclass(frozen=True)
class Record:
    values: dict[str, object] | None  # canonical column -> value; None when the record is bad
    find: Callable[[str], object]  # the value of a config lookup's `field` for this record
    raw: str | None = None  # the record as text when it is not the whole line
    error: str | None = None  # why the record cannot be mapped


@dataclass(frozen=True)
class Skipped:
    """A record that is not a model call (a tool span, a gateway cache hit): counted and logged, not staged."""

    why: str


def record(
    values_of: Callable[[], dict[str, object]], find: Callable[[str], object], raw: str | None = None
) -> Record | Skipped:
    """A Record of values_of(), a bad one with the reason values_of raised, or Skipped when it was not billed."""
    try:
        return Record(values=values_of(), find=find, raw=raw)
    except BadRecord as exc:
        return Record(values=None, find=find, raw=raw, error=str(exc))
    except NotBilled as exc:
        return Skipped(str(exc))


def get(obj: object, dotted: str) -> object:
    """obj["a"]["b"] for "a.b"; None when a step is missing or not an object."""
    for key in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def count(obj: object, dotted: str, *, required: bool = False) -> int | None:
    """The token count at obj's path `dotted` (see whole_number)."""
    return whole_number(get(obj, dotted), dotted, required=required)


def whole_number(value: object, name: str, *, required: bool = False) -> int | None:
    """A token count: a whole number >= 0 (a number, or digits in a string as in CSV and OTLP JSON)."""
    if value is None:
        if required:
            raise BadRecord(f"missing {name}")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif (
        isinstance(value, float)
        and value.is_integer()
        or isinstance(value, str)
        and re.fullmatch(r"\s*-?\d+\s*", value)
    ):
        n = int(value)
    else:
        raise BadRecord(f"{name} '{value}' is not a whole number")
    if n < 0:
        raise BadRecord(f"{name} {n} is negative")
    return n


def total(*counts: int | None) -> int:
    return sum(c or 0 for c in counts)


def from_unix(value: object, name: str, *, per_second: int = 1) -> str:
    """An ISO 8601 UTC time from a unix time (seconds, or nanoseconds with per_second=10**9)."""
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d+(\.\d+)?", text):
        raise BadRecord(f"{name} '{value}' is not a unix time")
    try:
        if "." in text:
            return datetime.fromtimestamp(float(text) / per_second, UTC).isoformat()
        seconds, part = divmod(int(text), per_second)  # whole numbers exactly (nanoseconds overflow a float)
        return (
            datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=part * 1_000_000 // per_second)
        ).isoformat()
    except (OverflowError, OSError, ValueError):
        raise BadRecord(
            f"{name} {value} is not a unix time in {'seconds' if per_second == 1 else 'nanoseconds'}"
        ) from None


def as_time(value: object, name: str) -> str | None:
    """An occurred_at value: ISO 8601 text as is (checked by the canonical rules), a number as unix seconds."""
    if value is None or isinstance(value, str) and not re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return value
    return from_unix(value, name)


# Vendor and instrumentation names of providers -> ours (the price sheets' provider column). OpenTelemetry
# gen_ai.provider.name / gen_ai.system values and LiteLLM custom_llm_provider values; others are kept lowercased.
PROVIDERS = {
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "google": "google",
    "aws.bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.openai": "azure",
    "az.ai.inference": "azure",
    "azure_ai": "azure",
    "text-completion-openai": "openai",
    "vertex_ai-language-models": "google",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "mistral_ai": "mistral",
    "x_ai": "xai",
    "ibm.watsonx.ai": "watsonx",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "cohere_chat": "cohere",
}

# Vendor service tiers -> ours; any other value is kept and the canonical rules quarantine it (e.g. OpenAI 'scale').
SERVICE_TIERS = {
    "default": "standard",
    "standard": "standard",
    "batch": "batch",
    "flex": "flex",
    "priority": "priority",
    "priority_on_demand": "priority",
}


def provider_name(value: object) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    name = str(value).strip().lower()
    return PROVIDERS.get(name, name)


def service_tier(value: object) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    tier = str(value).strip().lower()
    return SERVICE_TIERS.get(tier, tier)


def bucket_event_id(kind: str, start: object, end: object, dimensions: dict[str, object]) -> str:
    """The event_id of one result of an aggregated bucket: the same bucket and grouping keys give the same id,
    whatever file they are read from, so re-reading or overlapping exports count it once."""
    key = json.dumps([kind, start, end, dimensions], sort_keys=True, default=str)
    return f"{kind}:{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def check_bucket_lookups(mapping: UsageMapping, dimensions: tuple[str, ...], what: str, file: str) -> None:
    """An aggregated export has no per-request fields: its lookups may only read its grouping dimensions."""
    for column, lookup in mapping.lookups.items():
        if column in ("event_id", "occurred_at"):
            raise UsageFileError(
                f"{file}: {what} is aggregated: its {column} comes from the bucket; remove key "
                f"'{mapping.where}.{column}' or give this file its own [[usage.sources]]"
            )
        if lookup.field is not None and lookup.field not in dimensions:
            raise UsageFileError(
                f"{file}: {what} is aggregated and has no field '{lookup.field}' (key "
                f"'{mapping.where}.{column}.field'); map one of its grouping keys instead: "
                f'{", ".join(dimensions)}, e.g. {column} = {{ field = "{dimensions[0]}", '
                f"map = {{ ... }} }}"
            )


def logged_response(item: object, mapping: UsageMapping) -> dict:
    """The vendor's response in a log record: at mapping.response_field, or the record itself."""
    if not isinstance(item, dict):
        raise BadRecord("not a valid JSON object")
    response = get(item, mapping.response_field) if mapping.response_field else item
    if not isinstance(response, dict):
        raise BadRecord(f"no '{mapping.response_field}' object (key '{mapping.where}.response_field')")
    return response


def response_records(
    doc: object,
    mapping: UsageMapping,
    values_of: Callable[[dict], dict[str, object]],
    response_of: Callable[[object, UsageMapping], dict] = logged_response,
) -> Iterator[Record | Skipped]:
    """Records of per-request logs: each log record holds the vendor's response at mapping.response_field (or is
    it; `response_of` finds it instead of logged_response when the vendor wraps its responses); a JSON array holds
    several log records. Lookup fields are paths in the log record."""
    for item in doc if isinstance(doc, list) else [doc]:
        raw = json.dumps(item) if isinstance(doc, list) else None
        yield record(lambda i=item: values_of(response_of(i, mapping)), lambda f, i=item: get(i, f), raw)


def usage_api_records(
    doc: object,
    mapping: UsageMapping,
    file: str,
    *,
    what: str,
    dimensions: tuple[str, ...],
    bucket_values: Callable[[dict, dict], dict[str, object]],
    response_values: Callable[[dict], dict[str, object]],
    response_of: Callable[[object, UsageMapping], dict] = logged_response,
) -> Iterator[Record | Skipped]:
    """Records of a kind that reads both per-request logs (response_values of each response; see response_records)
    and pages of the vendor's aggregated usage API (bucket_values of each bucket's result; lookups read its
    grouping keys)."""
    if not is_bucket_page(doc):
        yield from response_records(doc, mapping, response_values, response_of)
        return
    check_bucket_lookups(mapping, dimensions, what, file)
    for bucket in doc["data"]:
        for result in bucket["results"]:
            yield record(
                lambda b=bucket, r=result: bucket_values(b, r), lambda f, r=result: r.get(f), json.dumps(result)
            )


def is_bucket_page(doc: object) -> bool:
    """A page of an aggregated usage API: {"data": [{start, end, "results": [...]}, ...], "has_more": ...}."""
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("data"), list)
        and "has_more" in doc
        and all(isinstance(b, dict) and isinstance(b.get("results"), list) for b in doc["data"])
    )
