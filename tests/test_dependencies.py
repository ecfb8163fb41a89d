"""Every third-party package the code imports is declared in pyproject.toml (a fresh `pip install -e ".[dev,spark]"`
installs it), so nothing works only because another package happened to pull it in."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from test_layers import PACKAGES

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = [*PACKAGES, "benchmarks", "tests"]


def _imported_top_names() -> dict[str, set[str]]:
    """Top-level module name -> the files importing it, for every absolute import of the code."""
    names: dict[str, set[str]] = {}
    for folder in CODE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found = [node.module]
                else:
                    continue
                for name in found:
                    names.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return names


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_normalise(re.match(r"[A-Za-z0-9_.-]+", req).group(0)) for req in requirements}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_third_party_package_is_declared():
    ours = {path.name for path in ROOT.iterdir() if path.is_dir()} | {
        path.stem for path in (ROOT / "tests").glob("*.py")
    }
    distributions = packages_distributions()
    declared = _declared_distributions()
    undeclared = {}
    for name, files in _imported_top_names().items():
        if name in sys.stdlib_module_names or name in ours:
            continue
        providers = {_normalise(dist) for dist in distributions.get(name, [name])}
        if not providers & declared:
            undeclared[name] = sorted(files)[:3]
    assert undeclared == {}, f"imported but not declared in pyproject.toml (package: files): {undeclared}"
