"""Each vocabulary (service tiers, statuses, usage types, pricings, ...) is declared once, in core/vocabulary.py:
dbt's defaults in dbt_project.yml are the same lists, every build passes them, the yml accepted values read
them with var(), and no other Python file declares a copy."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from core import vocabulary
from core.vocabulary import DBT_VARS
from warehouse.dbt_args import build_env, dbt_build_args

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = ROOT / "dbt_project"
PACKAGES = ("core", "ingest", "warehouse", "expectations", "reports", "orchestration", "finops")
VOCABULARIES = {name: values for name, values in vars(vocabulary).items() if name.isupper() and name != "DBT_VARS"}


def test_dbt_defaults_are_the_python_vocabularies():
    defaults = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())["vars"]
    assert {name: defaults.get(name) for name in DBT_VARS} == {name: list(v) for name, v in DBT_VARS.items()}


def test_every_build_passes_the_vocabularies_as_vars_and_its_own_context_in_the_environment():
    args = dbt_build_args()
    passed = json.loads(args[args.index("--vars") + 1])
    assert passed == {name: list(v) for name, v in DBT_VARS.items()}
    context = build_env({"history_task_files": ["/w/tasks/usage_date=2026-11-01/part.parquet"], "anomaly_ratio": 1.5})
    assert context == {
        "FINOPS_VAR_HISTORY_TASK_FILES": '["/w/tasks/usage_date=2026-11-01/part.parquet"]',
        "FINOPS_VAR_ANOMALY_RATIO": "1.5",
    }


def _accepted_values(node):
    """The values of every column's accepted values (the `rules` tests' accepted_values) in a parsed yml document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "accepted_values":
                yield from value.values()
            else:
                yield from _accepted_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from _accepted_values(item)


def test_the_accepted_values_tests_read_the_vocabularies():
    found = [
        (path.name, values)
        for path in sorted((DBT_PROJECT / "models").rglob("*.yml"))
        for values in _accepted_values(yaml.safe_load(path.read_text()))
    ]
    assert len(found) == 22
    assert [(name, values) for name, values in found if values not in [f"{{{{ var('{v}') }}}}" for v in DBT_VARS]] == []


def _string_collections(tree: ast.AST):
    """The tuples, lists and sets of string literals in a module, as sets, with their line."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and len(node.elts) > 1
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
        ):
            yield node.lineno, {e.value for e in node.elts}


def test_no_other_python_file_declares_a_vocabulary():
    sets = {frozenset(values): name for name, values in VOCABULARIES.items()}
    copies = [
        f"{path.relative_to(ROOT)}:{line} ({sets[frozenset(values)]})"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "core" / "vocabulary.py"
        for line, values in _string_collections(ast.parse(path.read_text()))
        if frozenset(values) in sets
    ]
    assert copies == []
