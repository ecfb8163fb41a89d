"""Each mart says by its dbt alias under which name, and in its `meta` how, it is published (dbt_project/models/marts/_finance.yml);
the publishers, the state and the Dagster assets read that list from the project's manifest
(warehouse/finance_tables.py), which is parsed when missing (a fresh clone) or stale."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from warehouse import dbt_args
from warehouse.finance_tables import built_as_partitions, finance_tables, per_day_tables, whole_tables

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

MARTS = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"


def test_every_mart_has_a_model_file_a_kind_prefix_and_a_published_name():
    models = yaml.safe_load((MARTS / "_finance.yml").read_text(encoding="utf-8"))["models"]
    assert sorted(model["name"] for model in models) == sorted(path.stem for path in MARTS.glob("*.sql"))
    assert all(model["name"].startswith(("fct_", "agg_", "dim_", "rpt_")) for model in models)
    assert all(model["config"]["meta"]["finance"]["publish"] in ("per_day", "whole") for model in models)
    assert all(model["config"]["alias"] for model in models)  # the published name, finance.<alias>


def test_the_published_tables_come_from_the_manifest():
    assert per_day_tables() == (
        "agg_cost_daily",
        "fct_llm_requests",
        "fct_llm_tasks",
        "focus_cost_daily",
        "self_hosted_allocation",
        "spend_daily",
        "usage_hourly",
    )
    assert whole_tables() == (
        "billing_reconciliation",
        "budget_status_daily",
        "cost_anomalies",
        "cost_anomaly_drivers",
        "gpu_offers",
        "model_mix_weekly",
        "premium_share_weekly",
        "price_history",
        "published_days",
        "quarantine",
        "rent_vs_api_monthly",
        "self_hosted_unit_cost_weekly",
        "showback_weekly",
        "spend_forecast_daily",
    )
    assert built_as_partitions() == {"fct_llm_requests": "int_requests__costed", "fct_llm_tasks": "int_tasks__rebuilt"}
    assert {t.table: t.model for t in finance_tables() if t.table != t.model} == {
        "billing_reconciliation": "rpt_billing_reconciliation",
        "budget_status_daily": "rpt_budget_status_daily",
        "cost_anomalies": "rpt_cost_anomalies",
        "cost_anomaly_drivers": "rpt_cost_anomaly_drivers",
        "focus_cost_daily": "agg_focus_cost_daily",
        "gpu_offers": "dim_gpu_offers",
        "model_mix_weekly": "agg_model_mix_weekly",
        "premium_share_weekly": "agg_premium_share_weekly",
        "price_history": "dim_price_history",
        "published_days": "fct_published_days",
        "quarantine": "fct_quarantine",
        "rent_vs_api_monthly": "rpt_rent_vs_api_monthly",
        "self_hosted_allocation": "fct_self_hosted_allocation",
        "self_hosted_unit_cost_weekly": "agg_self_hosted_unit_cost_weekly",
        "showback_weekly": "agg_showback_weekly",
        "spend_daily": "agg_spend_daily",
        "usage_hourly": "agg_usage_hourly",
        "spend_forecast_daily": "agg_spend_forecast_daily",
    }


def test_a_missing_or_stale_manifest_is_parsed_first(tmp_path, monkeypatch):
    manifest = tmp_path / "target" / "manifest.json"
    monkeypatch.setattr(dbt_args, "MANIFEST", manifest)
    assert dbt_args.project_manifest() == manifest  # a fresh clone: no target/ yet
    assert "model.finops.fct_llm_requests" in json.loads(manifest.read_text())["nodes"]
    os.utime(manifest, (0, 0))  # older than every dbt file
    assert dbt_args.manifest_is_stale()
    dbt_args.project_manifest()
    assert not dbt_args.manifest_is_stale()
