"""A bad config exits 2 with a message naming the file and the key (CONTRACT §2), through the real CLI."""

from __future__ import annotations

import subprocess

import pytest

from conftest import FINOPS, Project, event, write_jsonl


@pytest.fixture
def project(project: Project) -> Project:
    write_jsonl(project.usage / "u.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    return project


@pytest.mark.parametrize("extra, expected", [
    ("[anomalies]\nratio = 1.5\nthreshold = 3\n", "unknown key 'anomalies.threshold'"),
    ("[anomalies]\nratio = \"high\"\n", "key 'anomalies.ratio' must be int or float, got str 'high'"),
    ("[smtp]\nport = 25\n", "missing required key 'smtp.host'"),
    ("[reporting]\ndir = \"x\"\n", "unknown key 'reporting'"),
    ("[anomalies]\nmin_usd = true\n", "key 'anomalies.min_usd' must be int or float, got bool True"),
    ('[[owners]]\nemail = "a@example.com"\nname = "A"\n', "owners[0] ('A') needs 'features' or 'tenants'"),
    ('[[owners]]\nemail = "not an address"\nname = "A"\nfeatures = ["x"]\n',
     "key 'owners[0].email' is 'not an address', expected one address"),
    ('[[owners]]\nemail = "a@example.com"\nname = "Search Team"\nfeatures = ["x"]\n'
     '[[owners]]\nemail = "b@example.com"\nname = "search team"\nfeatures = ["y"]\n',
     "owners[1] ('search team', b@example.com) has the same email or file name as owner 'Search Team'"),
])
def test_bad_config_exits_2_naming_the_key(project: Project, extra: str, expected: str):
    project.write_config(extra=extra)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert str(project.config) in proc.stderr


@pytest.mark.parametrize("quality, expected", [
    ('earliest_usage_date = "2000-13-01"', "key 'quality.earliest_usage_date' is '2000-13-01', expected a date "
                                           "YYYY-MM-DD"),
    ("earliest_usage_date = 2000-01-01", "key 'quality.earliest_usage_date' must be str, got date"),
    ("max_usage_days_ahead = -1", "key 'quality.max_usage_days_ahead' must not be negative, got -1"),
    ("max_usage_days_ahead = 1.5", "key 'quality.max_usage_days_ahead' must be int, got float 1.5"),
])
def test_a_bad_usage_window_exits_2_naming_the_key(project: Project, quality: str, expected: str):
    project.write_config(quality=quality)
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert expected in proc.stderr


def test_a_source_path_matching_no_file_exits_2(project: Project):
    project.config.write_text(project.config.read_text().replace('path = "gpus/offers.csv"',
                                                                 'path = "gpus/missing.csv"'))
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert "gpu.sources[0].path" in proc.stderr and "missing.csv" in proc.stderr


def test_a_missing_config_file_exits_2(project: Project):
    proc = subprocess.run([str(FINOPS), "run", "--config", str(project.root / "nope.toml")], capture_output=True,
                          text=True)
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


@pytest.mark.parametrize("value, message", [
    ("0", "key 'warehouse.max_calls_per_build' must be 1 or more, got 0"),
    ('"many"', "warehouse.max_calls_per_build"),
])
def test_a_max_calls_per_build_that_is_not_a_positive_count_exits_2(project: Project, value, message):
    project.write_config(warehouse=f'path = "warehouse/finops.duckdb"\nmax_calls_per_build = {value}')
    proc = project.finops("run", "--date", "2026-11-02")
    assert proc.returncode == 2
    assert message in proc.stderr
