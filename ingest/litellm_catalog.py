"""LiteLLM's model price catalog (model_prices_and_context_window.json) -> price rows.

Which entries are kept (docs/prices_and_gpus.md):
- mode chat, completion, responses or embedding (image, audio, video, rerank, search, ... are not priced per
  token the way a usage record is);
- litellm_provider in PROVIDERS, named as our providers by ingest/vendor_records.py (gemini and
  vertex_ai-language-models -> google, together_ai -> together, bedrock_converse -> bedrock, ...); others
  (vertex_ai-anthropic_models, openrouter, the many smaller hosts) are skipped;
- the model is the key without LiteLLM's routing prefix ("gemini/gemini-2.5-pro" -> "gemini-2.5-pro",
  "together_ai/meta-llama/..." -> "meta-llama/..."); for providers whose model ids have no '/', a '/' left
  after that is a region or deployment scope ("azure/eu/gpt-4o", "bedrock/us-east-1/...") and is skipped;
- two entries naming the same (provider, model): the earlier litellm_provider in PROVIDERS wins, then the
  key that carried the routing prefix.
Price fields: input/output_cost_per_token, cache_read_input_token_cost (or input_cost_per_token_cache_hit),
cache_creation_input_token_cost (5-minute write), cache_creation_input_token_cost_above_1hr (1-hour write),
each optionally _above_<N>k_tokens (a long-context row from N x 1000 input tokens) and _batches, _priority or
_flex (that service tier). Per-image, per-second, audio, character and reasoning-token prices are not read.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

import polars as pl

from ingest.payload import PayloadError, load_json, per_million
from ingest.price_sheet import PRICE_SEEN_SCHEMA
from ingest.vendor_records import provider_name

log = logging.getLogger("finops")

# the litellm_provider values kept, named as our providers by ingest.vendor_records.provider_name; the order is
# the precedence between entries naming the same model
PROVIDERS = (
    "openai",
    "text-completion-openai",
    "anthropic",
    "gemini",
    "vertex_ai-language-models",
    "deepseek",
    "xai",
    "mistral",
    "codestral",
    "text-completion-codestral",
    "cohere_chat",
    "cohere",
    "together_ai",
    "fireworks_ai",
    "deepinfra",
    "groq",
    "zai",
    "moonshot",
    "cerebras",
    "perplexity",
    "bedrock_converse",
    "bedrock",
    "azure",
)
# routing prefixes of a key besides the litellm_provider's own name
ROUTE_ALIASES = {
    "vertex_ai-language-models": "vertex_ai",
    "bedrock_converse": "bedrock",
    "cohere_chat": "cohere",
    "text-completion-openai": "openai",
    "text-completion-codestral": "codestral",
}
# providers whose model ids are "org/model"
SLASHED_MODEL_IDS = {"together", "fireworks", "deepinfra", "groq"}
MODES = {"chat", "completion", "responses", "embedding"}

_PRICE_FIELD = re.compile(
    r"^(?P<base>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost|input_cost_per_token_cache_hit)"
    r"(?P<one_hour>_above_1hr)?(?:_above_(?P<thousands>\d+)k_tokens)?(?P<tier>_batches|_priority|_flex)?$"
)
_USAGE_TYPES = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "input_cost_per_token_cache_hit": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
}
_TIERS = {None: "standard", "_batches": "batch", "_priority": "priority", "_flex": "flex"}


def read_litellm_catalog(data: bytes) -> pl.DataFrame:
    doc = load_json(data)
    if not isinstance(doc, dict):
        raise PayloadError("expected a JSON object of model entries (LiteLLM's price catalog)")
    skipped: Counter[str] = Counter()
    chosen: dict[tuple[str, str], tuple[tuple[int, int], str, dict]] = {}
    for key, entry in doc.items():
        if not isinstance(entry, dict) or key == "sample_spec":
            continue
        litellm_provider = entry.get("litellm_provider")
        if litellm_provider not in PROVIDERS:
            skipped["of other providers"] += 1
            continue
        if entry.get("mode") not in MODES:
            skipped["not priced per token (mode)"] += 1
            continue
        provider = provider_name(litellm_provider)
        first, _, rest = key.partition("/")
        prefixed = bool(rest) and first in (litellm_provider, ROUTE_ALIASES.get(litellm_provider))
        model = rest if prefixed else key
        if "/" in model and provider not in SLASHED_MODEL_IDS:
            skipped["region- or deployment-scoped"] += 1
            continue
        rank = (PROVIDERS.index(litellm_provider), 0 if prefixed else 1)
        if (provider, model) in chosen:
            skipped["duplicates of a kept entry"] += 1
            if rank >= chosen[(provider, model)][0]:
                continue
        chosen[(provider, model)] = (rank, key, entry)

    rows = []
    for (provider, model), (_, key, entry) in sorted(chosen.items()):
        prices: dict[tuple[str, str, int], tuple[bool, float]] = {}
        for field, value in entry.items():
            m = _PRICE_FIELD.match(field)
            if m is None or value is None:
                continue
            usage_type = _USAGE_TYPES[m["base"]]
            if m["one_hour"]:
                if usage_type != "cache_write":
                    continue
                usage_type = "cache_write_1h"
            try:
                usd = per_million(value)
            except PayloadError:
                skipped["price fields that are not numbers"] += 1
                continue
            if usd is None or usd < 0:
                continue
            slot = (usage_type, _TIERS[m["tier"]], int(m["thousands"] or 0) * 1000)
            explicit = m["base"] != "input_cost_per_token_cache_hit"  # cache_read_input_token_cost wins
            if slot not in prices or explicit:
                prices[slot] = (explicit, usd)
        for (usage_type, tier, min_input_tokens), (_, usd) in sorted(prices.items()):
            rows.append((provider, model, usage_type, tier, min_input_tokens, usd, f"litellm:{key}", None))
    if not rows:
        raise PayloadError(
            "no token prices found (expected entries with litellm_provider, mode and "
            "input_cost_per_token / output_cost_per_token)"
        )
    log.info(
        "litellm_json: %d prices of %d models; skipped entries: %s",
        len(rows),
        len(chosen),
        ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())) or "none",
    )
    return pl.DataFrame(rows, schema=PRICE_SEEN_SCHEMA, orient="row")
