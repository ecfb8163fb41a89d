"""`finops demo` on a fresh folder: sample config + generated data, a backfill, a summary."""

from __future__ import annotations

import subprocess

from conftest import FINOPS


def test_demo_writes_a_project_builds_it_and_prints_a_summary(tmp_path):
    proc = subprocess.run([str(FINOPS), "demo", "--dir", str(tmp_path / "demo"), "--days", "10",
                           "--events-per-day", "300"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "demo" / "finops.toml").exists()
    assert len(list((tmp_path / "demo" / "usage").glob("usage-*.jsonl.gz"))) == 10
    for title in ("Cost by tenant", "Cost by feature", "Top tasks", "Self-hosted deployments"):
        assert title in proc.stdout
    assert f"warehouse: {tmp_path / 'demo' / 'warehouse' / 'finops.duckdb'}" in proc.stdout
    assert "acme" in proc.stdout and "support-agent" in proc.stdout
