"""`finops demo` on a fresh folder: sample config + generated data, a backfill, a summary."""

from __future__ import annotations

import csv
import subprocess
from decimal import Decimal

from conftest import FINOPS
from dagster import AssetKey, DagsterInstance

from reports.week import IsoWeek


def test_demo_writes_a_project_builds_it_and_prints_a_summary(tmp_path, history_on):
    # 14 days ending yesterday always hold a complete ISO week, whatever the weekday today
    proc = subprocess.run(
        [str(FINOPS), "demo", "--dir", str(tmp_path / "demo"), "--days", "14", "--events-per-day", "300"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "demo" / "finops.toml").exists()
    assert len(list((tmp_path / "demo" / "usage").glob("usage-*.jsonl.gz"))) == 14
    for title in (
        "The whole bill",
        "Cost by tenant",
        "Cost by feature",
        "Top tasks",
        "Self-hosted deployments",
        "Computed vs billed",
        "Rent vs API",
    ):
        assert title in proc.stdout
    # sample vendor bills beside the usage: one per provider, the self-hosted deployment's GPU invoice included
    bills = {p.name for p in (tmp_path / "demo" / "bills").glob("*.csv")}
    assert {"openai.csv", "anthropic.csv", "self_hosted.csv"} <= bills
    assert f"warehouse: {tmp_path / 'demo' / 'warehouse' / 'finops.duckdb'}" in proc.stdout
    assert "acme" in proc.stdout and "support-agent" in proc.stdout
    # the two self-host options of the sample config, in the summary and on the rent vs API page
    assert "gpt-oss-on-a100-spot" in proc.stdout and "deepseek-on-8xh100" in proc.stdout
    # the dbt docs of the finance tables, linked; the Dagster history of the 14 days, with the line that opens it
    docs = tmp_path / "demo" / "warehouse" / "reports" / "docs" / "index.html"
    assert f"tables:    {docs.as_uri()}" in proc.stdout and "model.finops.fct_llm_requests" in docs.read_text()
    home = tmp_path / "demo" / "warehouse" / "dagster_home"
    assert (
        f"dagster:   DAGSTER_HOME={home} FINOPS_CONFIG={tmp_path / 'demo' / 'finops.toml'} dagster dev" in proc.stdout
    )
    with DagsterInstance.from_config(str(home)) as instance:
        assert len(instance.get_materialized_partitions(AssetKey(["finance", "fct_llm_requests"]))) == 14
    # and the report of the last complete week: its pages, CSV files and one email per owner, with their paths
    week = str(IsoWeek.last_complete())
    reports = tmp_path / "demo" / "warehouse" / "reports" / week
    outbox = tmp_path / "demo" / "warehouse" / "outbox" / week
    for path in (
        reports / "showback.html",
        reports / "anomalies.html",
        reports / "rent_vs_api.html",
        reports / "cost_by_tenant.csv",
        outbox / "search.eml",
        outbox / "support.eml",
        outbox / "platform.eml",
    ):
        assert path.exists() and str(path) in proc.stdout
    # the showback headline is the whole bill: API + self-hosted allocated + idle + unrecovered, to the cent
    [summary] = list(csv.DictReader((reports / "summary.csv").open()))
    parts = sum(Decimal(summary[part]) for part in ("api_usd", "allocated_usd", "idle_usd", "unrecovered_usd"))
    assert Decimal(summary["idle_usd"]) > 0 and abs(Decimal(summary["cost_usd"]) - parts) <= Decimal("0.02")
