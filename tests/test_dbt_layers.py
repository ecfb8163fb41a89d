"""The dbt project's layers: a model reads only the layers below its own (sources -> staging -> intermediate ->
marts). Staging reads only sources; an intermediate model reads staging or other intermediate models, never a mart;
a mart never reads another mart. The edges are the parsed manifest's depends_on."""

from __future__ import annotations

import json

import pytest

from warehouse.dbt_args import project_manifest

pytestmark = pytest.mark.unit  # no pipeline run: part of `make check`

# what each layer may read: a source or a model of these layers
MAY_READ = {
    "staging": {"source"},
    "intermediate": {"staging", "intermediate"},
    "marts": {"staging", "intermediate"},
}


def _layer(node: dict) -> str:
    return "source" if node["resource_type"] == "source" else node["fqn"][1]


def layer_violations(manifest: dict) -> list[str]:
    """Each edge that reads a layer its model may not: 'model (layer) reads other (layer)'."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    violations = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        for parent in node["depends_on"]["nodes"]:
            if _layer(nodes[parent]) not in MAY_READ[_layer(node)]:
                violations.append(
                    f"{node['name']} ({_layer(node)}) reads {nodes[parent]['name']} ({_layer(nodes[parent])})"
                )
    return sorted(violations)


@pytest.fixture(scope="module")
def manifest() -> dict:
    """The project's manifest, parsed again only when a dbt file changed since (a full parse is most of this
    module's time)."""
    return json.loads(project_manifest().read_text())


def test_every_model_is_in_a_layer(manifest):
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert models
    assert {_layer(n) for n in models} == set(MAY_READ)


def test_no_model_reads_its_own_layer_or_above(manifest):
    assert layer_violations(manifest) == []
