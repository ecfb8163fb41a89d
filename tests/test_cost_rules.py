"""Exact costs (to 1e-6) of the reference articles' worked examples and the rules of docs/spec.md#cost-rules,
computed by hand from the bundled price sheet, through a real `finops backfill` (ingest, dbt, publish).

Prices used (bundled sheet, USD per million): claude-sonnet-4-6 3 / 15, cache read 0.30, 5-minute write
3.75, 1-hour write 6; o3 2 / 8; deepseek-reasoner 0.55 / 2.19; gemini-2.5-pro 1.25 / 5, above 200k input
2.50 / 10; gpt-5-mini 0.25 / 2, batch rows 0.125 / 1; gpt-4o 2.50 / 10 (and 2.00 from 2026-11-03 in an extra
sheet). H100 SXM on-demand: cheapest latest offer 2.49 per GPU-hour (lambda)."""

from __future__ import annotations

import pytest
from conftest import Project, event, write_jsonl

DAY = "2026-11-02"


def t(hh_mm: str, day: str = DAY) -> str:
    return f"{day}T{hh_mm}:00Z"


EVENTS = [
    # prompt caching, seed 004 worked example C2: sonnet, 50,500 input / 300 output
    event("cache-none", t("09:00"), input_tokens=50_500, output_tokens=300),
    event("cache-write", t("09:01"), input_tokens=50_500, output_tokens=300, cache_write_tokens=50_000),
    event("cache-read", t("09:02"), input_tokens=50_500, output_tokens=300, cache_read_tokens=50_000),
    event("cache-write-1h", t("09:03"), input_tokens=50_500, output_tokens=300, cache_write_1h_tokens=50_000),
    # reasoning models (seed 004 R2, R8): reasoning is inside output
    event(
        "o3", t("09:10"), provider="openai", model="o3", input_tokens=500, output_tokens=5_300, reasoning_tokens=4_800
    ),
    event(
        "r1",
        t("09:11"),
        provider="deepseek",
        model="deepseek-reasoner",
        input_tokens=800,
        output_tokens=4_500,
        reasoning_tokens=4_000,
    ),
    # long context: the >200k tier applies to the whole call, strictly above the threshold
    event(
        "long-below", t("09:20"), provider="google", model="gemini-2.5-pro", input_tokens=199_999, output_tokens=5_000
    ),
    event("long-at", t("09:21"), provider="google", model="gemini-2.5-pro", input_tokens=200_000, output_tokens=5_000),
    event(
        "long-above", t("09:22"), provider="google", model="gemini-2.5-pro", input_tokens=200_001, output_tokens=5_000
    ),
    # batch: 50% of standard where no batch rows (sonnet), the batch rows where they exist (gpt-5-mini)
    event("batch-half", t("09:30"), input_tokens=1_500, output_tokens=300, service_tier="batch"),
    event(
        "batch-rows",
        t("09:31"),
        provider="openai",
        model="gpt-5-mini",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        service_tier="batch",
    ),
    # unpriced: no price anywhere
    event("unpriced", t("09:40"), provider="mistral", model="mistral-large-2411", input_tokens=3_000),
    # a task with two failed attempts, then success
    event(
        "task-a1",
        t("10:00"),
        feature="support-agent",
        task_id="T1",
        input_tokens=1_000,
        output_tokens=0,
        status="error",
        attempt=1,
    ),
    event(
        "task-a2",
        t("10:01"),
        feature="support-agent",
        task_id="T1",
        input_tokens=1_000,
        output_tokens=100,
        status="timeout",
        attempt=2,
    ),
    event(
        "task-a3", t("10:02"), feature="support-agent", task_id="T1", input_tokens=1_000, output_tokens=200, attempt=3
    ),
    # a task whose two attempts are logged in the same second, the retry first: its first call is attempt 1
    event("tie-a2", t("10:05"), tenant="globex", feature="search", task_id="T2", output_tokens=0, attempt=2),
    event(
        "tie-a1",
        t("10:05"),
        tenant="hooli",
        feature="support-agent",
        task_id="T2",
        output_tokens=0,
        status="error",
        attempt=1,
    ),
    # self-hosted: fixed $10/hour, output weight 4; two calls in 10:00, one in 11:00, other hours idle
    event(
        "sh-a",
        t("10:10"),
        tenant="acme",
        feature="chat",
        provider="self_hosted",
        model="llama-3.3-70b",
        deployment_id="llama-fixed",
        input_tokens=1_000,
        output_tokens=100,
    ),
    event(
        "sh-b",
        t("10:50"),
        tenant="globex",
        feature="chat",
        provider="self_hosted",
        model="llama-3.3-70b",
        deployment_id="llama-fixed",
        input_tokens=2_000,
        output_tokens=400,
    ),
    event(
        "sh-c",
        t("11:30"),
        tenant="globex",
        feature="rerank",
        provider="self_hosted",
        model="llama-3.3-70b",
        deployment_id="llama-fixed",
        input_tokens=10,
        output_tokens=0,
    ),
    # a price change mid-range (extra sheet: gpt-4o input 2.00 from 2026-11-03)
    event("price-old", t("12:00"), provider="openai", model="gpt-4o", input_tokens=1_000_000, output_tokens=0),
    event(
        "price-new",
        t("12:00", "2026-11-03"),
        provider="openai",
        model="gpt-4o",
        input_tokens=1_000_000,
        output_tokens=0,
    ),
    # no zone means UTC
    event("no-zone", "2026-11-02T13:00:00", input_tokens=1_000, output_tokens=0),
]

EXPECTED_COST = {
    "cache-none": (50_500 * 3 + 300 * 15) / 1e6,  # 0.156
    "cache-write": (500 * 3 + 50_000 * 3.75 + 300 * 15) / 1e6,  # 0.1935
    "cache-read": (500 * 3 + 50_000 * 0.30 + 300 * 15) / 1e6,  # 0.021
    "cache-write-1h": (500 * 3 + 50_000 * 6 + 300 * 15) / 1e6,  # 0.306
    "o3": (500 * 2 + 5_300 * 8) / 1e6,  # 0.0434
    "r1": (800 * 0.55 + 4_500 * 2.19) / 1e6,  # 0.010295
    "long-below": (199_999 * 1.25 + 5_000 * 5) / 1e6,  # 0.27499875
    "long-at": (200_000 * 1.25 + 5_000 * 5) / 1e6,  # 0.275
    "long-above": (200_001 * 2.50 + 5_000 * 10) / 1e6,  # 0.5500025
    "batch-half": 0.5 * (1_500 * 3 + 300 * 15) / 1e6,  # 0.0045
    "batch-rows": (1_000_000 * 0.125 + 1_000_000 * 1.0) / 1e6,  # 1.125
    "task-a1": 1_000 * 3 / 1e6,
    "task-a2": (1_000 * 3 + 100 * 15) / 1e6,
    "task-a3": (1_000 * 3 + 200 * 15) / 1e6,
    "tie-a2": 1_000 * 3 / 1e6,
    "tie-a1": 1_000 * 3 / 1e6,
    "sh-a": 10.0 * 1_400 / 5_000,  # 2.80
    "sh-b": 10.0 * 3_600 / 5_000,  # 7.20
    "sh-c": 10.0,
    "price-old": 2.50,
    "price-new": 2.00,
    "no-zone": 0.003,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    project = Project(tmp_path_factory.mktemp("cost_rules"))
    (project.root / "prices" / "zz_gpt4o_change.csv").write_text(
        "provider,model,usage_type,usd_per_million,service_tier,min_input_tokens,effective_from,source\n"
        "openai,gpt-4o,input,2.00,standard,0,2026-11-03,test price cut\n"
    )
    write_jsonl(project.usage / "day.jsonl", EVENTS)
    # the same event again, in another file: one event
    write_jsonl(project.usage / "late-copy.jsonl", [EVENTS[0]])
    project.finops("backfill", "--from", DAY, "--to", "2026-11-03", check=True)
    return project


def costs(project: Project) -> dict[str, float | None]:
    return dict(project.query("select event_id, cost_usd from finance.fct_llm_requests"))


def test_every_worked_example_costs_exactly_what_the_rules_say(built):
    got = costs(built)
    for event_id, expected in EXPECTED_COST.items():
        assert got[event_id] == pytest.approx(expected, abs=1e-6), event_id


def test_the_reference_figures_by_hand(built):
    got = costs(built)
    assert got["cache-none"] == pytest.approx(0.156, abs=1e-9)
    assert got["cache-write"] == pytest.approx(0.1935, abs=1e-9)
    assert got["cache-read"] == pytest.approx(0.021, abs=1e-9)
    assert got["long-at"] == pytest.approx(0.275, abs=1e-9)
    assert got["long-above"] == pytest.approx(0.5500025, abs=1e-9)
    assert got["batch-rows"] == pytest.approx(1.125, abs=1e-9)


def test_list_cost_and_cache_savings(built):
    rows = {
        r[0]: r[1:]
        for r in built.query("select event_id, list_cost_usd, cache_savings_usd from finance.fct_llm_requests")
    }
    # cache read: list = every prompt token at input; savings = list - cost
    assert rows["cache-read"][0] == pytest.approx(0.156, abs=1e-9)
    assert rows["cache-read"][1] == pytest.approx(0.156 - 0.021, abs=1e-9)
    # a cache write costs more than it saves at first: negative savings
    assert rows["cache-write"][1] == pytest.approx(0.156 - 0.1935, abs=1e-9)
    # batch: list cost is at standard rates
    assert rows["batch-half"][0] == pytest.approx(0.009, abs=1e-9)
    assert rows["batch-rows"][0] == pytest.approx(2.25, abs=1e-9)


def test_unpriced_usage_stays_null_and_is_counted(built):
    status, cost = built.query(
        "select pricing_status, cost_usd from finance.fct_llm_requests where event_id = 'unpriced'"
    )[0]
    assert (status, cost) == ("unpriced", None)
    assert built.query("""select unpriced_requests, cost_usd, unpriced_tokens from finance.agg_cost_daily
                          where provider = 'mistral'""") == [(1, None, 3_100)]


def test_a_duplicate_event_counts_once(built):
    assert built.query("select count(*) from finance.fct_llm_requests where event_id = 'cache-none'") == [(1,)]
    assert built.query("select count(*) from finance.fct_llm_requests") == [(len(EVENTS),)]


def test_a_task_with_two_failed_attempts_then_success(built):
    row = built.query("""select requests, failed_requests, retries, succeeded, cost_usd, retry_cost_usd,
                                input_tokens, output_tokens, started_at, ended_at
                         from finance.fct_llm_tasks where task_id = 'T1'""")[0]
    assert row[:4] == (3, 2, 2, True)
    assert row[4] == pytest.approx(0.003 + 0.0045 + 0.006, abs=1e-9)
    assert row[5] == pytest.approx(0.003 + 0.0045, abs=1e-9)
    assert row[6:8] == (3_000, 300)
    assert (row[8].isoformat(), row[9].isoformat()) == ("2026-11-02T10:00:00", "2026-11-02T10:02:00")
    flags = built.query("""select event_id, is_retry, is_failed from finance.fct_llm_requests
                           where task_id = 'T1' order by attempt""")
    assert flags == [("task-a1", False, True), ("task-a2", True, True), ("task-a3", True, False)]


def test_attempts_in_the_same_second_are_ordered_by_attempt(built):
    """A task's tenant and feature are those of its first call, its outcome that of its last: by time, then by
    attempt when the time is the same."""
    assert built.query("""select tenant_id, feature, requests, failed_requests, succeeded from finance.fct_llm_tasks
                          where task_id = 'T2'""") == [("hooli", "support-agent", 2, 1, True)]


def test_a_call_without_task_is_its_own_task(built):
    assert built.query("select task_id, requests from finance.fct_llm_tasks where task_id = 'o3'") == [("o3", 1)]


def test_self_hosted_split_and_idle_to_the_cent(built):
    shares = built.query("""select hour_start::varchar, tenant_id, feature, round(cost_usd, 2), weighted_tokens
                            from finance.self_hosted_allocation
                            where deployment_id = 'llama-fixed' and tenant_id <> '__idle__'
                            order by 1, 2""")
    assert shares == [
        ("2026-11-02 10:00:00", "acme", "chat", 2.80, 1_400),
        ("2026-11-02 10:00:00", "globex", "chat", 7.20, 3_600),
        ("2026-11-02 11:00:00", "globex", "rerank", 10.00, 10),
    ]
    idle = built.query("""select count(*), round(sum(cost_usd), 2) from finance.self_hosted_allocation
                          where deployment_id = 'llama-fixed' and tenant_id = '__idle__'
                            and usage_date = '2026-11-02'""")
    assert idle == [(22, 220.00)]
    total = built.query("""select round(sum(cost_usd), 2) from finance.self_hosted_allocation
                           where deployment_id = 'llama-fixed' and usage_date = '2026-11-02'""")
    assert total == [(240.00,)]


def test_gpu_priced_deployment_uses_the_cheapest_latest_offer(built):
    # 8 x H100 SXM on demand: lambda's 2.49 per GPU-hour is the cheapest offer observed by then
    rows = built.query("""select count(*), round(sum(cost_usd), 2), min(cost_usd), max(cost_usd)
                          from finance.self_hosted_allocation
                          where deployment_id = 'llama-h100' and usage_date = '2026-11-02'""")
    assert rows[0][0] == 24
    assert rows[0][1] == pytest.approx(24 * 8 * 2.49, abs=0.005)
    assert rows[0][2] == pytest.approx(19.92, abs=1e-9)


def test_request_tables_carry_request_costs_and_sums_agree(built):
    requests = built.query("select sum(cost_usd), count(*) from finance.fct_llm_requests")[0]
    daily = built.query("select sum(cost_usd), sum(requests) from finance.agg_cost_daily")[0]
    tasks = built.query("select sum(cost_usd), sum(requests) from finance.fct_llm_tasks")[0]
    weekly = built.query("select sum(cost_usd) from finance.showback_weekly")[0]
    assert requests[0] == pytest.approx(sum(EXPECTED_COST.values()), abs=1e-6)
    assert daily[0] == pytest.approx(requests[0], abs=1e-9) and daily[1] == requests[1]
    assert tasks[0] == pytest.approx(requests[0], abs=1e-9) and tasks[1] == requests[1]
    assert weekly[0] == pytest.approx(requests[0], abs=1e-9)


def test_price_history_has_valid_from_and_valid_to(built):
    rows = built.query("""select usd_per_million, valid_from::varchar, valid_to::varchar, source
                          from finance.price_history
                          where model = 'gpt-4o' and usage_type = 'input' order by valid_from""")
    assert rows == [(2.50, "2026-01-01", "2026-11-03", rows[0][3]), (2.00, "2026-11-03", None, "test price cut")]


def test_gpu_offers_have_a_per_gpu_hour_price(built):
    rows = built.query("""select usd_per_hour, usd_per_gpu_hour from finance.gpu_offers
                          where provider = 'coreweave' and gpu_model = 'H100 SXM' and gpu_count = 8""")
    assert rows == [(49.24, pytest.approx(6.155))]
