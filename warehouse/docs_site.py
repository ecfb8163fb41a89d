"""`finops docs`: the dbt docs of the finance tables (each model's and column's description, the column types of the
published tables, the lineage from the raw inputs through staging and intermediate models) as one static page,
<reports>/docs/index.html, that opens from the disk in any browser (no server).

The column types come from a copy of the published catalog (the DuckDB engine): dbt opens the copy, never the
file finance reads. On Spark the page has the descriptions and the lineage, without the types.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from core.config import Config
from core.files import write_atomically
from warehouse.dbt_args import generate_docs
from warehouse.engines import engine_of

log = logging.getLogger("finops")


def docs_page(cfg: Config) -> Path:
    return cfg.reports_dir / "docs" / "index.html"


def write_docs_site(cfg: Config) -> Path:
    """Generate the page (replacing the last one whole) and return its path."""
    with tempfile.TemporaryDirectory(prefix="finops-docs-") as tmp:
        database = Path(tmp) / "finops.duckdb"
        copied = engine_of(cfg).copy_for_docs(database)
        page = generate_docs(database, Path(tmp) / "target", empty_catalog=not copied)
        out = docs_page(cfg)
        write_atomically(out, page.read_bytes())
    log.info("dbt docs of the finance tables: %s", out)
    return out
