"""Each mart says in its dbt `meta` under which name and how it is published (dbt_project/models/marts/_finance.yml),
and that agrees with what the publisher does today."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from warehouse.publish import BUILT_AS_PARTITIONS, WHOLE_TABLES
from warehouse.state import PARTITIONED_TABLES

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

MARTS = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"


def _finance_meta() -> dict[str, dict]:
    models = yaml.safe_load((MARTS / "_finance.yml").read_text(encoding="utf-8"))["models"]
    return {model["name"]: model["config"]["meta"]["finance"] for model in models}


def test_every_mart_has_a_model_file_and_a_published_name():
    meta = _finance_meta()
    assert sorted(meta) == sorted(path.stem for path in MARTS.glob("*.sql"))
    assert all(entry["publish"] in ("per_day", "whole") for entry in meta.values())


def test_the_meta_agrees_with_the_publisher():
    meta = _finance_meta()
    assert sorted(e["table"] for e in meta.values() if e["publish"] == "per_day") == sorted(PARTITIONED_TABLES)
    assert sorted(e["table"] for e in meta.values() if e["publish"] == "whole") == sorted(WHOLE_TABLES)
    assert {e["table"]: e["built_as_partitions"] for e in meta.values() if "built_as_partitions" in e} == BUILT_AS_PARTITIONS
