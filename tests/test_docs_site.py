"""`finops docs` (issue 24 §4): the dbt docs of the finance tables, one static page in the reports folder, with the
descriptions from the dbt yml, the column types of the published tables and the lineage."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

from conftest import Project, event, write_jsonl

from warehouse.finance_tables import finance_tables


def embedded(html: str, name: str) -> dict:
    """The manifest or catalog the static page carries (as `manifest:{...}` / `catalog:{...}` in its script)."""
    return json.JSONDecoder().raw_decode(html, html.index(f"{name}:{{") + len(name) + 1)[0]


def test_finops_docs_writes_one_page_with_the_finance_tables_their_types_and_lineage(project: Project):
    write_jsonl(project.usage / "a.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    project.finops("run", "--date", "2026-11-02", check=True)
    proc = project.finops("docs", check=True)
    page = project.warehouse.parent / "reports" / "docs" / "index.html"
    assert proc.stdout.strip() == str(page)
    html = page.read_text(encoding="utf-8")
    manifest, catalog = (embedded(html, name) for name in ("manifest", "catalog"))
    requests = manifest["nodes"]["model.finops.fct_llm_requests"]
    assert requests["description"].startswith("One row per distinct LLM call attempt")  # the mart's yml
    assert requests["columns"]["cost_usd"]["description"].startswith("What the call cost in USD")
    assert "model.finops.int_requests__costed" in requests["depends_on"]["nodes"]  # the lineage
    # the catalog: the published tables' column types, read from a copy of the warehouse
    columns = catalog["nodes"]["model.finops.fct_llm_requests"]["columns"]
    assert (columns["cost_usd"]["type"], columns["input_tokens"]["type"]) == ("DECIMAL(38,12)", "BIGINT")
    assert {n.removeprefix("model.finops.") for n in catalog["nodes"]} == {t.model for t in finance_tables()}
    # and the page renders from the disk: headless Chromium shows the table's columns with their types
    rendered = rendered_without_scripts(f"{page.as_uri()}#!/model/model.finops.fct_llm_requests")
    assert '<span class="text-dark ng-binding">cost_usd</span>' in rendered
    assert '<span class="text-dark ng-binding">DECIMAL(38,12)' in rendered


def rendered_without_scripts(url: str) -> str:
    binary = shutil.which("chromium")
    assert binary, "Debian's chromium is required (make test installs it: apt-get install chromium)"
    dom = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    ).stdout
    return re.sub(r"<script.*?</script>", "", dom, flags=re.S)  # (the page carries its data in a script)


def test_finops_docs_before_a_publish_exits_2(project: Project):
    write_jsonl(project.usage / "a.jsonl", [event("e1", "2026-11-02T10:00:00Z")])
    proc = project.finops("docs")
    assert proc.returncode == 2
    assert "no published warehouse yet" in proc.stderr and "Traceback" not in proc.stderr
