"""OpenRouter's model list (GET /api/v1/models) -> price rows under provider "openrouter".

Why "openrouter" and not the upstream provider: a call made through OpenRouter is billed by OpenRouter, and its
usage record names provider openrouter and OpenRouter's model id ("anthropic/claude-sonnet-4.5", with its
dots); the same model called directly is another price key (anthropic, "claude-sonnet-4-5") that a contract
sheet may discount. Recording OpenRouter's list under the upstream names would let a catalog placed later in the
config silently override negotiated direct prices, and would not match the upstream's model ids anyway.

Mapping (USD per token, as strings): prompt -> input, completion -> output, input_cache_read -> cache_read,
input_cache_write -> cache_write, input_cache_write_1h -> cache_write_1h; an override with min_prompt_tokens N
-> rows with min_input_tokens N. An id ending in ":batch" prices the batch tier of the id without it; other
variants (":free", ":nitro", ...) are model ids of their own. Skipped: models with a negative price (dynamic
routers such as openrouter/auto), overrides by time of day (utc_start / utc_end), per-request, image, audio,
web-search and reasoning-token prices. A cache price of "0" while the prompt price is not 0 means "no cache
price" (OpenRouter lists 0 for models without caching): the cost rules then fall back to the input price.
"""

from __future__ import annotations

import logging
from collections import Counter

import polars as pl

from ingest.payload import PayloadError, load_json, per_million
from ingest.price_sheet import PRICE_SEEN_SCHEMA

log = logging.getLogger("finops")

FIELDS = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
    "input_cache_write_1h": "cache_write_1h",
}
CACHE_FIELDS = ("input_cache_read", "input_cache_write", "input_cache_write_1h")


def read_openrouter_models(data: bytes) -> pl.DataFrame:
    doc = load_json(data)
    models = doc.get("data") if isinstance(doc, dict) else None
    if not isinstance(models, list):
        raise PayloadError("expected a JSON object with a 'data' list of models (OpenRouter's model list)")
    skipped: Counter[str] = Counter()
    rows: dict[tuple, tuple] = {}
    for model in models:
        model_id = model.get("id") if isinstance(model, dict) else None
        pricing = model.get("pricing") if isinstance(model, dict) else None
        if not isinstance(model_id, str) or not isinstance(pricing, dict):
            skipped["without an id or pricing"] += 1
            continue
        name, tier = (model_id[: -len(":batch")], "batch") if model_id.endswith(":batch") else (model_id, "standard")
        try:
            bands = [(0, pricing)]
            overrides = pricing.get("overrides") or []
            for override in overrides if isinstance(overrides, list) else [overrides]:
                if not isinstance(override, dict):
                    raise TypeError("an override is not an object")
                conditions = {key for key, value in override.items() if not isinstance(value, str)}
                if conditions != {"min_prompt_tokens"}:  # e.g. utc_start / utc_end: prices by time of day
                    skipped["overrides other than min_prompt_tokens (kept the base prices)"] += 1
                    continue
                bands.append((int(override["min_prompt_tokens"]), override))
            prices = [
                (threshold, FIELDS[field], per_million(band.get(field)), field)
                for threshold, band in bands
                for field in FIELDS
            ]
        except (PayloadError, TypeError, ValueError):
            skipped["with prices that are not numbers (or overrides that are not objects)"] += 1
            continue
        if any(usd is not None and usd < 0 for _, _, usd, _ in prices):
            skipped["with a dynamic (negative) price"] += 1
            continue
        prompt = {threshold: usd for threshold, usage_type, usd, _ in prices if usage_type == "input"}
        for threshold, usage_type, usd, field in prices:
            if usd is None or (field in CACHE_FIELDS and usd == 0 and prompt.get(threshold)):
                continue
            rows[(name, usage_type, tier, threshold)] = (
                "openrouter",
                name,
                usage_type,
                tier,
                threshold,
                usd,
                f"openrouter:{model_id}",
                None,
            )
    if not rows:
        raise PayloadError("no token prices found (expected models with pricing.prompt / pricing.completion)")
    log.info(
        "openrouter_json: %d prices of %d models; skipped: %s",
        len(rows),
        len(models),
        ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())) or "none",
    )
    return pl.DataFrame(sorted(rows.values()), schema=PRICE_SEEN_SCHEMA, orient="row")
