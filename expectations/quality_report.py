"""The quality report of a run: [reports].dir/quality/<date>.html, one page per usage day the run built.

A self-contained HTML page (inline CSS, no script, no network): the verdict, what failed with a few
failing rows, the usage records quarantined from the files read for the built days (counts per file and reason, and
the first QUARANTINE_LINES of them with their file, line and raw text), the unpriced calls, the event_ids recorded more
than once (exact repeats and conflicting duplicates), then every suite with what it guards and each expectation's
result."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from expectations.results import CheckResult

QUARANTINE_LINES = 20  # the quarantined records a report shows line by line (`finops quarantine` prints them all)

if TYPE_CHECKING:  # (the suites import great_expectations)
    from expectations.suites import Suite
    from warehouse.build_summary import RepeatedEvents
    from warehouse.quarantine import QuarantinedRecord

DBT_GUARDS = "the dbt schema and data tests of every model (dbt_project/models/*.yml): keys, not-null, accepted values"

_TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>finops quality gate {{ day }}: {{ verdict }}</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #1d2430; }
 h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; } h3 { font-size: 1em; margin: 1.4em 0 .3em; }
 .verdict { padding: .7em 1em; border-radius: 6px; font-weight: 600; }
 .passed { background: #e3f5e8; color: #14532d; } .failed { background: #fde8e8; color: #7f1d1d; }
 table { border-collapse: collapse; width: 100%; margin: .4em 0 1em; }
 th, td { border-bottom: 1px solid #dde3ea; padding: .3em .5em; text-align: left; vertical-align: top; }
 th { background: #f3f5f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
 code { font-size: .92em; } .ok { color: #15803d; } .bad { color: #b91c1c; font-weight: 600; }
 .guards { color: #4b5563; margin: 0; }
 ul.examples { margin: .3em 0 0; padding-left: 1.1em; } ul.examples span { margin-right: 1em; white-space: nowrap; }
 details summary { cursor: default; color: #4b5563; margin: .3em 0; }
</style></head><body>
<h1>Quality gate for {{ day }}</h1>
<p class="verdict {{ 'passed' if not failed else 'failed' }}">
{% if failed %}FAILED: {{ failed|length }} of {{ results|length }} checks failed. Nothing was published; the last
good warehouse stays in place.{% elif warnings %}PASSED with {{ warnings|length }} warning(s): every other check
passed; the run was published.{% else %}PASSED: all {{ results|length }} checks passed; the run was published.{% endif %}
</p>
<p>Run <code>{{ run_id }}</code>, checked {{ checked_at }} UTC. Days built by this run: {{ days|join(', ') }}.</p>
{% if failed %}
<h2>What failed</h2>
<table><tr><th>suite</th><th>table</th><th>expectation</th><th>unexpected</th><th>detail</th></tr>
{% for r in failed %}<tr><td>{{ r.suite }}</td><td>{{ r.table }}</td><td><code>{{ r.expectation }}</code></td>
<td class="num">{{ r.unexpected_count }}</td><td>{{ r.message }}</td></tr>
{% set rows = examples(r) %}{% if rows %}<tr><td colspan="5">Failing rows:<ul class="examples">
{% for row in rows %}<li>{% for k, v in row.items() %}<span><b>{{ k }}</b> {{ v }}</span> {% endfor %}</li>{% endfor %}
</ul></td></tr>{% endif %}
{% endfor %}</table>
{% endif %}
{% if warnings %}
<h2>Warnings</h2>
<p>These checks failed but do not stop publishing (a billing gap: set <code>[quality] billing_gap_blocks = true</code>
to make it a failure). The rows over the limits (the first few of each):</p>
<table><tr><th>suite</th><th>table</th><th>expectation</th><th>rows</th></tr>
{% for r in warnings %}<tr><td>{{ r.suite }}</td><td>{{ r.table }}</td><td><code>{{ r.expectation }}</code></td>
<td class="num">{{ r.unexpected_count }}</td></tr>
{% set rows = examples(r) %}{% if rows %}<tr><td colspan="4"><ul class="examples">
{% for row in rows %}<li>{% for k, v in row.items() %}<span><b>{{ k }}</b> {{ v }}</span> {% endfor %}</li>{% endfor %}
</ul></td></tr>{% endif %}
{% endfor %}</table>
{% endif %}
<h2>Quarantined records</h2>
{% if quarantined %}
<p>{{ quarantined|length }} record(s) of the usage files read for the built days broke a rule of the usage record or
could not be read (docs/spec.md#usage-record); they are billed nowhere. All of them:
<code>finops quarantine --date {{ days[-1] }}</code>.</p>
<table><tr><th>file</th><th>reason</th><th>records</th></tr>
{% for (file, reason), count in quarantine_counts %}<tr><td>{{ file }}</td><td>{{ reason }}</td>
<td class="num">{{ count }}</td></tr>{% endfor %}
</table>
<p>The first {{ quarantined[:lines]|length }}:</p>
<table><tr><th>file</th><th>line</th><th>reason</th><th>raw text</th></tr>
{% for q in quarantined[:lines] %}<tr><td>{{ q.file }}</td><td class="num">{{ q.line if q.line is not none else '' }}</td>
<td>{{ q.reason }}</td><td><code>{{ q.raw if q.raw is not none else '' }}</code></td></tr>{% endfor %}
</table>
{% else %}<p>None: every record of the usage files read for the built days was accepted.</p>{% endif %}
<h2>Unpriced calls</h2>
{% if unpriced %}<p>No price source prices these calls: their cost is left NULL (never $0) and counted.</p>
<table><tr><th>provider</th><th>model</th><th>calls</th></tr>
{% for provider, model, calls in unpriced %}<tr><td>{{ provider }}</td><td>{{ model }}</td>
<td class="num">{{ calls }}</td></tr>{% endfor %}
</table>
{% else %}<p>None: every call of the built days is priced.</p>{% endif %}
{% if repeated %}
<h2>Repeated event_ids</h2>
<p>Recorded more than once in the usage files of the built days. An exact repeat is counted once. A conflicting
duplicate (the same event_id with other tokens, model, tier, time or attribution) keeps the occurrence in the file
staged first, then the lowest line, and bills no other: check the source (suite <code>duplicate_events</code>).</p>
<table><tr><th>day</th><th>exact repeats</th><th>conflicting</th><th>conflicting event_ids (the first 5)</th></tr>
{% for r in repeated %}<tr><td>{{ r.usage_date }}</td><td class="num">{{ r.exact_repeats }}</td>
<td class="num{{ ' bad' if r.conflicting }}">{{ r.conflicting }}</td><td>{{ r.examples|join(', ') }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2>Suites</h2>
{% for suite in suites %}
<h3>{{ suite.name }} <span class="{{ 'bad' if suite.failed else 'ok' }}">{{ 'failed' if suite.failed else 'passed' }}</span>
 on <code>{{ suite.table }}</code></h3>
<p class="guards">Guards against: {{ suite.guards }}.</p>
{% if suite.fold %}<details><summary>{{ suite.results|length }} checks (show)</summary>{% endif %}
<table><tr><th>expectation</th><th>result</th><th>unexpected</th></tr>
{% for r in suite.results %}<tr><td><code>{{ r.expectation }}</code></td>
<td class="{{ 'ok' if r.success else 'bad' }}">{{ 'pass' if r.success else 'FAIL' }}</td>
<td class="num">{{ r.unexpected_count }}</td></tr>{% endfor %}
</table>{% if suite.fold %}</details>{% endif %}
{% endfor %}
</body></html>
""")


def quality_report_path(reports_dir: Path, day: str) -> Path:
    """Where the quality report of a usage day is: [reports].dir/quality/<date>.html."""
    return reports_dir / "quality" / f"{day}.html"


def write_quality_reports(
    reports_dir: Path,
    run_id: str,
    days: list[str],
    suites: list[Suite],
    results: list[CheckResult],
    repeated: list[RepeatedEvents] = (),
    quarantined: list[QuarantinedRecord] = (),
    unpriced: list[tuple[str, str, int]] = (),
    warning_suites: frozenset[str] = frozenset(),
) -> list[Path]:
    """Write quality/<day>.html for every day of the run; returns the paths. `repeated`: the built days' event_ids
    recorded more than once, `unpriced`: their (provider, model, calls) with no price (warehouse/build_summary.py);
    `quarantined`: the records quarantined from the files read for them (warehouse/quarantine.py); `warning_suites`:
    the labels of the suites whose failure is a warning, not a failure (expectations.suites.warning_suites)."""
    guards = {s.label: (s.table, s.guards) for s in suites}
    groups = []
    for name in dict.fromkeys(r.suite for r in results):
        members = [r for r in results if r.suite == name]
        table, guard = guards.get(name, ("dbt models", DBT_GUARDS))
        failed = any(not r.success for r in members)
        groups.append(
            {
                "name": name,
                "table": table,
                "guards": guard,
                "results": members,
                "failed": failed,
                "fold": name not in guards and not failed,
            }
        )  # the many passing dbt tests: folded
    groups.sort(key=lambda g: (not g["failed"], g["name"] not in guards))  # failed first, then GX, then dbt
    html = _TEMPLATE.render(
        day=days[-1] if len(days) == 1 else f"{days[0]} .. {days[-1]}",
        verdict="FAILED" if any(not r.success and r.suite not in warning_suites for r in results) else "PASSED",
        failed=[r for r in results if not r.success and r.suite not in warning_suites],
        warnings=[r for r in results if not r.success and r.suite in warning_suites],
        results=results,
        suites=groups,
        run_id=run_id,
        days=days,
        examples=lambda r: json.loads(r.examples) if r.examples else [],
        repeated=list(repeated),
        quarantined=list(quarantined),
        quarantine_counts=sorted(Counter((q.file, q.reason) for q in quarantined).items()),
        lines=QUARANTINE_LINES,
        unpriced=list(unpriced),
        checked_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    )
    paths = [quality_report_path(reports_dir, day) for day in days]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html)
    return paths
