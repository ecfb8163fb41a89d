"""The packages' layers: no import cycle between finops's packages (the demo, finops/demo/, counts as one of its own:
it sits on the CLI), the bottom layer (core/) imports none of them, and ingest/ (reading, fetching, landing and
staging inputs) imports nothing of the warehouse it feeds. Imports are read from the source with ast (at run time: the ones under `if TYPE_CHECKING:` are only for
annotations)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "ingest", "warehouse", "expectations", "reports", "orchestration", "finops")
UNITS = (*PACKAGES, "finops.demo")  # the units whose imports must not make a cycle
BOTTOM = "core"
# unit -> the units it must not import (besides a cycle)
FORBIDDEN = {"ingest": ("warehouse", "expectations", "reports", "orchestration", "finops", "finops.demo")}


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


def unit_of(module: str) -> str | None:
    """The unit a module (dotted name) belongs to: the longest unit it is in; None when not one of ours."""
    units = [unit for unit in UNITS if module == unit or module.startswith(unit + ".")]
    return max(units, key=len, default=None)


def package_graph() -> dict[str, dict[str, list[str]]]:
    """unit -> the other units of ours it imports -> the files that do."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")):
        unit = unit_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module in _imports(ast.parse(path.read_text(), str(path))):
            imported = unit_of(module)
            if imported is not None and imported != unit:
                graph[unit][imported].append(str(path.relative_to(ROOT)))
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

    for unit in graph:
        found = visit(unit, [])
        if found:
            return found
    return []


def test_the_packages_import_each_other_without_a_cycle():
    graph = package_graph()
    found = cycle(graph)
    assert not found, (
        " -> ".join(found)
        + ": "
        + "; ".join(
            f"{a} -> {b} in {', '.join(sorted(set(graph[a][b])))}" for a, b in zip(found, found[1:], strict=False)
        )
    )


def test_the_bottom_layer_imports_none_of_our_packages():
    assert dict(package_graph().get(BOTTOM, {})) == {}


@pytest.mark.parametrize("unit", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_of_the_layers_above_it(unit):
    graph = package_graph()
    assert {above: sorted(set(graph[unit][above])) for above in FORBIDDEN[unit] if above in graph.get(unit, {})} == {}


def test_the_demo_is_its_own_unit():
    """The check itself: a module of the demo belongs to finops.demo, the CLI to finops."""
    assert [unit_of(m) for m in ("finops.demo", "finops.demo.sample_data", "finops.cli", "finops", "polars")] == [
        "finops.demo",
        "finops.demo",
        "finops",
        "finops",
        None,
    ]


def test_a_cycle_is_found():
    """The check itself: a graph with a cycle is reported, with its path."""
    assert cycle({"core": {"ingest": []}, "ingest": {"warehouse": []}, "warehouse": {"ingest": []}}) == [
        "ingest",
        "warehouse",
        "ingest",
    ]
    assert cycle({"ingest": {"core": []}, "warehouse": {"ingest": [], "core": []}}) == []
