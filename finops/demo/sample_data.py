"""Seeded, realistic canonical usage events (docs/spec.md#usage-record) for demos, tests and benchmarks.

    generate_usage(out_dir, start, days, events_per_day, seed=7, fmt="jsonl", gzip=False, bad_lines=True)
    python -m finops.demo.sample_data --out DIR --start YYYY-MM-DD --days N --events-per-day N \
        [--seed S] [--format jsonl|csv|parquet] [--gzip] [--no-bad-lines]

One file per UTC day, ``usage-YYYY-MM-DD.<jsonl|csv|parquet>[.gz]`` (Parquet is never gzipped; it is
zstd-compressed inside). Each file holds:

* exactly ``events_per_day`` distinct, valid events (one per LLM call attempt), time-ordered within
  blocks of about 1M rows;
* 0.2% (at least 1 per ~1M-row block) verbatim duplicate lines (same event_id, same content), each placed
  after its original in the same file;
* with ``bad_lines`` exactly 6 broken records (one of each kind, see ``BAD_KINDS``) with fresh event_ids.

Everything is deterministic for (seed, date, events_per_day): every day is seeded from (seed, date) only,
so a day's content does not depend on how many days one call generates. The one exception is the
deliberate anomaly: the 10th day of each generated range (``SPIKE_DAY_OFFSET``) multiplies every token
count of tenant ``globex`` by 4, so its spend jumps about 4x for that day.

What the data looks like
------------------------
* 6 tenants with skewed volume (acme 34% .. stark 6%), 7 features with per-tenant mixes and a typical
  model set per feature.
* Weekday/weekend and hour-of-day seasonality. The event count is always exactly ``events_per_day``; on
  weekends the interactive features (chat, agents, codegen) lose share to batch-like pipelines
  (extract, summarize) and prompts are ~20% shorter, so weekend spend is visibly lower.
* Agent tasks (features support-agent and codegen): task_id ``task-<16 hex>``, 3-12 logical calls per
  task over a few minutes, one model per task, the prompt growing at each step. A failed attempt
  (error / timeout / rate_limited) is retried with attempt 2, 3, 4 and a new event_id; about 4% of
  tasks end with a failed last attempt. Tasks start no later than 23:00 UTC, so they end the same day.
  Non-agent calls have no task_id; about 1.4% of them fail (attempt 1, no retry).
* Token accounting follows docs/spec.md#usage-record: input_tokens includes cache reads and writes, output_tokens
  includes reasoning. rate_limited attempts carry 0 tokens, error attempts 0 output tokens, timeout /
  cancelled attempts a partial output.
* Caching: Anthropic calls mostly read a large cached prefix and write the new suffix (agents: the first
  step writes the prefix, the next steps read it), some with 1-hour writes; OpenAI (128-token steps,
  prompts >= 1024), Gemini and DeepSeek calls sometimes read from cache. Providers without a cache
  write concept have cache_write_* null; self_hosted and mistral have all cache columns null.
* reasoning_tokens is set for o3, gpt-5 and claude-opus-4-1 (0 when Opus runs without thinking),
  null for every other model.
* service_tier: ~5% batch on extract / summarize, ~1% flex on OpenAI, ~0.5% priority on OpenAI /
  Anthropic, else standard; about 30% of standard calls leave it empty (=> standard).
* Long context: ~1% of gemini-2.5-pro calls above 200,000 input tokens and ~0.3% at exactly 200,000
  (the edge, not above); ~0.3% of claude-sonnet-4-6 calls above 200,000. Each day has at least one
  of each whenever that model occurs.
* Unpriced model: provider mistral / mistral-large-2411 on ~1% of calls.
* Self-hosted: provider self_hosted / llama-3.3-70b, deployment_id ``llama-70b-prod``, ~8% of calls,
  only between 08:00 and 20:00 UTC so the night hours are idle.

Null conventions: JSONL writes ``null`` for an empty optional value (the key is present); CSV writes an
empty cell; Parquet a null. In Parquet occurred_at is a ``timestamp[ms, UTC]`` column, in JSONL / CSV an
ISO 8601 string with millisecond precision and a ``Z``.

Performance: fully vectorised (numpy + pyarrow, written with polars / pyarrow), generated and written in
blocks of ~1M rows per day, so memory stays bounded whatever ``events_per_day`` is.
"""

from __future__ import annotations

import argparse
import csv
import gzip as _gzip
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.vocabulary import SERVICE_TIERS, STATUSES

__all__ = ["generate_usage", "main", "BAD_KINDS", "SPIKE_DAY_OFFSET", "SPIKE_TENANT"]

FORMATS = ("jsonl", "csv", "parquet")

CHUNK_ROWS = 1_000_000  # rows generated and written per block
WRITE_SLICE_ROWS = 200_000  # rows serialised per write call
DUPLICATE_RATE = 0.002  # share of rows repeated verbatim later in the file
SPIKE_DAY_OFFSET = 9  # the 10th day of a generated range ...
SPIKE_TENANT = "globex"  # ... has this tenant's tokens (so its spend) multiplied ...
SPIKE_FACTOR = 4  # ... by this factor
GZIP_LEVEL = 3  # fast; .gz files are ~8x smaller than the JSONL
BAD_KINDS = (
    "unreadable",  # jsonl: truncated JSON line; csv: input_tokens '12k'; parquet: output_tokens < 0
    "negative_input_tokens",
    "cache_read_above_input",
    "reasoning_above_output",
    "missing_tenant_id",
    "unparseable_occurred_at",  # 'yesterday-ish' (parquet: null, the column is a timestamp there)
)

# ----------------------------------------------------------------------------- the business
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")
TENANT_SHARE = np.array([0.34, 0.22, 0.16, 0.12, 0.10, 0.06])
FEATURES = ("search", "rerank", "chat", "summarize", "support-agent", "extract", "codegen")
F = {name: i for i, name in enumerate(FEATURES)}
AGENT_FEATURES = (F["support-agent"], F["codegen"])
NON_AGENT_FEATURES = tuple(i for i in range(len(FEATURES)) if i not in AGENT_FEATURES)

# share of each tenant's calls per feature (rows: TENANTS, columns: FEATURES)
TENANT_FEATURE_MIX = np.array(
    [
        # search rerank chat summ  agent extr  codegen
        [0.30, 0.15, 0.20, 0.10, 0.15, 0.05, 0.05],  # acme
        [0.10, 0.05, 0.30, 0.15, 0.25, 0.10, 0.05],  # globex
        [0.10, 0.05, 0.20, 0.10, 0.05, 0.15, 0.35],  # initech
        [0.15, 0.10, 0.10, 0.30, 0.00, 0.35, 0.00],  # umbrella
        [0.35, 0.25, 0.20, 0.10, 0.00, 0.00, 0.10],  # hooli
        [0.00, 0.00, 0.25, 0.10, 0.20, 0.15, 0.30],  # stark
    ]
)
WEEKEND_FEATURE_FACTOR = np.array([0.7, 0.7, 0.35, 1.0, 0.35, 1.0, 0.3])
WEEKEND_TOKEN_SCALE = 0.8

# (provider, model); deployment_id only for self-hosted
MODELS = (
    ("anthropic", "claude-sonnet-4-6"),  # 0
    ("anthropic", "claude-haiku-4-5"),  # 1
    ("anthropic", "claude-opus-4-1"),  # 2
    ("openai", "gpt-5"),  # 3
    ("openai", "gpt-5-mini"),  # 4
    ("openai", "gpt-4o-mini"),  # 5
    ("openai", "o3"),  # 6
    ("google", "gemini-2.5-pro"),  # 7
    ("google", "gemini-2.5-flash"),  # 8
    ("deepseek", "deepseek-chat"),  # 9
    ("mistral", "mistral-large-2411"),  # 10  unpriced
    ("self_hosted", "llama-3.3-70b"),  # 11
)
M = {model: i for i, (_, model) in enumerate(MODELS)}
SONNET, OPUS, GPT5, O3, GEMINI_PRO, MISTRAL, LLAMA = (
    M["claude-sonnet-4-6"],
    M["claude-opus-4-1"],
    M["gpt-5"],
    M["o3"],
    M["gemini-2.5-pro"],
    M["mistral-large-2411"],
    M["llama-3.3-70b"],
)
PROVIDERS = ("anthropic", "openai", "google", "deepseek", "mistral", "self_hosted")
MODEL_PROVIDER = np.array([PROVIDERS.index(p) for p, _ in MODELS])
ANTHROPIC, OPENAI, GOOGLE, DEEPSEEK = 0, 1, 2, 3
SELF_HOSTED_DEPLOYMENT = "llama-70b-prod"
SELF_HOSTED_SHARE = 0.08
MISTRAL_SHARE = 0.01
BUSINESS_HOURS = (8, 20)  # self-hosted traffic only in [08:00, 20:00) UTC

# typical models per feature (before the self-hosted / mistral share is carved out)
FEATURE_MODELS = {
    F["search"]: {"gpt-4o-mini": 0.40, "gemini-2.5-flash": 0.30, "claude-haiku-4-5": 0.20, "deepseek-chat": 0.10},
    F["rerank"]: {"gpt-4o-mini": 0.45, "gemini-2.5-flash": 0.35, "claude-haiku-4-5": 0.20},
    F["chat"]: {
        "claude-sonnet-4-6": 0.35,
        "gpt-5": 0.15,
        "gpt-5-mini": 0.20,
        "gemini-2.5-pro": 0.15,
        "claude-haiku-4-5": 0.10,
        "deepseek-chat": 0.05,
    },
    F["summarize"]: {
        "claude-haiku-4-5": 0.30,
        "gemini-2.5-flash": 0.25,
        "gpt-5-mini": 0.15,
        "gemini-2.5-pro": 0.15,
        "claude-sonnet-4-6": 0.10,
        "deepseek-chat": 0.05,
    },
    F["extract"]: {
        "gpt-4o-mini": 0.35,
        "gemini-2.5-flash": 0.25,
        "claude-haiku-4-5": 0.20,
        "deepseek-chat": 0.10,
        "gpt-5-mini": 0.10,
    },
    F["support-agent"]: {
        "claude-sonnet-4-6": 0.45,
        "claude-haiku-4-5": 0.15,
        "gpt-5": 0.15,
        "gpt-5-mini": 0.10,
        "o3": 0.05,
        "claude-opus-4-1": 0.10,
    },
    F["codegen"]: {
        "claude-sonnet-4-6": 0.45,
        "claude-opus-4-1": 0.20,
        "gpt-5": 0.10,
        "o3": 0.10,
        "deepseek-chat": 0.10,
        "gemini-2.5-pro": 0.05,
    },
}
# feature -> (median input, input sigma, median output, output sigma, input growth per agent step)
FEATURE_TOKENS = {
    F["search"]: (900, 0.5, 80, 0.6, 0),
    F["rerank"]: (2200, 0.4, 25, 0.4, 0),
    F["chat"]: (2800, 0.8, 350, 0.7, 0),
    F["summarize"]: (7000, 0.7, 320, 0.5, 0),
    F["support-agent"]: (5500, 0.4, 280, 0.6, 1800),
    F["extract"]: (3500, 0.6, 220, 0.5, 0),
    F["codegen"]: (11000, 0.5, 700, 0.7, 3500),
}
OUTPUT_FACTOR = np.ones(len(MODELS))
OUTPUT_FACTOR[[O3, GPT5, OPUS]] = (3.0, 2.2, 1.4)
MAX_INPUT = 1_000_000

SUCCESS, ERROR, TIMEOUT, RATE_LIMITED, CANCELLED = range(5)
NON_AGENT_STATUS_P = np.array([0.986, 0.006, 0.003, 0.004, 0.001])
RETRY_STATUS_P = np.array([0.0, 0.30, 0.20, 0.50, 0.0])  # a failed attempt that is retried
FINAL_FAIL_STATUS_P = np.array([0.0, 0.50, 0.30, 0.0, 0.20])  # the last attempt of a failed task
ATTEMPTS_P = np.array([0.90, 0.07, 0.025, 0.005])  # attempts per logical agent call: 1..4
TASK_FAIL_RATE = 0.04

# calls per UTC hour on a weekday (Europe + Americas business day); weekends are flatter
HOUR_WEIGHTS = np.array(
    [
        0.60,
        0.45,
        0.35,
        0.30,
        0.30,
        0.35,
        0.50,
        0.80,
        1.20,
        1.50,
        1.70,
        1.80,
        1.80,
        1.90,
        2.00,
        2.00,
        1.90,
        1.70,
        1.40,
        1.20,
        1.00,
        0.90,
        0.80,
        0.70,
    ]
)

_MS_HOUR = 3_600_000
_MS_DAY = 86_400_000
_SALT_DAY, _SALT_CHUNK, _SALT_EVENT, _SALT_TASK = 0x5EED, 0xC4A2, 0x0E7E, 0x7A5C


# ----------------------------------------------------------------------------- helpers
def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijection on uint64 that looks random: distinct inputs give distinct ids."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _ids(prefix: str, keys: np.ndarray) -> pa.Array:
    """'<prefix><16 hex>' strings for uint64 keys, built as one ASCII buffer (no per-row Python)."""
    b = keys.astype(">u8").view(np.uint8).reshape(-1, 8)
    p = np.frombuffer(prefix.encode(), dtype=np.uint8)
    mat = np.empty((len(keys), len(p) + 16), dtype=np.uint8)
    mat[:, : len(p)] = p
    mat[:, len(p) :: 2] = _HEX[b >> 4]
    mat[:, len(p) + 1 :: 2] = _HEX[b & 15]
    return _ascii(mat)


def _ascii(mat: np.ndarray) -> pa.Array:
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat)))


def _iso_times(day: date, ms: np.ndarray) -> pa.Array:
    """'YYYY-MM-DDTHH:MM:SS.mmmZ' for milliseconds since midnight UTC of `day`."""
    n = len(ms)
    mat = np.empty((n, 24), dtype=np.uint8)
    mat[:, :11] = np.frombuffer(f"{day.isoformat()}T".encode(), dtype=np.uint8)
    zero = np.uint8(48)
    hh, rem = np.divmod(ms, _MS_HOUR)
    mm, rem = np.divmod(rem, 60_000)
    ss, mmm = np.divmod(rem, 1000)
    for col, (val, width) in ((11, (hh, 2)), (14, (mm, 2)), (17, (ss, 2)), (20, (mmm, 3))):
        for k in range(width):
            mat[:, col + width - 1 - k] = (val // 10**k % 10).astype(np.uint8) + zero
    mat[:, 13] = mat[:, 16] = ord(":")
    mat[:, 19] = ord(".")
    mat[:, 23] = ord("Z")
    return _ascii(mat)


def _choice(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _lookup(names, codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    idx = pa.array(codes.astype(np.int32), mask=None if valid is None else ~valid)
    return pc.take(pa.array(list(names), type=pa.large_string()), idx)


def _int_col(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    return pa.array(values.astype(np.int64), type=pa.int64(), mask=None if valid is None else ~valid)


# ----------------------------------------------------------------------------- one day
@dataclass(frozen=True)
class _Day:
    day: date
    seed: int
    hour_w: np.ndarray  # (24,) probabilities
    cell_p: np.ndarray  # (tenants, features) probability of a call
    p_agent: float
    token_scale: float
    spike_tenant: int  # -1 when no spike

    @property
    def key(self) -> int:
        return self.day.toordinal()


def _day_context(day: date, seed: int, spike: bool) -> _Day:
    weekend = day.weekday() >= 5
    hour_w = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
    cell = TENANT_SHARE[:, None] * TENANT_FEATURE_MIX
    if weekend:
        hour_w = 0.5 * hour_w + 0.5 / 24
        cell = cell * WEEKEND_FEATURE_FACTOR[None, :]
    cell = cell / cell.sum()
    return _Day(
        day=day,
        seed=seed,
        hour_w=hour_w,
        cell_p=cell,
        p_agent=float(cell[:, list(AGENT_FEATURES)].sum()),
        token_scale=WEEKEND_TOKEN_SCALE if weekend else 1.0,
        spike_tenant=TENANTS.index(SPIKE_TENANT) if spike else -1,
    )


def _sample_cells(rng, ctx: _Day, features: tuple[int, ...], size: int) -> tuple[np.ndarray, np.ndarray]:
    sub = ctx.cell_p[:, list(features)]
    flat = _choice(rng, sub.ravel(), size)
    tenant, fi = np.divmod(flat, len(features))
    return tenant, np.asarray(features)[fi]


def _sample_models(rng, feature: np.ndarray) -> np.ndarray:
    model = np.zeros(len(feature), dtype=np.int64)
    for f, mix in FEATURE_MODELS.items():
        mask = feature == f
        k = int(mask.sum())
        if k:
            ids = np.array([M[m] for m in mix])
            model[mask] = ids[_choice(rng, np.array(list(mix.values())), k)]
    return model


def _chunk(ctx: _Day, hours: np.ndarray, n_c: int, chunk_no: int, first: bool) -> dict:
    """Generate n_c valid events whose calls start in `hours`; returns sorted column arrays."""
    rng = np.random.default_rng([_SALT_CHUNK, ctx.seed, ctx.key, chunk_no])
    hw = ctx.hour_w[hours]

    # --- agent tasks: whole tasks only, started before 23:00 ----------------------------------
    task_hw = np.where(hours < 23, hw, 0.0)
    a_target = int(rng.binomial(n_c, ctx.p_agent)) if task_hw.sum() > 0 else 0
    mean_events = 7.5 * float(np.dot(ATTEMPTS_P, np.arange(1, 5)))
    n_t = int(a_target / mean_events * 1.2) + 8
    while True:
        sizes = rng.integers(3, 13, n_t)
        attempts_per_call = _choice(rng, ATTEMPTS_P, int(sizes.sum())) + 1
        call_task = np.repeat(np.arange(n_t), sizes)
        ev_per_task = np.bincount(call_task, weights=attempts_per_call, minlength=n_t).astype(np.int64)
        cum = np.cumsum(ev_per_task)
        if cum[-1] >= a_target:
            break
        n_t *= 2
    n_tasks = int(np.searchsorted(cum, a_target, side="right"))
    n_calls = int(sizes[:n_tasks].sum())
    sizes, attempts_per_call, call_task = sizes[:n_tasks], attempts_per_call[:n_calls], call_task[:n_calls]
    n_agent = int(cum[n_tasks - 1]) if n_tasks else 0

    t_tenant, t_feature = _sample_cells(rng, ctx, AGENT_FEATURES, n_tasks)
    t_model = _sample_models(rng, t_feature)
    t_hour = hours[_choice(rng, task_hw, n_tasks)] if n_tasks else np.zeros(0, np.int64)
    t_start = t_hour * _MS_HOUR + rng.integers(0, _MS_HOUR, n_tasks)
    t_fails = rng.random(n_tasks) < TASK_FAIL_RATE
    t_cache_1h = rng.random(n_tasks) < 0.15
    call_first = np.concatenate([[0], np.cumsum(sizes)[:-1]]) if n_tasks else np.zeros(0, np.int64)
    call_step = np.arange(n_calls) - np.repeat(call_first, sizes)
    call_last = call_step == np.repeat(sizes, sizes) - 1

    ev_call = np.repeat(np.arange(n_calls), attempts_per_call)
    ev_first = np.concatenate([[0], np.cumsum(attempts_per_call)[:-1]]) if n_calls else np.zeros(0, np.int64)
    ev_attempt = np.arange(n_agent) - np.repeat(ev_first, attempts_per_call) + 1
    ev_task = call_task[ev_call]
    final_attempt = ev_attempt == attempts_per_call[ev_call]
    a_status = np.full(n_agent, SUCCESS)
    retried = ~final_attempt
    a_status[retried] = _choice(rng, RETRY_STATUS_P, int(retried.sum()))
    task_failed_here = final_attempt & call_last[ev_call] & t_fails[ev_task]
    a_status[task_failed_here] = _choice(rng, FINAL_FAIL_STATUS_P, int(task_failed_here.sum()))
    # time: think time between calls, exponential-ish backoff between attempts, 0 for a task's first event
    gap_s = np.where(
        ev_attempt > 1,
        2.0 ** (ev_attempt - 1) * rng.uniform(0.5, 1.5, n_agent),
        np.clip(rng.lognormal(np.log(5.0), 0.8, n_agent), 0.3, 60.0),
    )
    gap = (gap_s * 1000).astype(np.int64)
    is_task_start = np.zeros(n_agent, bool)
    if n_agent:
        is_task_start[np.concatenate([[0], np.cumsum(ev_per_task[:n_tasks])[:-1]])] = True
    gap[is_task_start] = 0
    csum = np.cumsum(gap)
    a_ms = np.minimum(t_start[ev_task] + csum - np.repeat(csum[is_task_start], ev_per_task[:n_tasks]), _MS_DAY - 1)

    # --- single calls ------------------------------------------------------------------------
    n_single = n_c - n_agent
    s_tenant, s_feature = _sample_cells(rng, ctx, NON_AGENT_FEATURES, n_single)
    s_model = _sample_models(rng, s_feature)
    s_hour = hours[_choice(rng, hw, n_single)]
    s_ms = s_hour * _MS_HOUR + rng.integers(0, _MS_HOUR, n_single)
    single_share = 1.0 - ctx.p_agent
    bh = (s_hour >= BUSINESS_HOURS[0]) & (s_hour < BUSINESS_HOURS[1])
    bh_share = ctx.hour_w[BUSINESS_HOURS[0] : BUSINESS_HOURS[1]].sum()
    r = rng.random(n_single)
    s_model[bh & (r < min(1.0, SELF_HOSTED_SHARE / (single_share * bh_share)))] = LLAMA
    s_model[(s_model != LLAMA) & (rng.random(n_single) < MISTRAL_SHARE / single_share)] = MISTRAL
    s_status = _choice(rng, NON_AGENT_STATUS_P, n_single)

    # --- token units: one per single call, one per logical agent call (shared by its attempts) ---
    u_feature = np.concatenate([s_feature, t_feature[call_task]])
    u_model = np.concatenate([s_model, t_model[call_task]])
    u_tenant = np.concatenate([s_tenant, t_tenant[call_task]])
    u_step = np.concatenate([np.zeros(n_single, np.int64), call_step])
    u_agent = np.concatenate([np.zeros(n_single, bool), np.ones(n_calls, bool)])
    u_cache_1h = np.concatenate([np.zeros(n_single, bool), t_cache_1h[call_task]])
    n_u = len(u_feature)
    params = np.array([FEATURE_TOKENS[f] for f in range(len(FEATURES))], dtype=float)[u_feature]
    med_in, sig_in, med_out, sig_out, growth = params.T
    inp = med_in * np.exp(sig_in * rng.standard_normal(n_u))
    inp = inp + u_step * growth * np.exp(0.3 * rng.standard_normal(n_u))
    out = med_out * np.exp(sig_out * rng.standard_normal(n_u)) * OUTPUT_FACTOR[u_model]
    scale = np.full(n_u, ctx.token_scale)
    if ctx.spike_tenant >= 0:
        scale[u_tenant == ctx.spike_tenant] *= SPIKE_FACTOR
    inp = np.clip(np.rint(inp * scale), 16, MAX_INPUT).astype(np.int64)
    out = np.clip(np.rint(out * scale), 1, None).astype(np.int64)
    # long context
    r = rng.random(n_u)
    pro, sonnet = u_model == GEMINI_PRO, u_model == SONNET
    long_pro, edge_pro = pro & (r < 0.010), pro & (r >= 0.010) & (r < 0.013)
    long_sonnet = sonnet & (r < 0.003)
    if first:  # at least one of each per day whenever the model occurs
        if pro.any() and not long_pro.any():
            long_pro[np.flatnonzero(pro)[-1]] = True
        if (pro & ~long_pro).any() and not edge_pro.any():
            edge_pro[np.flatnonzero(pro & ~long_pro)[0]] = True
        if sonnet.any() and not long_sonnet.any():
            long_sonnet[np.flatnonzero(sonnet)[-1]] = True
    inp[long_pro] = rng.integers(200_001, MAX_INPUT, int(long_pro.sum()))
    inp[edge_pro] = 200_000
    inp[long_sonnet] = rng.integers(200_001, 600_000, int(long_sonnet.sum()))

    # caches: each part is drawn from what is left, so their sum never exceeds input_tokens
    prov = MODEL_PROVIDER[u_model]
    c_read = np.zeros(n_u, np.int64)
    c_write = np.zeros(n_u, np.int64)
    c_write_1h = np.zeros(n_u, np.int64)
    u1, u2, u3, u4 = rng.random((4, n_u))
    anth = prov == ANTHROPIC
    a_single, a_first, a_next = anth & ~u_agent, anth & u_agent & (u_step == 0), anth & u_agent & (u_step > 0)
    m = a_single & (u1 < 0.65)
    c_read[m] = inp[m] * (0.50 + 0.42 * u2[m])
    m = a_single & (((u1 < 0.65) & (u3 < 0.30)) | ((u1 >= 0.65) & (u3 < 0.35)))
    c_write[m] = (inp[m] - c_read[m]) * (0.3 + 0.6 * u4[m])
    m = a_single & (u3 > 0.96)
    c_write_1h[m] = (inp[m] - c_read[m] - c_write[m]) * (0.3 + 0.6 * u4[m])
    m = a_first & ~u_cache_1h
    c_write[m] = inp[m] * (0.6 + 0.3 * u2[m])
    m = a_first & u_cache_1h
    c_write_1h[m] = inp[m] * (0.6 + 0.3 * u2[m])
    c_read[a_next] = inp[a_next] * (0.80 + 0.15 * u2[a_next])
    c_write[a_next] = (inp[a_next] - c_read[a_next]) * (0.5 + 0.5 * u3[a_next])
    m = (prov == OPENAI) & (inp >= 1024) & (u1 < np.where(u_agent & (u_step > 0), 0.8, 0.35))
    c_read[m] = (inp[m] * (0.3 + 0.6 * u2[m])) // 128 * 128
    m = (prov == GOOGLE) & (u1 < 0.25)
    c_read[m] = inp[m] * (0.3 + 0.5 * u2[m])
    m = (prov == DEEPSEEK) & (u1 < 0.40)
    c_read[m] = (inp[m] * (0.2 + 0.7 * u2[m])) // 64 * 64
    reasoning = np.zeros(n_u, np.int64)
    frac = np.select(
        [u_model == O3, u_model == GPT5, u_model == OPUS],
        [0.50 + 0.35 * u3, 0.30 + 0.45 * u3, np.where(u4 < 0.5, 0.0, 0.2 + 0.4 * u3)],
        0.0,
    )
    reasoning[:] = out * frac

    # --- events: single calls first, then agent attempts ----------------------------------------
    unit = np.concatenate([np.arange(n_single), n_single + ev_call])
    ev = dict(
        ms=np.concatenate([s_ms, a_ms]),
        tenant=u_tenant[unit],
        feature=u_feature[unit],
        model=u_model[unit],
        status=np.concatenate([s_status, a_status]),
        attempt=np.concatenate([np.ones(n_single, np.int64), ev_attempt]),
        task=np.concatenate([np.full(n_single, -1), ev_task]),
        input=inp[unit],
        cache_read=c_read[unit],
        cache_write=c_write[unit],
        cache_write_1h=c_write_1h[unit],
        output=out[unit],
        reasoning=reasoning[unit],
    )
    st = ev["status"]
    limited = st == RATE_LIMITED
    for k in ("input", "cache_read", "cache_write", "cache_write_1h", "output", "reasoning"):
        ev[k][limited] = 0
    ev["output"][st == ERROR] = 0
    partial = (st == TIMEOUT) | (st == CANCELLED)
    ev["output"][partial] = ev["output"][partial] * rng.uniform(0.0, 0.6, int(partial.sum()))
    np.minimum(ev["reasoning"], ev["output"], out=ev["reasoning"])

    # service tier: -1 = empty (means standard)
    n = n_c
    e_prov = MODEL_PROVIDER[ev["model"]]
    tier = np.zeros(n, np.int64)
    r1, r2 = rng.random((2, n))
    single = ev["task"] < 0
    batchable = single & np.isin(ev["feature"], [F["extract"], F["summarize"]]) & (ev["model"] != LLAMA)
    tier[batchable & (r1 < 0.05)] = 1
    tier[(tier == 0) & (e_prov == OPENAI) & (r1 > 0.99)] = 2
    tier[(tier == 0) & np.isin(e_prov, [OPENAI, ANTHROPIC]) & (r1 > 0.985) & (r1 <= 0.99)] = 3
    tier[(tier == 0) & (r2 < 0.30)] = -1
    ev["tier"] = tier

    order = np.argsort(ev["ms"], kind="stable")
    ev = {k: v[order] for k, v in ev.items()}
    ev["task_key"] = (np.uint64(ctx.key) << np.uint64(36)) | (np.uint64(chunk_no) << np.uint64(24))
    ev["n_tasks"] = n_tasks
    return ev


def _table(ctx: _Day, ev: dict, first_index: int, fmt: str) -> pa.Table:
    """The chunk as an Arrow table with the canonical columns (and the null conventions)."""
    n = len(ev["ms"])
    model, task = ev["model"], ev["task"]
    prov = MODEL_PROVIDER[model]
    seed_salt = np.uint64(_splitmix64(np.array([ctx.seed ^ _SALT_EVENT], np.uint64))[0])
    keys = (np.uint64(ctx.key) << np.uint64(36)) | (np.arange(first_index, first_index + n, dtype=np.uint64))
    event_id = _ids("evt-", _splitmix64(keys ^ seed_salt))
    task_salt = np.uint64(_splitmix64(np.array([ctx.seed ^ _SALT_TASK], np.uint64))[0])
    task_names = _ids("task-", _splitmix64((ev["task_key"] | np.arange(ev["n_tasks"], dtype=np.uint64)) ^ task_salt))
    task_id = pc.take(task_names, pa.array(np.maximum(task, 0).astype(np.int32), mask=task < 0))
    has_cache = (prov != PROVIDERS.index("self_hosted")) & (prov != PROVIDERS.index("mistral"))
    anthropic = prov == ANTHROPIC
    reasoner = np.isin(model, [O3, GPT5, OPUS])
    if fmt == "parquet":
        midnight = int(datetime(ctx.day.year, ctx.day.month, ctx.day.day, tzinfo=UTC).timestamp() * 1000)
        occurred = pa.array(ev["ms"] + midnight, type=pa.timestamp("ms", tz="UTC"))
    else:
        occurred = _iso_times(ctx.day, ev["ms"])
    cols = {
        "event_id": event_id,
        "occurred_at": occurred,
        "tenant_id": _lookup(TENANTS, ev["tenant"]),
        "feature": _lookup(FEATURES, ev["feature"]),
        "task_id": task_id,
        "provider": _lookup(PROVIDERS, prov),
        "model": _lookup([m for _, m in MODELS], model),
        "deployment_id": _lookup([SELF_HOSTED_DEPLOYMENT], np.zeros(n, np.int64), model == LLAMA),
        "service_tier": _lookup(SERVICE_TIERS, np.maximum(ev["tier"], 0), ev["tier"] >= 0),
        "input_tokens": _int_col(ev["input"]),
        "cache_read_tokens": _int_col(ev["cache_read"], has_cache),
        "cache_write_tokens": _int_col(ev["cache_write"], anthropic),
        "cache_write_1h_tokens": _int_col(ev["cache_write_1h"], anthropic),
        "output_tokens": _int_col(ev["output"]),
        "reasoning_tokens": _int_col(ev["reasoning"], reasoner),
        "status": _lookup(STATUSES, ev["status"]),
        "attempt": _int_col(ev["attempt"]),
    }
    return pa.table(cols)


def _bad_rows(rng, ctx: _Day, table: pa.Table, kinds: list[int], first_index: int, fmt: str):
    """Broken copies of random valid rows, with fresh event_ids; returns (rows table, raw lines)."""
    n = table.num_rows
    rows, raws = [], []
    out_tok = table.column("output_tokens").to_numpy()
    has_cache = table.column("cache_read_tokens").is_valid().to_numpy(zero_copy_only=False)
    reasons = table.column("reasoning_tokens").is_valid().to_numpy(zero_copy_only=False) & (out_tok > 1)
    for kind in kinds:
        pool = np.flatnonzero({2: has_cache, 3: reasons if reasons.any() else out_tok > 1}.get(kind, np.ones(n, bool)))
        base = int(pool[rng.integers(0, len(pool))]) if len(pool) else int(rng.integers(0, n))
        row = table.slice(base, 1).to_pylist()[0]
        key = np.array([(ctx.key << 36) | (first_index + kind)], np.uint64)
        seed_salt = np.uint64(_splitmix64(np.array([ctx.seed ^ _SALT_EVENT], np.uint64))[0])
        row["event_id"] = _ids("evt-", _splitmix64(key ^ seed_salt))[0].as_py()
        name = BAD_KINDS[kind]
        if name == "unreadable":
            if fmt == "jsonl":
                line = json.dumps(_jsonable(row), separators=(",", ":"))
                # a line cut mid-write, inside the model name (a cut right after a ':' would make some
                # NDJSON readers, e.g. DuckDB's read_json with ignore_errors, swallow the next line too)
                cut = line.index('"model":"') + len('"model":"') + 4
                raws.append(line[:cut].encode() + b"\n")
                continue
            if fmt == "csv":
                row["input_tokens"] = f"{max(1, row['input_tokens'] // 1000)}k"
                buf = io.StringIO()
                # the sample's columns, as its header names them (not account_id: the sample names no account)
                csv.writer(buf, lineterminator="\n").writerow("" if v is None else v for v in row.values())
                raws.append(buf.getvalue().encode())
                continue
            row["output_tokens"] = -max(1, row["output_tokens"])
            row["reasoning_tokens"] = None if row["reasoning_tokens"] is None else 0
        elif name == "negative_input_tokens":
            row["input_tokens"] = -max(1, row["input_tokens"])
            for c in ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens"):
                row[c] = None if row[c] is None else 0
        elif name == "cache_read_above_input":
            row["cache_read_tokens"] = row["input_tokens"] + int(rng.integers(1, 5000))
            for c in ("cache_write_tokens", "cache_write_1h_tokens"):
                row[c] = None if row[c] is None else 0
        elif name == "reasoning_above_output":
            row["reasoning_tokens"] = row["output_tokens"] + int(rng.integers(1, 500))
        elif name == "missing_tenant_id":
            row["tenant_id"] = None
        elif name == "unparseable_occurred_at":
            row["occurred_at"] = None if fmt == "parquet" else "yesterday-ish"
        rows.append(row)
    bad = pa.Table.from_pylist(rows, schema=table.schema) if rows else table.slice(0, 0)
    return bad, raws


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _hour_blocks(counts: np.ndarray) -> list[np.ndarray]:
    """Group consecutive hours into blocks of at most CHUNK_ROWS calls (or a single hour above it)."""
    blocks, cur, acc = [], [], 0
    for h in range(24):
        if cur and acc + int(counts[h]) > CHUNK_ROWS:
            blocks.append(np.array(cur))
            cur, acc = [], 0
        cur.append(h)
        acc += int(counts[h])
    blocks.append(np.array(cur))
    return blocks


class _Writer:
    def __init__(self, path: Path, fmt: str, gz: bool):
        self.fmt, self.path = fmt, path
        self._pq: pq.ParquetWriter | None = None
        self._fh = None
        if fmt != "parquet":
            self._fh = _gzip.open(path, "wb", compresslevel=GZIP_LEVEL) if gz else open(path, "wb", buffering=1 << 20)
        self._header = fmt == "csv"

    def write(self, table: pa.Table, raws: list[tuple[int, bytes]]) -> None:
        if self.fmt == "parquet":
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._pq.write_table(table, row_group_size=CHUNK_ROWS)
            return
        df = pl.from_arrow(table)
        if self._header:
            self._fh.write((",".join(df.columns) + "\n").encode())
            self._header = False
        start = 0
        for pos, raw in sorted(raws, key=lambda x: x[0]):
            self._write_df(df.slice(start, pos - start))
            self._fh.write(raw)
            start = pos
        self._write_df(df.slice(start))

    def _write_df(self, df: pl.DataFrame) -> None:
        # polars serialises a whole frame before handing it to a Python file object: keep the slices small
        for i in range(0, df.height, WRITE_SLICE_ROWS):
            part = df.slice(i, WRITE_SLICE_ROWS)
            if self.fmt == "jsonl":
                part.write_ndjson(self._fh)
            else:
                part.write_csv(self._fh, include_header=False)

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._fh is not None:
            self._fh.close()


def _write_day(path: Path, day: date, n: int, seed: int, fmt: str, gz: bool, bad_lines: bool, spike: bool) -> None:
    ctx = _day_context(day, seed, spike)
    rng = np.random.default_rng([_SALT_DAY, seed, ctx.key])
    counts = rng.multinomial(n, ctx.hour_w)
    blocks = _hour_blocks(counts)
    kinds = list(range(len(BAD_KINDS))) if bad_lines and n > 0 else []
    bad_block = rng.integers(0, len(blocks), len(kinds))
    tmp = path.with_name(f".{path.name}.partial")
    writer = _Writer(tmp, fmt, gz)
    try:
        index = 0
        for b, hours in enumerate(blocks):
            n_c = int(counts[hours].sum())
            if n_c == 0:
                continue
            ev = _chunk(ctx, hours, n_c, b, first=index == 0)
            table = _table(ctx, ev, index, fmt)
            index += n_c
            brng = np.random.default_rng([_SALT_CHUNK + 1, seed, ctx.key, b])
            # duplicates: a verbatim copy placed after its original
            n_dup = max(1, round(n_c * DUPLICATE_RATE))
            src = brng.integers(0, n_c, n_dup)
            dest = src + (brng.random(n_dup) * (n_c - src)).astype(np.int64)
            # broken rows of this block, at random places
            my_kinds = [k for k, bb in zip(kinds, bad_block, strict=True) if bb == b]
            bad, raws = _bad_rows(brng, ctx, table, my_kinds, n, fmt) if my_kinds else (table.slice(0, 0), [])
            bad_pos = brng.integers(0, n_c, bad.num_rows)
            raw_pos = brng.integers(0, n_c, len(raws))
            sort_key = np.concatenate([np.arange(n_c) * 4, dest * 4 + 1, bad_pos * 4 + 2])
            order = np.argsort(sort_key, kind="stable")
            full = pa.concat_tables([table, table.take(pa.array(src)), bad]).take(pa.array(order))
            raw_at = np.searchsorted(sort_key[order], raw_pos * 4 + 3)
            writer.write(full, list(zip(raw_at.tolist(), raws, strict=True)))
            del ev, table, full, bad  # free this block before generating the next one
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- public API
def generate_usage(
    out_dir: Path,
    start: date,
    days: int,
    events_per_day: int,
    *,
    seed: int = 7,
    fmt: str = "jsonl",
    gzip: bool = False,
    bad_lines: bool = True,
) -> list[Path]:
    """Write one canonical usage file per UTC day from `start` for `days` days; return their paths.

    Each file has exactly `events_per_day` distinct valid events, ~0.2% verbatim duplicate lines and,
    with `bad_lines`, 6 broken records (BAD_KINDS). `gzip` applies to jsonl / csv only.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if isinstance(start, str):
        start = date.fromisoformat(start)
    if isinstance(start, datetime):
        start = start.date()
    if days < 0 or events_per_day < 0:
        raise ValueError("days and events_per_day must not be negative")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = fmt + (".gz" if gzip and fmt != "parquet" else "")
    paths = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        path = out_dir / f"usage-{day.isoformat()}.{suffix}"
        _write_day(
            path, day, events_per_day, seed, fmt, gzip and fmt != "parquet", bad_lines, spike=offset == SPIKE_DAY_OFFSET
        )
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m finops.demo.sample_data",
        description="Write seeded, realistic canonical usage files (one per UTC day).",
    )
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--start", required=True, type=date.fromisoformat, help="first day, YYYY-MM-DD")
    ap.add_argument("--days", required=True, type=int)
    ap.add_argument("--events-per-day", required=True, type=int)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", dest="fmt", choices=FORMATS, default="jsonl")
    ap.add_argument("--gzip", action="store_true", help="gzip jsonl / csv files")
    ap.add_argument("--no-bad-lines", dest="bad_lines", action="store_false", help="omit the 6 broken records a day")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = generate_usage(
        args.out,
        args.start,
        args.days,
        args.events_per_day,
        seed=args.seed,
        fmt=args.fmt,
        gzip=args.gzip,
        bad_lines=args.bad_lines,
    )
    for p in paths:
        print(p)
    size = sum(p.stat().st_size for p in paths)
    print(
        f"{len(paths)} file(s), {args.days * args.events_per_day:,} events, {size / 1e6:,.1f} MB"
        f" in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
