"""Price sources beyond the local sheet (docs/spec.md#prices-and-gpu-offers, docs/prices_and_gpus.md): LiteLLM's
catalog, OpenRouter's model list and HTML pricing tables, fetched over real HTTP from a server in the test, landed
with their sha256, dated by the observation history, and re-costing published days when a price arrives later with
an earlier effective date. Figures by hand from the fixtures in tests/fixtures/prices/."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import Project, event, write_jsonl
from fixture_server import FixtureServer

from core.config import ConfigError, load_config
from ingest.fetch import FetchError, fetch
from ingest.fetched_sources import PRICE_STORED, url_source_ages
from ingest.html_table import parse_token_price
from ingest.litellm_catalog import read_litellm_catalog
from ingest.observations import merge_observation
from ingest.openrouter_catalog import read_openrouter_models
from ingest.payload import PayloadError
from ingest.price_page import read_price_page
from ingest.price_sheet import PRICE_KEY

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "prices"
LITELLM = (FIXTURES / "litellm_catalog_small.json").read_bytes()
OPENROUTER = (FIXTURES / "openrouter_models_sample.json").read_bytes()
ANTHROPIC_PAGE = (FIXTURES / "anthropic_pricing.html").read_bytes()
ANTHROPIC_TABLE = dict(
    provider="anthropic",
    selector=None,
    heading="Model pricing",
    unit="1M",
    columns={
        "model": "Model",
        "input": "Base Input Tokens",
        "cache_write": "5m Cache Writes",
        "cache_write_1h": "1h Cache Writes",
        "cache_read": "Cache Hits & Refreshes",
        "output": "Output Tokens",
    },
    models={
        "Claude Opus 4.5": "claude-opus-4-5",
        "Claude Sonnet 4.6": "claude-sonnet-4-6",
        "Claude Haiku 4.5": "claude-haiku-4-5",
    },
)


def prices(df: pl.DataFrame, model: str) -> dict[tuple[str, str, int], float]:
    return {
        (r["usage_type"], r["service_tier"], r["min_input_tokens"]): r["usd_per_million"]
        for r in df.filter(pl.col("model") == model).iter_rows(named=True)
    }


@pytest.fixture
def server():
    s = FixtureServer()
    yield s
    s.close()


# --- LiteLLM ----------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_litellm_entries_become_rows_per_usage_type_tier_and_threshold():
    df = read_litellm_catalog(LITELLM)
    assert prices(df, "claude-sonnet-4-6") == {
        ("input", "standard", 0): 3.0,
        ("output", "standard", 0): 15.0,
        ("cache_read", "standard", 0): 0.3,
        ("cache_write", "standard", 0): 3.75,
        ("cache_write_1h", "standard", 0): 6.0,
    }
    assert prices(df, "gpt-4o") == {
        ("input", "standard", 0): 2.5,
        ("output", "standard", 0): 10.0,
        ("cache_read", "standard", 0): 1.25,
        ("input", "batch", 0): 1.25,
        ("output", "batch", 0): 5.0,
        ("input", "priority", 0): 4.25,
        ("output", "priority", 0): 17.0,
        ("cache_read", "priority", 0): 2.125,
    }
    # gemini/gemini-2.5-pro (the Gemini API entry) wins over vertex's gemini-2.5-pro; >200k rows
    gemini = prices(df, "gemini-2.5-pro")
    assert gemini[("input", "standard", 200_000)] == 2.5 and gemini[("output", "standard", 200_000)] == 15.0
    assert gemini[("cache_read", "standard", 200_000)] == 0.25
    assert ("cache_write", "standard", 200_000) not in gemini  # only the vertex entry has it
    assert set(df.filter(pl.col("model") == "gemini-2.5-pro")["provider"]) == {"google"}
    assert prices(df, "gpt-5-mini")[("input", "flex", 0)] == 0.125


@pytest.mark.unit
def test_litellm_keeps_token_priced_models_of_mapped_providers_and_says_what_it_skipped(caplog):
    caplog.set_level("INFO", logger="finops")
    df = read_litellm_catalog(LITELLM)
    models = set(zip(df["provider"], df["model"], strict=True))
    assert models == {
        ("anthropic", "claude-sonnet-4-6"),
        ("anthropic", "claude-opus-4-5"),
        ("openai", "gpt-4o"),
        ("openai", "gpt-5-mini"),
        ("google", "gemini-2.5-pro"),
        ("deepseek", "deepseek-chat"),
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
        ("openai", "text-embedding-3-small"),
    }
    assert df.height == 5 + 5 + 8 + 9 + 10 + 4 + 2 + 4
    assert (
        "2 duplicates of a kept entry, 1 not priced per token (mode), 2 of other providers, "
        "1 region- or deployment-scoped" in caplog.text
    )
    assert df["source"].to_list().count("litellm:gemini/gemini-2.5-pro") == 10


@pytest.mark.unit
def test_the_whole_litellm_catalog_reads():
    df = read_litellm_catalog(gzip.decompress((FIXTURES / "litellm_model_prices.json.gz").read_bytes()))
    assert df.height == 3432
    assert df.select(pl.struct(PRICE_KEY).is_duplicated().any()).item() is False
    assert prices(df, "claude-opus-4-5")[("cache_write_1h", "standard", 0)] == 10.0
    assert prices(df, "gpt-5.4")[("input", "standard", 272_000)] == 5.0


@pytest.mark.unit
def test_a_catalog_of_another_shape_is_refused():
    with pytest.raises(PayloadError, match="no token prices found"):
        read_litellm_catalog(b'{"data": [{"id": "gpt-4o"}]}')
    with pytest.raises(PayloadError, match="not valid JSON"):
        read_litellm_catalog(b"<html>moved</html>")


# --- OpenRouter -------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_openrouter_prices_are_recorded_under_openrouter_with_its_model_ids():
    df = read_openrouter_models(OPENROUTER)
    assert set(df["provider"]) == {"openrouter"}
    assert prices(df, "anthropic/claude-sonnet-4.5") == {
        ("input", "standard", 0): 3.0,
        ("output", "standard", 0): 15.0,
        ("cache_read", "standard", 0): 0.3,
        ("cache_write", "standard", 0): 3.75,
        ("cache_write_1h", "standard", 0): 6.0,
        ("input", "standard", 200_000): 6.0,
        ("output", "standard", 200_000): 22.5,
        ("cache_read", "standard", 200_000): 0.6,
        ("cache_write", "standard", 200_000): 7.5,
        ("cache_write_1h", "standard", 200_000): 12.0,
        # the ":batch" variant is the batch tier of the same model
        ("input", "batch", 0): 1.5,
        ("output", "batch", 0): 7.5,
        ("cache_read", "batch", 0): 0.15,
        ("cache_write", "batch", 0): 1.875,
        ("cache_write_1h", "batch", 0): 3.0,
        ("input", "batch", 200_000): 3.0,
        ("output", "batch", 200_000): 11.25,
        ("cache_read", "batch", 200_000): 0.3,
        ("cache_write", "batch", 200_000): 3.75,
        ("cache_write_1h", "batch", 200_000): 6.0,
    }
    # time-of-day overrides are not modelled: the base prices stay
    assert prices(df, "deepseek/deepseek-v4-flash-vision-exp") == {
        ("input", "standard", 0): 0.22,
        ("output", "standard", 0): 0.66,
        ("cache_read", "standard", 0): 0.007,
    }
    assert "openrouter/auto" not in set(df["model"])  # dynamic price (-1)
    assert prices(df, "z-ai/glm-5.2:free") == {("input", "standard", 0): 0.0, ("output", "standard", 0): 0.0}


@pytest.mark.unit
def test_openrouter_models_with_unreadable_prices_are_skipped_not_fatal():
    doc = {
        "data": [
            {"id": "a/ok", "pricing": {"prompt": "0.000001", "completion": "0.000002"}},
            {"id": "a/bad", "pricing": {"prompt": "cheap", "completion": "0.000002"}},
            {"id": "a/odd", "pricing": {"prompt": "0.000001", "completion": "0.000002", "overrides": ["x"]}},
            {"pricing": {"prompt": "0.000001"}},
        ]
    }
    df = read_openrouter_models(json.dumps(doc).encode())
    assert prices(df, "a/ok") == {("input", "standard", 0): 1.0, ("output", "standard", 0): 2.0}
    assert set(df["model"]) == {"a/ok"}


@pytest.mark.unit
def test_openrouter_zero_cache_prices_mean_no_cache_price():
    df = read_openrouter_models((FIXTURES / "openrouter_models_sample_2025-03-18.json").read_bytes())
    assert prices(df, "anthropic/claude-3.7-sonnet") == {("input", "standard", 0): 3.0, ("output", "standard", 0): 15.0}
    assert df.height == 12


# --- HTML tables ------------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "cell, unit, expected",
    [
        ("$3.00", "1M", "3.00"),
        ("$3 / MTok", "1M", "3"),
        ("$0.30 per 1M tokens", "1K", "0.30"),
        ("$0.003 / 1K tokens", "1M", "3.000"),
        ("$0.0025", "1K", "2.5000"),
        ("3.5", "1M", "3.5"),
        ("$1,250.00 / MTok", "1M", "1250.00"),
        ("Free", "1M", "0"),
        ("-", "1M", None),
        ("n/a", "1M", None),
        ("", "1M", None),
        ("$4.00 / 1M tokens", "1K", "4.00"),
    ],
)
def test_price_cells_are_read_in_their_unit(cell, unit, expected):
    got = parse_token_price(cell, unit)
    assert got == (Decimal(expected) if expected is not None else None)


@pytest.mark.unit
@pytest.mark.parametrize("cell, message", [("$1.25 / $2.50", "holds 2 prices"), ("Ask us", "is not a price")])
def test_price_cells_that_are_not_one_price_are_refused(cell, message):
    with pytest.raises(PayloadError, match=message):
        parse_token_price(cell, "1M")


@pytest.mark.unit
def test_a_pricing_page_table_found_by_its_heading():
    df = read_price_page(ANTHROPIC_PAGE, **ANTHROPIC_TABLE)
    assert prices(df, "claude-opus-4-5") == {
        ("input", "standard", 0): 5.0,
        ("cache_write", "standard", 0): 6.25,
        ("cache_write_1h", "standard", 0): 10.0,
        ("cache_read", "standard", 0): 0.5,
        ("output", "standard", 0): 25.0,
    }
    assert prices(df, "claude-haiku-4-5")[("output", "standard", 0)] == 5.0  # "Claude&nbsp;Haiku 4.5"
    assert set(df["model"]) == {"claude-opus-4-5", "claude-sonnet-4-6", "claude-haiku-4-5"}  # Haiku 3 unmapped
    assert set(df["provider"]) == {"anthropic"}
    assert df.filter(pl.col("model") == "claude-sonnet-4-6")["source_line"].unique().to_list() == [3]


@pytest.mark.unit
def test_a_pricing_page_table_found_by_a_css_selector_in_thousands():
    df = read_price_page(
        (FIXTURES / "openai_pricing.html").read_bytes(),
        provider="openai",
        selector="#text-models table",
        heading=None,
        unit="1K",
        models={},
        columns={"model": "Model", "input": "Input", "cache_read": "Cached input", "output": "Output"},
    )
    assert prices(df, "gpt-4o") == {
        ("input", "standard", 0): 2.5,
        ("cache_read", "standard", 0): 1.25,
        ("output", "standard", 0): 10.0,
    }
    assert prices(df, "gpt-4o-mini")[("cache_read", "standard", 0)] == 0.075
    assert prices(df, "o1-pro") == {("input", "standard", 0): 150.0, ("output", "standard", 0): 600.0}
    assert prices(df, "gpt-realtime")[("output", "standard", 0)] == 16.0  # the cell's own unit


@pytest.mark.unit
@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda page: page.replace(b"Base Input Tokens", b"Input"),
            "no column 'Base Input Tokens' in the table header",
        ),
        (lambda page: page.replace(b"Model pricing", b"Prices"), "no heading \\(h1-h6\\) contains 'Model pricing'"),
        (lambda page: page.replace(b"$3 / MTok", b"$3 / MTok or $6 / MTok"), "row 3 \\('Claude Sonnet 4.6'\\)"),
    ],
)
def test_a_page_whose_table_no_longer_matches_is_an_error(change, message):
    with pytest.raises(PayloadError, match=message):
        read_price_page(change(ANTHROPIC_PAGE), **ANTHROPIC_TABLE)


# --- the observation history ------------------------------------------------------------------------------


def _seen(**usd: float) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "provider": "anthropic",
                "model": m,
                "usage_type": "input",
                "service_tier": "standard",
                "min_input_tokens": 0,
                "usd_per_million": v,
                "source": "t",
                "source_line": None,
                "source_file": f"fetch-{m}-{v}",
            }
            for m, v in usd.items()
        ]
    )


def _observe(history: pl.DataFrame, seen: pl.DataFrame, day: str):
    return merge_observation(
        history,
        seen.cast({k: PRICE_STORED[k] for k in seen.columns}),
        key=PRICE_KEY,
        value="usd_per_million",
        date_col="effective_from",
        fetch_day=date.fromisoformat(day),
        first_day=date(1970, 1, 1),
    )


def _dated(history: pl.DataFrame) -> list[tuple]:
    return sorted(history.select("model", "effective_from", "usd_per_million", "source_file").iter_rows())


@pytest.mark.unit
def test_first_seen_covers_the_past_a_change_opens_a_row_from_the_fetch_day_and_no_change_adds_nothing():
    history = pl.DataFrame(schema=PRICE_STORED)
    first = _observe(history, _seen(a=3.0, b=1.0), "2026-11-03")
    assert (first.new, first.changed, first.unchanged) == (2, 0, 0)
    same = _observe(first.history, _seen(a=3.0, b=1.0), "2026-11-04")
    assert (same.new, same.changed, same.unchanged) == (0, 0, 2)
    assert _dated(same.history) == _dated(first.history)
    changed = _observe(same.history, _seen(a=2.5), "2026-11-05")  # b missing from the fetch: stays in force
    assert _dated(changed.history) == [
        ("a", date(1970, 1, 1), 3.0, "fetch-a-3.0"),
        ("a", date(2026, 11, 5), 2.5, "fetch-a-2.5"),
        ("b", date(1970, 1, 1), 1.0, "fetch-b-1.0"),
    ]
    again = _observe(changed.history, _seen(a=2.4), "2026-11-05")  # changed twice the same day: the last wins
    assert _dated(again.history)[1] == ("a", date(2026, 11, 5), 2.4, "fetch-a-2.4")
    back = _observe(again.history, _seen(a=3.0), "2026-11-06")  # back to the old price: a new row
    assert [r[1:3] for r in _dated(back.history) if r[0] == "a"] == [
        (date(1970, 1, 1), 3.0),
        (date(2026, 11, 5), 2.4),
        (date(2026, 11, 6), 3.0),
    ]


# --- fetching ---------------------------------------------------------------------------------------------


def test_fetch_sends_a_user_agent_and_revalidates_with_etag_and_last_modified(server):
    url = server.serve("/p.json", b"{}", etag='"v1"')
    first = fetch(url, timeout_seconds=5, max_bytes=1000)
    assert (first.status, first.body, first.response_headers["ETag"]) == (200, b"{}", '"v1"')
    again = fetch(url, timeout_seconds=5, max_bytes=1000, etag='"v1"')
    assert (again.status, again.body) == (304, None)
    url = server.serve("/q.json", b"{}", last_modified="Tue, 03 Nov 2026 00:00:00 GMT")
    assert fetch(url, timeout_seconds=5, max_bytes=1000, last_modified="Tue, 03 Nov 2026 00:00:00 GMT").status == 304
    headers = [h for _, h, _ in server.requests]
    assert all(h["User-Agent"].startswith("finops/") for h in headers)
    assert headers[1]["If-None-Match"] == '"v1"' and "If-None-Match" not in headers[0]


def test_fetch_retries_a_failing_server_then_succeeds(server):
    url = server.serve("/flaky.json", b"[1]", failures_first=2)
    got = fetch(url, timeout_seconds=5, max_bytes=1000)
    assert (got.body, got.attempts) == (b"[1]", 3)
    assert server.statuses("/flaky.json") == [503, 503, 200]


def test_fetch_does_not_retry_a_missing_page(server):
    with pytest.raises(FetchError, match="/gone.json: HTTP 404"):
        fetch(server.url("/gone.json"), timeout_seconds=5, max_bytes=1000)
    assert server.statuses("/gone.json") == [404]


@pytest.mark.parametrize("send_length", [True, False])
def test_an_oversized_response_is_refused(server, send_length):
    url = server.serve("/big.json", b"x" * 300_000, send_length=send_length)
    expected = "response of 300000 bytes refused" if send_length else "more than max_bytes = 100000 bytes"
    with pytest.raises(FetchError, match=expected):
        fetch(url, timeout_seconds=5, max_bytes=100_000)
    assert server.statuses("/big.json") == [200]  # not retried


def test_a_slow_server_times_out_after_a_few_attempts(server):
    url = server.serve("/slow.json", b"{}", delay_seconds=2)
    with pytest.raises(FetchError, match=r"/slow.json: timed out after 0.3s \(gave up after 3 attempts\)"):
        fetch(url, timeout_seconds=0.3, max_bytes=1000)


@pytest.mark.parametrize("trickled", ["body", "headers and body"])
def test_the_timeout_is_a_deadline_for_the_whole_attempt(server, trickled):
    """A server that sends 2 bytes a second: the 200-byte body alone would take 100 s an attempt. Each attempt
    ends at its 2 s deadline however steadily the bytes come."""
    url = server.serve(
        "/trickle.json",
        b"[" + b" " * 198 + b"]",
        trickle_bytes_per_second=2,
        trickle_headers=trickled == "headers and body",
    )
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/trickle.json: timed out after 2s \(gave up after 3 attempts\)"):
        fetch(url, timeout_seconds=2, max_bytes=1000)
    assert time.monotonic() - started < 60  # three attempts of the trickle would take 300 s
    assert len(server.requests) == 3


# --- config -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, message",
    [
        ('kind = "litellm_json"\nurl = "ftp://x/y.json"', "expected an http:// or https:// URL"),
        ('kind = "litellm_json"\npath = "prices/list_prices.csv"\ntimeout_seconds = 5', "applies to url sources only"),
        ('kind = "openrouter_json"\nurl = "https://x/m"\ncolumns = { model = "Model" }', "applies to kind html_table"),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "anthropic"\ncolumns = { model = "Model", input = "In" }',
            "needs exactly one of 'table'",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "anthropic"\nheading = "Pricing"\n'
            'columns = { model = "Model", inputs = "In" }',
            "unknown key 'prices.sources\\[1\\].columns.inputs'",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nheading = "Pricing"\ncolumns = { model = "Model", input = "In" }',
            "'prices.sources\\[1\\].provider' is required",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "a"\nheading = "P"\ncolumns = { model = "M", input = "I" }'
            '\nunit = "1G"',
            "'prices.sources\\[1\\].unit' is '1G'",
        ),
        (
            'kind = "html_table"\nurl = "https://x/p"\nprovider = "a"\ntable = "table[["\n'
            'columns = { model = "M", input = "I" }',
            "'prices.sources\\[1\\].table' is not a CSS selector",
        ),
        ('kind = "litellm_json"\nurl = "https://x/c.json"\nname = "gpu_0"', "names must be unique"),
        ('kind = "litellm_json"\nurl = "https://x/c.json"\neffective_from = "2026-13-01"', "expected a date"),
    ],
)
def test_bad_price_source_config_names_the_key(project: Project, source, message):
    write_jsonl(project.usage / "d1.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    project.write_config(extra=f"[[prices.sources]]\n{source}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(project.config)


# --- end to end: the real CLI against the local server ---------------------------------------------------


def run(project: Project, monkeypatch, day: str, fetch_day: str, *args: str):
    monkeypatch.setenv("FINOPS_FETCH_DATE", fetch_day)
    return project.finops("run", "--date", day, *args, check=True)


def price_rows(project: Project, source: str, model: str) -> list[tuple]:
    return project.query(
        """select usage_type, service_tier, min_input_tokens, usd_per_million, valid_from::varchar,
                                   valid_to::varchar, landed_file
                            from finance.price_history where source_name = ? and model = ?
                            order by 1, 2, 3, 5""",
        [source, model],
    )


def records(landing: Path, source: str, day: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((landing / source / day).glob("*.fetch.json"))]


def test_catalogs_from_urls_are_landed_priced_and_revalidated(project: Project, server, monkeypatch):
    litellm_url = server.serve("/litellm.json", LITELLM, etag='"v1"')
    openrouter_url = server.serve("/api/v1/models", OPENROUTER, last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    project.write_config(
        extra=f"""
[[prices.sources]]
kind = "litellm_json"
name = "litellm"
url = "{litellm_url}"

[[prices.sources]]
kind = "openrouter_json"
name = "openrouter"
url = "{openrouter_url}"
"""
    )
    write_jsonl(
        project.usage / "d1.jsonl",
        [
            event("opus", "2026-11-02T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000),
            event(
                "via-openrouter",
                "2026-11-02T11:00:00Z",
                provider="openrouter",
                model="anthropic/claude-sonnet-4.5",
                input_tokens=300_000,
                output_tokens=1_000,
                cache_read_tokens=100_000,
            ),
        ],
    )
    run(project, monkeypatch, "2026-11-02", "2026-11-03")
    landing = project.root / "warehouse" / "landing"

    # the landed copy: the bytes served, named by their sha256, with the fetch record beside
    [record] = records(landing, "litellm", "2026-11-03")
    payload = Path(record["payload"])
    assert payload.read_bytes() == LITELLM and payload.parent == landing / "litellm" / "2026-11-03"
    assert record["sha256"] == hashlib.sha256(LITELLM).hexdigest() and record["sha256"][:12] in payload.name
    assert (record["url"], record["status"], record["size"]) == (litellm_url, 200, len(LITELLM))
    assert record["request_headers"]["User-Agent"].startswith("finops/")
    assert record["response_headers"]["ETag"] == '"v1"' and record["fetched_at"].startswith("2026-11-03")

    assert price_rows(project, "litellm", "claude-opus-4-5") == [
        ("cache_read", "standard", 0, 0.5, "1970-01-01", None, str(payload)),
        ("cache_write", "standard", 0, 6.25, "1970-01-01", None, str(payload)),
        ("cache_write_1h", "standard", 0, 10.0, "1970-01-01", None, str(payload)),
        ("input", "standard", 0, 5.0, "1970-01-01", None, str(payload)),
        ("output", "standard", 0, 25.0, "1970-01-01", None, str(payload)),
    ]
    costs = dict(project.query("select event_id, cost_usd from finance.fct_llm_requests"))
    assert costs["opus"] == pytest.approx((100_000 * 5 + 10_000 * 25) / 1e6, abs=1e-9)  # 0.75
    # OpenRouter: above 200k input the override rates apply to the whole call
    assert costs["via-openrouter"] == pytest.approx(
        (200_000 * 6 + 100_000 * 0.6 + 1_000 * 22.5) / 1e6, abs=1e-9
    )  # 1.2825

    # the next day: both servers say 304 to the conditional request; the last landed copy is reused
    before = project.table(
        "price_history", "source_name, provider, model, usage_type, service_tier, min_input_tokens, valid_from"
    )
    run(project, monkeypatch, "2026-11-03", "2026-11-04", "--allow-empty")
    assert server.statuses("/litellm.json") == [200, 304]
    assert server.statuses("/api/v1/models") == [200, 304]
    assert [h.get("If-None-Match") for p, h, _ in server.requests if p == "/litellm.json"] == [None, '"v1"']
    assert [h.get("If-Modified-Since") for p, h, _ in server.requests if p == "/api/v1/models"] == [
        None,
        "Mon, 02 Nov 2026 10:00:00 GMT",
    ]
    [again] = records(landing, "litellm", "2026-11-04")
    assert (again["status"], again["payload"]) == (304, str(payload))
    assert [p.name for p in (landing / "litellm" / "2026-11-04").iterdir()] == ["000000Z.fetch.json"]  # no copy
    assert (
        project.table(
            "price_history", "source_name, provider, model, usage_type, service_tier, min_input_tokens, valid_from"
        )
        == before
    )


def test_a_changed_price_opens_a_row_from_the_fetch_day_and_closes_the_old_one(project: Project, server, monkeypatch):
    url = server.serve("/litellm.json", LITELLM)
    project.write_config(extra=f'[[prices.sources]]\nkind = "litellm_json"\nname = "litellm"\nurl = "{url}"\n')
    write_jsonl(
        project.usage / "d1.jsonl",
        [
            event(
                "before", "2026-11-02T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000
            ),
            event("after", "2026-11-05T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000),
        ],
    )
    run(project, monkeypatch, "2026-11-02", "2026-11-03")
    first_copy = records(project.root / "warehouse" / "landing", "litellm", "2026-11-03")[0]["payload"]

    cheaper = json.loads(LITELLM)
    cheaper["claude-opus-4-5"]["input_cost_per_token"] = 4e-06
    server.serve("/litellm.json", json.dumps(cheaper).encode())
    out = run(project, monkeypatch, "2026-11-05", "2026-11-05")
    second_copy = records(project.root / "warehouse" / "landing", "litellm", "2026-11-05")[0]["payload"]
    assert second_copy != first_copy

    rows = price_rows(project, "litellm", "claude-opus-4-5")
    assert [r for r in rows if r[0] == "input"] == [
        ("input", "standard", 0, 5.0, "1970-01-01", "2026-11-05", first_copy),
        ("input", "standard", 0, 4.0, "2026-11-05", None, second_copy),
    ]
    assert [r for r in rows if r[0] == "output"] == [("output", "standard", 0, 25.0, "1970-01-01", None, first_copy)]
    costs = dict(project.query("select event_id, cost_usd from finance.fct_llm_requests"))
    assert costs["before"] == pytest.approx(0.75, abs=1e-9)
    assert costs["after"] == pytest.approx((100_000 * 4 + 10_000 * 25) / 1e6, abs=1e-9)  # 0.65
    assert "re-costed" not in out.stdout  # a change from today does not touch published days


def test_a_broken_page_keeps_the_last_good_prices_and_the_run_still_publishes(project: Project, server, monkeypatch):
    url = server.serve("/pricing", ANTHROPIC_PAGE, content_type="text/html")
    project.write_config(
        extra=f"""
[[prices.sources]]
kind = "html_table"
name = "anthropic_page"
url = "{url}"
provider = "anthropic"
heading = "Model pricing"
unit = "1M"
columns = {{ model = "Model", input = "Base Input Tokens", output = "Output Tokens", cache_read = "Cache Hits & Refreshes", cache_write = "5m Cache Writes", cache_write_1h = "1h Cache Writes" }}
models = {{ "Claude Opus 4.5" = "claude-opus-4-5", "Claude Sonnet 4.6" = "claude-sonnet-4-6" }}
"""
    )
    write_jsonl(
        project.usage / "d1.jsonl",
        [
            event(
                "opus-1", "2026-11-02T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000
            ),
            event(
                "opus-2", "2026-11-04T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000
            ),
        ],
    )
    run(project, monkeypatch, "2026-11-02", "2026-11-03")
    good = price_rows(project, "anthropic_page", "claude-opus-4-5")
    assert [(r[0], r[3], r[4]) for r in good] == [
        ("cache_read", 0.5, "1970-01-01"),
        ("cache_write", 6.25, "1970-01-01"),
        ("cache_write_1h", 10.0, "1970-01-01"),
        ("input", 5.0, "1970-01-01"),
        ("output", 25.0, "1970-01-01"),
    ]
    assert good[0][6].endswith(".html")

    # the page is redesigned: its columns are renamed
    server.serve(
        "/pricing",
        ANTHROPIC_PAGE.replace(b"Base Input Tokens", b"Input").replace(b"$5 / MTok", b"$4 / MTok"),
        content_type="text/html",
    )
    out = run(project, monkeypatch, "2026-11-04", "2026-11-05")
    assert "published" in out.stdout
    assert f"prices source 'anthropic_page' ({url}): no column 'Base Input Tokens' in the table header" in out.stderr
    assert "its last good data stays in force (fetched 2026-11-03T00:00:00+00:00, 2.0 day(s) old)" in out.stderr
    assert price_rows(project, "anthropic_page", "claude-opus-4-5") == good
    costs = dict(project.query("select event_id, cost_usd from finance.fct_llm_requests"))
    assert costs["opus-2"] == pytest.approx(0.75, abs=1e-9)
    # the broken copy is landed for inspection; the record says what was wrong
    [record] = records(project.root / "warehouse" / "landing", "anthropic_page", "2026-11-05")
    assert b"Input" in Path(record["payload"]).read_bytes() and "no column 'Base Input Tokens'" in record["error"]

    # the source's age is that of its last good fetch
    [age] = url_source_ages(load_config(project.config), now=datetime(2026, 11, 6, 12, tzinfo=UTC))
    assert (age.name, age.url, age.last_good_fetch_at) == ("anthropic_page", url, datetime(2026, 11, 3, tzinfo=UTC))
    assert age.age_days == pytest.approx(3.5)

    # still broken a week later: the last good prices are now older than [quality].max_price_age_days (7),
    # and the gate refuses a day that uses a model they price
    write_jsonl(
        project.usage / "d2.jsonl",
        [event("opus-3", "2026-11-06T10:00:00Z", model="claude-opus-4-5", input_tokens=100_000, output_tokens=10_000)],
    )
    monkeypatch.setenv("FINOPS_FETCH_DATE", "2026-11-12")
    stale = project.finops("run", "--date", "2026-11-06")
    assert stale.returncode == 1, stale.stderr[-2000:]
    assert (
        "gx.price_freshness / expect_column_values_to_be_between(age_days, min_value=0.0, max_value=7.0)"
        in stale.stderr
    )
    assert "'source_name': 'anthropic_page'" in stale.stderr and "'age_days': 9.0" in stale.stderr


def test_a_slow_server_is_a_clear_error_and_the_run_still_publishes(project: Project, server, monkeypatch):
    url = server.serve("/slow.json", LITELLM, delay_seconds=3)
    project.write_config(
        extra=f'[[prices.sources]]\nkind = "litellm_json"\nname = "litellm"\nurl = "{url}"\ntimeout_seconds = 0.5\n'
    )
    write_jsonl(
        project.usage / "d1.jsonl", [event("sonnet", "2026-11-02T10:00:00Z", input_tokens=1_000_000, output_tokens=0)]
    )
    out = run(project, monkeypatch, "2026-11-02", "2026-11-03")
    assert (
        f"prices source 'litellm' ({url}): {url}: timed out after 0.5s (gave up after 3 attempts); no earlier "
        "good data: this source has nothing in force" in out.stderr
    )
    assert dict(project.query("select event_id, cost_usd from finance.fct_llm_requests")) == {"sonnet": 3.0}
    assert project.query("select count(*) from finance.price_history where source_name = 'litellm'") == [(0,)]
    assert url_source_ages(load_config(project.config))[0].last_good_fetch_at is None


def test_prices_first_seen_for_models_a_day_did_not_use_do_not_rebuild_it(project: Project, server, monkeypatch):
    for day in ("2026-11-02", "2026-11-03"):
        write_jsonl(
            project.usage / f"{day}.jsonl",
            [
                event(
                    f"o3-{day}",
                    f"{day}T10:00:00Z",
                    provider="openai",
                    model="o3",
                    input_tokens=1_000,
                    output_tokens=500,
                )
            ],
        )
    project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-03", check=True)
    # a catalog arrives: its prices are first seen (in force from the start), none of them for o3
    url = server.serve("/litellm.json", LITELLM)
    project.write_config(extra=f'[[prices.sources]]\nkind = "litellm_json"\nname = "litellm"\nurl = "{url}"\n')
    write_jsonl(
        project.usage / "2026-11-04.jsonl",
        [
            event(
                "o3-2026-11-04",
                "2026-11-04T10:00:00Z",
                provider="openai",
                model="o3",
                input_tokens=1_000,
                output_tokens=500,
            )
        ],
    )
    out = run(project, monkeypatch, "2026-11-04", "2026-11-05")
    assert "(1 day(s) built: 2026-11-04 .. 2026-11-04)" in out.stdout
    assert "also rebuilding" not in out.stderr
    assert project.query("select count(*) from finance.price_history where source_name = 'litellm'") == [(47,)]


def test_a_backdated_price_recosts_the_published_days_and_says_by_how_much(project: Project, monkeypatch):
    for day in ("2026-11-02", "2026-11-03", "2026-11-04"):
        write_jsonl(
            project.usage / f"{day}.jsonl",
            [
                event(
                    f"gpt4o-{day}-{i}",
                    f"{day}T1{i}:00:00Z",
                    provider="openai",
                    model="gpt-4o",
                    input_tokens=300_000,
                    output_tokens=0,
                )
                for i in range(5)
            ]
            + [
                event(
                    f"mistral-{day}",
                    f"{day}T11:30:00Z",
                    provider="mistral",
                    model="mistral-large-2411",
                    input_tokens=1_000,
                )
            ],
        )
    first = project.finops("backfill", "--from", "2026-11-02", "--to", "2026-11-04", check=True)
    assert "re-costed" not in first.stdout
    # every unpriced model is named in the run log with its calls (its cost stays NULL)
    assert (
        "unpriced usage on the built days (no price from any source; cost left NULL): "
        "mistral/mistral-large-2411: 3 call(s)" in first.stderr
    )
    assert project.query("select count(*) from finance.fct_llm_requests where cost_usd is null") == [(3,)]
    daily = project.query("select usage_date::varchar, sum(cost_usd) from finance.agg_cost_daily group by 1 order by 1")
    assert daily == [("2026-11-02", 3.75), ("2026-11-03", 3.75), ("2026-11-04", 3.75)]  # 5 x 300k x $2.50

    # a negotiated discount arrives, in force from 2026-11-03: $2.00 instead of $2.50
    (project.root / "prices" / "zz_contract.csv").write_text(
        "provider,model,usage_type,usd_per_million,service_tier,min_input_tokens,effective_from,source\n"
        "openai,gpt-4o,input,2.00,standard,0,2026-11-03,contract 2026-11\n"
    )
    write_jsonl(
        project.usage / "2026-11-05.jsonl",
        [
            event(
                "gpt4o-2026-11-05",
                "2026-11-05T10:00:00Z",
                provider="openai",
                model="gpt-4o",
                input_tokens=1_000_000,
                output_tokens=0,
            )
        ],
    )
    out = project.finops("run", "--date", "2026-11-05", check=True)
    assert (
        "re-costed 2 published day(s) whose inputs changed:\n"
        "  2026-11-03: 3.750000 -> 3.000000 USD (-0.750000)\n"
        "  2026-11-04: 3.750000 -> 3.000000 USD (-0.750000)\n" in out.stdout
    )
    assert (
        "re-costed 2 published day(s) (their inputs changed): 2026-11-03: 3.750000 -> 3.000000 USD (-0.750000); "
        "2026-11-04: 3.750000 -> 3.000000 USD (-0.750000)" in out.stderr
    )
    daily = project.query("select usage_date::varchar, sum(cost_usd) from finance.agg_cost_daily group by 1 order by 1")
    assert daily == [("2026-11-02", 3.75), ("2026-11-03", 3.0), ("2026-11-04", 3.0), ("2026-11-05", 2.0)]
    assert project.query("""select valid_from::varchar, valid_to::varchar, usd_per_million, landed_file
                            from finance.price_history where model = 'gpt-4o' and usage_type = 'input'
                            order by 1""") == [
        ("2026-01-01", "2026-11-03", 2.5, str(project.root / "prices" / "list_prices.csv")),
        ("2026-11-03", None, 2.0, str(project.root / "prices" / "zz_contract.csv")),
    ]
