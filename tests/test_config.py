"""A bad config exits 2 with a message naming the file and the key (docs/spec.md#config), through the real CLI."""

from __future__ import annotations

import subprocess

import pytest
from conftest import FINOPS, Project, event, write_jsonl


@pytest.fixture
def project(project: Project) -> Project:
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    return project


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("[anomalies]\nratio = 1.5\nthreshold = 3\n", "unknown key 'anomalies.threshold'"),
        ('[anomalies]\nratio = "high"\n', "key 'anomalies.ratio' must be int or float, got str 'high'"),
        ("[smtp]\nport = 25\n", "missing required key 'smtp.host'"),
        ('[reporting]\ndir = "x"\n', "unknown key 'reporting'"),
        ("[anomalies]\nmin_usd = true\n", "key 'anomalies.min_usd' must be int or float, got bool True"),
        ('[[owners]]\nemail = "a@example.com"\nname = "A"\n', "owners[0] ('A') needs 'features' or 'tenants'"),
        (
            '[[owners]]\nemail = "not an address"\nname = "A"\nfeatures = ["x"]\n',
            "key 'owners[0].email' is 'not an address', expected one address",
        ),
        (
            '[[owners]]\nemail = "a@example.com"\nname = "Search Team"\nfeatures = ["x"]\n'
            '[[owners]]\nemail = "b@example.com"\nname = "search team"\nfeatures = ["y"]\n',
            "owners[1] ('search team', b@example.com) has the same email or file name as owner 'Search Team'",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_key(project: Project, extra: str, expected: str):
    project.write_config(extra=extra)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert str(project.config) in proc.stderr


@pytest.mark.parametrize(
    "quality, expected",
    [
        (
            'earliest_usage_date = "2000-13-01"',
            "key 'quality.earliest_usage_date' is '2000-13-01', expected a date YYYY-MM-DD",
        ),
        ("earliest_usage_date = 2000-01-01", "key 'quality.earliest_usage_date' must be str, got date"),
        ("max_usage_days_ahead = -1", "key 'quality.max_usage_days_ahead' is -1, expected a whole number >= 0"),
        ("max_usage_days_ahead = 1.5", "key 'quality.max_usage_days_ahead' must be int, got float 1.5"),
    ],
)
def test_a_bad_usage_window_exits_2_naming_the_key(project: Project, quality: str, expected: str):
    project.write_config(quality=quality)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr


def test_a_source_path_matching_no_file_exits_2(project: Project):
    project.config.write_text(
        project.config.read_text().replace('path = "gpus/offers.csv"', 'path = "gpus/missing.csv"')
    )
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "gpu.sources[0].path" in proc.stderr and "missing.csv" in proc.stderr


def test_a_missing_config_file_exits_2(project: Project):
    proc = subprocess.run(
        [str(FINOPS), "run", "--config", str(project.root / "nope.toml")], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "nope.toml: config file not found" in proc.stderr


def test_a_bad_price_sheet_exits_2_with_file_and_line(project: Project):
    sheet = project.root / "prices" / "list_prices.csv"
    lines = sheet.read_text().splitlines()
    lines[3] = lines[3].replace(",standard,", ",premium,")
    sheet.write_text("\n".join(lines) + "\n")
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert f"{sheet}:4: column 'service_tier' is 'premium'" in proc.stderr


def test_a_deployment_needs_a_cost(project: Project):
    project.write_config(deployments='[[deployments]]\nid = "x"\noutput_weight = 2\n')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "deployments[0] ('x') needs exactly one of 'hourly_cost_usd' or 'gpu'" in proc.stderr


def test_a_usage_glob_matching_no_file_exits_2(project: Project):
    (project.usage / "u.jsonl").unlink()
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "key 'usage.sources[0].path': no file matches" in proc.stderr


def test_a_memory_limit_that_is_not_a_size_exits_2(project: Project):
    project.write_config(warehouse='path = "warehouse/finops.duckdb"\nmemory_limit = "lots"')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "key 'warehouse.memory_limit' must be a size like \"3GB\" or \"512MB\", got 'lots'" in proc.stderr


@pytest.mark.parametrize(
    "value, message",
    [
        ("0", "key 'warehouse.max_calls_per_build' is 0, expected a whole number >= 1"),
        ('"many"', "warehouse.max_calls_per_build"),
    ],
)
def test_a_max_calls_per_build_that_is_not_a_positive_count_exits_2(project: Project, value, message):
    project.write_config(warehouse=f'path = "warehouse/finops.duckdb"\nmax_calls_per_build = {value}')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert message in proc.stderr


PRICE_URL = '[[prices.sources]]\nkind = "litellm_json"\nname = "litellm"\nurl = "https://example.com/p.json"\n'
GPU_DEPLOYMENT = '[[deployments]]\nid = "gpus"\ngpu = "H100 SXM"\noutput_weight = 1\n'
FIXED_DEPLOYMENT = '[[deployments]]\nid = "fixed"\n'


@pytest.mark.parametrize(
    "section, message",
    [
        ("[anomalies]\nratio = inf", "key 'anomalies.ratio' is inf, expected a number >= 1"),
        ("[anomalies]\nratio = -1.5", "key 'anomalies.ratio' is -1.5, expected a number >= 1"),
        ("[anomalies]\nmin_usd = -10", "key 'anomalies.min_usd' is -10, expected a number >= 0"),
        ("[anomalies]\nmin_usd = nan", "key 'anomalies.min_usd' is nan, expected a number >= 0"),
        (f"{GPU_DEPLOYMENT}gpu_count = -2", "key 'deployments[0].gpu_count' is -2, expected a whole number >= 1"),
        (f"{GPU_DEPLOYMENT}gpu_count = 0", "key 'deployments[0].gpu_count' is 0, expected a whole number >= 1"),
        (
            f"{FIXED_DEPLOYMENT}hourly_cost_usd = nan",
            "key 'deployments[0].hourly_cost_usd' is nan, expected a number >= 0",
        ),
        (
            f"{FIXED_DEPLOYMENT}hourly_cost_usd = inf",
            "key 'deployments[0].hourly_cost_usd' is inf, expected a number >= 0",
        ),
        (
            f"{FIXED_DEPLOYMENT}hourly_cost_usd = -3.5",
            "key 'deployments[0].hourly_cost_usd' is -3.5, expected a number >= 0",
        ),
        (
            f"{FIXED_DEPLOYMENT}hourly_cost_usd = 2\noutput_weight = inf",
            "key 'deployments[0].output_weight' is inf, expected a number >= 0",
        ),
        (
            "[quality]\nmax_unpriced_share = -0.1",
            "key 'quality.max_unpriced_share' is -0.1, expected a number >= 0 and <= 1",
        ),
        (
            "[quality]\nmax_quarantined_share = 1.5",
            "key 'quality.max_quarantined_share' is 1.5, expected a number >= 0 and <= 1",
        ),
        (
            "[quality]\nmin_requests_vs_trailing_week = nan",
            "key 'quality.min_requests_vs_trailing_week' is nan, expected a number >= 0 and <= 1",
        ),
        ("[quality]\nmax_price_age_days = -1", "key 'quality.max_price_age_days' is -1, expected a whole number >= 0"),
        ('[smtp]\nhost = "localhost"\nport = 0', "key 'smtp.port' is 0, expected a whole number >= 1 and <= 65535"),
        (
            '[smtp]\nhost = "localhost"\nport = 70000',
            "key 'smtp.port' is 70000, expected a whole number >= 1 and <= 65535",
        ),
        (
            f"{PRICE_URL}timeout_seconds = inf",
            "key 'prices.sources[1].timeout_seconds' is inf, expected a number > 0 and <= 3600",
        ),
        (
            f"{PRICE_URL}timeout_seconds = 0",
            "key 'prices.sources[1].timeout_seconds' is 0, expected a number > 0 and <= 3600",
        ),
        (f"{PRICE_URL}max_bytes = -1", "key 'prices.sources[1].max_bytes' is -1, expected a whole number >= 1"),
    ],
    ids=[
        "ratio-inf",
        "ratio-negative",
        "min_usd-negative",
        "min_usd-nan",
        "gpu_count-negative",
        "gpu_count-0",
        "hourly_cost-nan",
        "hourly_cost-inf",
        "hourly_cost-negative",
        "output_weight-inf",
        "share-negative",
        "share-above-1",
        "share-nan",
        "price_age-negative",
        "port-0",
        "port-70000",
        "timeout-inf",
        "timeout-0",
        "max_bytes-negative",
    ],
)
def test_a_number_out_of_its_range_exits_2_naming_the_key_and_the_range(project: Project, section, message):
    if section.startswith("[[deployments]]"):
        project.write_config(deployments=section)
    elif section.startswith("[quality]"):
        project.write_config(quality=section.removeprefix("[quality]\n"))
    else:
        project.write_config(extra=section)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and str(project.config) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "keys, message",
    [
        (
            'allocation = "fair"',
            "key 'deployments[0].allocation' is 'fair', expected one of: hourly_share, rate_card",
        ),
        (
            'allocation = "rate_card"',
            "key 'deployments[0].rate_usd_per_million_weighted_tokens' is required with allocation = \"rate_card\"",
        ),
        (
            'allocation = "rate_card"\nrate_usd_per_million_weighted_tokens = "previous"',
            "key 'deployments[0].rate_usd_per_million_weighted_tokens' is 'previous', expected a number >= 0 or \"auto\"",
        ),
        (
            'allocation = "rate_card"\nrate_usd_per_million_weighted_tokens = nan',
            "key 'deployments[0].rate_usd_per_million_weighted_tokens' is nan, expected a number >= 0 or \"auto\"",
        ),
        (
            "rate_usd_per_million_weighted_tokens = 0.8",
            "key 'deployments[0].rate_usd_per_million_weighted_tokens' goes with allocation = \"rate_card\"",
        ),
    ],
    ids=["unknown-allocation", "rate_card-without-rate", "rate-not-auto", "rate-nan", "rate-without-rate_card"],
)
def test_a_bad_allocation_exits_2_naming_the_key(project: Project, keys, message):
    project.write_config(deployments=f"{FIXED_DEPLOYMENT}hourly_cost_usd = 2\n{keys}\n")
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and str(project.config) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "section, message",
    [
        (
            '[[budgets]]\nname = "b"\nowner = "Nobody"\nmonthly_usd = 10',
            "key 'budgets[0].owner' is 'Nobody', expected the name of an [[owners]] entry (none configured)",
        ),
        (
            '[[budgets]]\nname = "b"\nmonthly_usd = 10\nalert_at = [1.0, 0.8]',
            "key 'budgets[0].alert_at' is [1.0, 0.8], expected ascending shares of the budget > 0 and <= 10",
        ),
        (
            '[[budgets]]\nname = "b"\nmonthly_usd = 0',
            "key 'budgets[0].monthly_usd' is 0, expected a number > 0",
        ),
        (
            '[[budgets]]\nname = "b"\nmonthly_usd = 10\n[[budgets]]\nname = "b"\nmonthly_usd = 20',
            "key 'budgets[1].name' is 'b': budget names must be unique, not empty",
        ),
        (
            '[alerts]\nwebhook_url = "hooks.example.com/x"',
            "key 'alerts.webhook_url' is 'hooks.example.com/x', expected an http:// or https:// URL",
        ),
    ],
    ids=["unknown-owner", "alert_at-descending", "budget-0", "duplicate-name", "webhook-not-http"],
)
def test_a_bad_budget_or_alerts_key_exits_2_naming_it(project: Project, section, message):
    project.write_config(section)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and str(project.config) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", ".hidden", "with space"])
def test_a_source_name_that_is_not_a_simple_name_exits_2(project: Project, name):
    project.write_config(
        extra=f'[[prices.sources]]\nkind = "litellm_json"\nname = "{name}"\nurl = "https://example.com/p.json"\n'
    )
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert f"key 'prices.sources[1].name' is '{name}', expected a simple name" in proc.stderr
    assert not (project.root / "warehouse").exists()


def test_a_path_starting_with_a_tilde_is_in_the_home_folder(project: Project, tmp_path, monkeypatch):
    from core.config import load_config

    home = tmp_path / "home"
    (home / "usage").mkdir(parents=True)
    write_jsonl(home / "usage" / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    monkeypatch.setenv("HOME", str(home))
    project.write_config(
        warehouse='path = "~/wh/finops.duckdb"',
        usage='[[usage.sources]]\nkind = "canonical"\npath = "~/usage/*.jsonl"\n',
        extra='[reports]\ndir = "~/reports"\noutbox = "~/outbox"\n[landing]\ndir = "~/landing"\n',
    )
    cfg = load_config(project.config)
    assert cfg.warehouse_path == home / "wh" / "finops.duckdb"
    assert cfg.usage_sources[0].files() == [home / "usage" / "u.jsonl"]
    assert (cfg.reports_dir, cfg.outbox_dir, cfg.landing_dir) == (home / "reports", home / "outbox", home / "landing")


def test_an_smtp_login_without_starttls_is_refused_unless_plain_login_is_allowed(project: Project):
    from core.config import load_config

    login = '[smtp]\nhost = "localhost"\nusername_env = "SMTP_USER"\npassword_env = "SMTP_PASSWORD"\n'
    project.write_config(extra=login)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert "[smtp] logs in (username_env) without STARTTLS" in line and "allow_plain_login = true" in line
    project.write_config(extra=login + "allow_plain_login = true\n")
    assert load_config(project.config).smtp.username_env == "SMTP_USER"
    project.write_config(extra=login + "starttls = true\n")
    assert load_config(project.config).smtp.starttls


OPTION = 'id = "ds"\nmodel = "deepseek-v4"\ngpu = "H100 SXM"\ngpu_count = 8\noutput_tokens_per_second = 620\n'


@pytest.mark.parametrize(
    "option, expected",
    [
        ("", "missing required key 'self_host_options[0].replaces'"),
        ('replaces = "deepseek/deepseek-v4-pro"', "key 'self_host_options[0].replaces' must be list, got str"),
        ("replaces = []", "key 'self_host_options[0].replaces' must be a non-empty array of \"provider/model\""),
        (
            'replaces = ["deepseek-v4-pro"]',
            "key 'self_host_options[0].replaces' is 'deepseek-v4-pro', expected \"provider/model\"",
        ),
        (
            'replaces = ["deepseek/v4", "deepseek/v4"]',
            "key 'self_host_options[0].replaces' names a provider/model twice",
        ),
        (
            'replaces = ["deepseek/v4"]\npricing = "hourly"',
            "key 'self_host_options[0].pricing' is 'hourly', expected one of: on_demand, spot, reserved",
        ),
        (
            'replaces = ["deepseek/v4"]\nmax_utilisation = 0',
            "key 'self_host_options[0].max_utilisation' is 0, expected a number > 0 and <= 1",
        ),
        (
            'replaces = ["deepseek/v4"]\nops_usd_per_month = -5',
            "key 'self_host_options[0].ops_usd_per_month' is -5, expected a number >= 0",
        ),
        ('replaces = ["deepseek/v4"]\nnodes = 2', "unknown key 'self_host_options[0].nodes'"),
    ],
)
def test_a_bad_self_host_option_exits_2_naming_the_key(project: Project, option: str, expected: str):
    project.write_config(extra=f"[[self_host_options]]\n{OPTION}{option}\n")
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert str(project.config) in proc.stderr


def test_a_deployment_compares_with_a_provider_and_model(project: Project):
    project.write_config(deployments='[[deployments]]\nid = "x"\nhourly_cost_usd = 3\ncompare_with = "gpt-5"\n')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "key 'deployments[0].compare_with' is 'gpt-5', expected \"provider/model\"" in proc.stderr
