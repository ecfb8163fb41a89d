"""The packages' layers: no import cycle between finops's packages, and the bottom layer (core/) imports none of
them. Imports are read from the source with ast (at run time: the ones under `if TYPE_CHECKING:` are only for
annotations)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "ingest", "warehouse", "expectations", "reports", "orchestration", "finops")
BOTTOM = "core"


def _imports(tree: ast.AST):
    """The modules a file imports, leaving out the blocks under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        yield from _imports(node)


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> the other packages of ours it imports -> the files that do."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in _imports(ast.parse(path.read_text(), str(path))):
                top = module.split(".")[0]
                if top in PACKAGES and top != package:
                    graph[package][top].append(str(path.relative_to(ROOT)))
    return graph


def cycle(graph: dict[str, dict[str, list[str]]]) -> list[str]:
    """One cycle of the graph as [a, b, ..., a], or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return []
        for nxt in graph.get(node, {}):
            found = visit(nxt, path + [node])
            if found:
                return found
        done.add(node)
        return []

    for package in PACKAGES:
        found = visit(package, [])
        if found:
            return found
    return []


def test_the_packages_import_each_other_without_a_cycle():
    graph = package_graph()
    found = cycle(graph)
    assert not found, (
        " -> ".join(found)
        + ": "
        + "; ".join(f"{a} -> {b} in {', '.join(sorted(set(graph[a][b])))}" for a, b in zip(found, found[1:]))
    )


def test_the_bottom_layer_imports_none_of_our_packages():
    assert dict(package_graph().get(BOTTOM, {})) == {}


def test_a_cycle_is_found():
    """The check itself: a graph with a cycle is reported, with its path."""
    assert cycle({"core": {"ingest": []}, "ingest": {"warehouse": []}, "warehouse": {"ingest": []}}) == [
        "ingest",
        "warehouse",
        "ingest",
    ]
    assert cycle({"ingest": {"core": []}, "warehouse": {"ingest": [], "core": []}}) == []
