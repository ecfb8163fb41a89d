"""The finance tables and how each is published, declared once: in the dbt project, as each mart's alias (the
published name) and meta.finance (dbt_project/models/marts/_finance.yml), read here from the project's manifest. The publishers (DuckDB and Spark),
the pipeline state and the Dagster assets take their table lists from these functions."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from warehouse.dbt_args import project_manifest

PER_DAY = "per_day"  # Parquet partitions by usage_date under a view; a build rewrites its days only
WHOLE = "whole"  # rebuilt whole by every build


@dataclass(frozen=True)
class FinanceTable:
    table: str  # the published name, finance.<table>: the mart's alias, its relation in the build
    model: str  # the dbt mart (a node name: fct_, agg_, dim_, rpt_)
    publish: str  # PER_DAY or WHOLE
    built_as_partitions: str | None  # the model whose Parquet partitions of the build days publishing moves
    date_column: str | None  # the day (or week) each row belongs to, what `finops export --from/--to` filters on
    description: str  # the mart's dbt description
    columns: tuple[tuple[str, str], ...]  # (column, its dbt description), in the yml's order


@functools.cache
def finance_tables() -> tuple[FinanceTable, ...]:
    """Every mart with a meta.finance, by published name (its alias)."""
    manifest = json.loads(project_manifest().read_text(encoding="utf-8"))
    tables = []
    for node in manifest["nodes"].values():
        finance = node.get("config", {}).get("meta", {}).get("finance") if node["resource_type"] == "model" else None
        if finance:
            tables.append(
                FinanceTable(
                    node["alias"],
                    node["name"],
                    finance["publish"],
                    finance.get("built_as_partitions"),
                    finance.get("date_column"),
                    " ".join(node["description"].split()),
                    tuple((c["name"], " ".join(c["description"].split())) for c in node["columns"].values()),
                )
            )
    return tuple(sorted(tables, key=lambda t: t.table))


def finance_table(name: str) -> FinanceTable | None:
    return next((t for t in finance_tables() if t.table == name), None)


def per_day_tables() -> tuple[str, ...]:
    return tuple(t.table for t in finance_tables() if t.publish == PER_DAY)


def whole_tables() -> tuple[str, ...]:
    return tuple(t.table for t in finance_tables() if t.publish == WHOLE)


def built_as_partitions() -> dict[str, str]:
    """Per-day table -> the model that writes its partitions (dbt_project/macros/parquet_partitions.sql)."""
    return {t.table: t.built_as_partitions for t in finance_tables() if t.built_as_partitions}
