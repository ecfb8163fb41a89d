"""The nightly benchmark (`make bench`): a day of N usage events through `finops run`, against the floor of
one hand-written DuckDB query over the same files (and the minimal tables: the least hand-written SQL that gives
the calls, tasks and daily tables). Prints one line per figure, `ratio=...` last.

    python benchmarks/nightly.py [--events 10000000] [--format jsonl|parquet] [--engine duckdb|spark] [--keep]
                                 [--vendor-records 1000000] [--vendor-only] [--small-events 10000]

It also stages N records of each vendor usage kind (benchmarks/vendor_exports.py) and the same calls as canonical
JSONL, and prints the records/s of each; and times a small day (10,000 calls) through `finops run` in a project
of its own: the fixed cost every run pays.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.vendor_exports import KINDS, write_exports  # noqa: E402
from core.config import load_config  # noqa: E402
from core.layout import WarehouseError  # noqa: E402
from finops.demo.sample_data import generate_usage  # noqa: E402
from ingest.usage_canonical import UsageWindow, stage_usage_file  # noqa: E402
from ingest.usage_exports import stage_export_file  # noqa: E402
from warehouse.engines import engine_of  # noqa: E402

BUNDLED = ROOT / "finops" / "bundled"
# The run and the floor price from the same one sheet (every model of the generated calls, article figures): the
# bundled config's LiteLLM catalog source is left out of the bench's config.
PRICES = ROOT / "tests" / "fixtures" / "prices" / "article_prices.csv"
LITELLM_SOURCE = """[[prices.sources]]                        # the base: LiteLLM's price catalog as of 2026-12-07 (a dated copy;
kind = "litellm_json"                    # `url` instead of `path` reads the live one)
name = "litellm"
path = "prices/litellm_catalog_2026-12-07.json"
"""
DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)

RATES_SQL = """
    select provider, model,
           max(case when usage_type = 'input' then usd_per_million end)       as input_rate,
           max(case when usage_type = 'cache_read' then usd_per_million end)  as cache_read_rate,
           max(case when usage_type = 'cache_write' then usd_per_million end) as cache_write_rate,
           max(case when usage_type = 'output' then usd_per_million end)      as output_rate
    from read_csv('{prices}')
    where service_tier = 'standard' and min_input_tokens = 0
    group by provider, model"""

COST_SQL = """
       ( (usage.input_tokens - coalesce(usage.cache_read_tokens, 0) - coalesce(usage.cache_write_tokens, 0))
             * rates.input_rate
       + coalesce(usage.cache_read_tokens, 0) * coalesce(rates.cache_read_rate, rates.input_rate)
       + coalesce(usage.cache_write_tokens, 0) * coalesce(rates.cache_write_rate, rates.input_rate)
       + usage.output_tokens * rates.output_rate ) / 1e6 as cost_usd"""

FLOOR_COLUMNS = (
    "event_id",
    "tenant_id",
    "feature",
    "provider",
    "model",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
)
FLOOR_SQL = [
    f"""
create or replace table floor_costs as
with rates as ({RATES_SQL}),
usage as (select * from {{reader}})
select usage.event_id, usage.tenant_id, usage.feature, {COST_SQL}
from usage left join rates using (provider, model)
"""
]

# A second reference: the least SQL that gives the three per-day tables the finance queries read (calls with their
# cost, tasks, daily sums), with none of a night's checks, deduplication, quarantine, tests or gate.
MINIMAL_COLUMNS = FLOOR_COLUMNS + ("occurred_at", "task_id", "status", "attempt")
MINIMAL_SQL = [
    f"""
create or replace table minimal_requests as
with rates as ({RATES_SQL}),
usage as (select * from {{reader}})
select usage.*, cast(usage.occurred_at as date) as usage_date, coalesce(usage.task_id, usage.event_id) as task,
       {COST_SQL}
from usage left join rates using (provider, model)
""",
    """
create or replace table minimal_tasks as
select task, min_by(tenant_id, occurred_at) as tenant_id, min_by(feature, occurred_at) as feature,
       min(occurred_at) as started_at, max(occurred_at) as ended_at, count(*) as requests,
       sum(cost_usd) as cost_usd, sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens
from minimal_requests
group by task
""",
    """
create or replace table minimal_daily as
select usage_date, tenant_id, feature, provider, model, count(*) as requests, count(distinct task) as tasks,
       sum(input_tokens) as input_tokens, sum(output_tokens) as output_tokens, sum(cost_usd) as cost_usd
from minimal_requests
group by usage_date, tenant_id, feature, provider, model
""",
]
_TYPES = {
    "input_tokens": "BIGINT",
    "cache_read_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "attempt": "BIGINT",
    "occurred_at": "TIMESTAMP",
}

FINANCE_QUERIES = {
    "weekly_showback_by_tenant": """
        select week_start, tenant_id, sum(cost_usd) as cost_usd, sum(prior_week_cost_usd) as prior_usd
        from finance.showback_weekly group by 1, 2 order by 1, 3 desc""",
    "top20_tasks_of_a_day": f"""
        select task_id, tenant_id, feature, requests, cost_usd from finance.fct_llm_tasks
        where usage_date = date '{DAY2}' order by cost_usd desc nulls last limit 20""",
    "daily_cost_by_model_30d": f"""
        select usage_date, provider, model, sum(cost_usd) as cost_usd from finance.agg_cost_daily
        where usage_date > date '{DAY2}' - 30 group by 1, 2, 3 order by 1, 4 desc""",
}


BEST_OF = 3  # runs of each reference, the best taken


def figure(name: str, value: str) -> None:
    print(f"{name}={value}", flush=True)


def sql_seconds(files: list[Path], fmt: str, db: Path, statements: list[str], columns: tuple[str, ...]) -> float:
    """Seconds to run the statements (FLOOR_SQL or MINIMAL_SQL) on the day's files, read with only `columns`."""
    listed = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    if fmt == "parquet":
        reader = f"read_parquet({listed})"
    else:
        typed = ", ".join(f"{c}: '{_TYPES.get(c, 'VARCHAR')}'" for c in columns)
        reader = f"read_json({listed}, format = 'newline_delimited', ignore_errors = true, columns = {{{typed}}})"
    con = duckdb.connect(str(db))
    start = time.perf_counter()
    for statement in statements:
        con.execute(statement.format(prices=PRICES, reader=reader))
    elapsed = time.perf_counter() - start
    con.close()
    db.unlink()
    return elapsed


def best_of_runs(
    name: str, files: list[Path], fmt: str, db: Path, statements: list[str], columns: tuple[str, ...]
) -> float:
    """The best of BEST_OF runs (single runs vary noticeably; docs/performance.md), printed
    as <name>_runs_seconds and <name>_seconds."""
    runs = [sql_seconds(files, fmt, db, statements, columns) for _ in range(BEST_OF)]
    figure(f"{name}_runs_seconds", ",".join(f"{r:.2f}" for r in runs))
    figure(f"{name}_seconds", f"{min(runs):.2f}")
    return min(runs)


def vendor_rates(work: Path, records: int) -> None:
    """Stage `records` calls as canonical JSONL and as each vendor kind (one file each, in-process, one DuckDB
    connection like a run's staging), BEST_OF rounds of all of them one after the other, and print the records/s of
    each kind's best round and its time over the canonical file's best (a single round's ratio moves by a fifth with
    the machine's minute: docs/performance.md)."""
    canonical = generate_usage(work / "vendor", DAY1, 1, records, bad_lines=False)[0]
    files = [("canonical_jsonl", canonical), *write_exports(canonical, work / "vendor").items()]
    window = UsageWindow(earliest=date(2000, 1, 1), run_day=DAY1, days_ahead=1)
    con = duckdb.connect()
    runs: dict[str, list[float]] = {name: [] for name, _ in files}
    staged_rows: dict[str, tuple[int, int]] = {}  # (staged, quarantined)
    where = dict(
        source="bench",
        file_seq=1,
        usage_dir=work / "vendor" / "staged",
        quarantine_file=work / "vendor" / "quarantine.parquet",
        window=window,
    )
    for _ in range(BEST_OF):
        for name, path in files:
            start = time.perf_counter()
            if name == "canonical_jsonl":
                staged = stage_usage_file(con, path, **where)
            else:
                staged = stage_export_file(con, path, name, KINDS[name][1], **where)
            runs[name].append(time.perf_counter() - start)
            staged_rows[name] = (sum(staged.rows_by_day.values()), staged.quarantined)
    con.close()
    for name, seconds in runs.items():
        rows, quarantined = staged_rows[name]
        figure(f"stage_{name}_records", f"{rows} staged, {quarantined} quarantined")
        figure(f"stage_{name}_runs_seconds", ",".join(f"{r:.2f}" for r in seconds))
        figure(f"stage_{name}_records_per_second", f"{rows / min(seconds):.0f}")
        if name != "canonical_jsonl":
            figure(f"stage_{name}_over_canonical", f"{min(seconds) / min(runs['canonical_jsonl']):.2f}")


def small_day(work: Path, config: str, events: int, fmt: str) -> None:
    """A day of `events` calls through `finops run` in a new project (nothing published before): its seconds and
    steps, printed as small_day_*."""
    project = work / "small"
    for sub in ("prices", "gpus"):
        shutil.copytree(work / sub, project / sub)
    (project / "finops.toml").write_text(config)
    generate_usage(project / "usage", DAY1, 1, events, fmt=fmt)
    seconds, _, steps = run_finops(project / "finops.toml", DAY1)
    figure("small_day_events", str(events))
    figure("small_day_seconds", f"{seconds:.2f}")
    for step, step_seconds in steps.items():
        figure(f"small_day_{step}_seconds", f"{step_seconds:.1f}")


def _logged_at(stderr: str, pattern: str) -> datetime | None:
    """The time of the first log line of `finops run` matching pattern (the CLI logs `%(asctime)s ...`)."""
    for line in stderr.splitlines():
        if re.search(pattern, line):
            return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return None


def run_finops(config: Path, day: date) -> tuple[float, int, dict[str, float]]:
    """Wall seconds and the peak RSS (KB) of `finops run`, and the seconds of its steps from the run's log:
    start-up (imports, config), staging (usage files read, the build planned), the dbt build, the quality gate and
    the publish. The peak is the process's own VmHWM, read while it runs: a child's ru_maxrss starts from this
    process's peak (Python starts it with vfork, and Linux keeps the parent's high-water mark through the exec), so
    the vendor kinds staged here made a 3.5 GB run read 4.7 GB."""
    started = datetime.now()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "finops"), "run", "--config", str(config), "--date", day.isoformat()],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    peaks = [0]

    def watch() -> None:  # VmHWM only grows: the last reading is the peak (to within 0.1 s of the end)
        while proc.poll() is None:
            with contextlib.suppress(OSError, StopIteration, ValueError):
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peaks.append(int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    stderr = proc.communicate()[1]
    watcher.join()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"finops run --date {day} exited {proc.returncode}:\n{stderr[-4000:]}")
    first = _logged_at(stderr, r" INFO ")
    building = _logged_at(stderr, r"building \d+ day")
    gate_line = _logged_at(stderr, r"gate: \d+ check")
    published = _logged_at(stderr, r"published ")
    gate = float(re.search(r"gate: \d+ check\(s\), \d+ failed, in ([0-9.]+)s", stderr).group(1))
    steps = {
        "startup": (first - started).total_seconds(),
        "stage": (building - first).total_seconds(),
        "dbt": (gate_line - building).total_seconds() - gate,
        "gate": gate,
        "publish": (published - gate_line).total_seconds(),
    }
    return elapsed, max(peaks), steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="[warehouse] engine (spark: a local SparkSession; the finance queries are DuckDB's only)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--vendor-records", type=int, default=1_000_000, help="records of each vendor kind staged (0: none)"
    )
    parser.add_argument("--vendor-only", action="store_true", help="only the vendor kinds' records/s")
    parser.add_argument(
        "--small-events", type=int, default=10_000, help="calls of the small day through finops run (0: none)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="finops-bench-"))
    try:
        for sub in ("prices", "gpus"):
            shutil.copytree(BUNDLED / sub, work / sub)
        shutil.copyfile(PRICES, work / "prices" / "list_prices.csv")
        config = (BUNDLED / "finops.toml").read_text()
        if LITELLM_SOURCE not in config:
            raise SystemExit(
                "benchmarks/nightly.py: the bundled config's LiteLLM price source changed; update LITELLM_SOURCE"
            )
        config = config.replace(LITELLM_SOURCE, "")
        config = config.replace('path = "../../finops-data/finops.duckdb"', 'path = "warehouse/finops.duckdb"')
        config = config.replace('path = "usage/*.jsonl.gz"', f'path = "usage/*.{args.format}"')
        config = config.replace(
            'path = "warehouse/finops.duckdb"', f'path = "warehouse/finops.duckdb"\nengine = "{args.engine}"'
        )
        if args.vendor_records:
            figure("vendor_records", str(args.vendor_records))
            vendor_rates(work, args.vendor_records)
        if args.vendor_only:
            return 0
        figure("engine", args.engine)
        if args.small_events:
            small_day(work, config, args.small_events, args.format)
        (work / "finops.toml").write_text(config)
        figure("events", str(args.events))
        figure("format", args.format)

        start = time.perf_counter()
        day1 = generate_usage(work / "usage", DAY1, 1, args.events, fmt=args.format)
        figure("generate_seconds", f"{time.perf_counter() - start:.1f}")
        figure("input_mb", f"{sum(f.stat().st_size for f in day1) / 1e6:.0f}")

        floor = best_of_runs("floor", day1, args.format, work / "floor.duckdb", FLOOR_SQL, FLOOR_COLUMNS)
        minimal = best_of_runs(
            "minimal_tables", day1, args.format, work / "minimal.duckdb", MINIMAL_SQL, MINIMAL_COLUMNS
        )
        figure("minimal_tables_over_floor", f"{minimal / floor:.2f}")

        day1_seconds, rss1, steps1 = run_finops(work / "finops.toml", DAY1)
        figure("finops_day1_seconds", f"{day1_seconds:.2f}")
        for step, seconds in steps1.items():
            figure(f"{step}_day1_seconds", f"{seconds:.1f}")
        figure("finops_peak_rss_mb", f"{rss1 / 1024:.0f}")

        generate_usage(work / "usage", DAY2, 1, args.events, fmt=args.format)
        day2_seconds, rss2, steps2 = run_finops(work / "finops.toml", DAY2)
        figure("finops_day2_seconds", f"{day2_seconds:.2f}")
        for step, seconds in steps2.items():
            figure(f"{step}_day2_seconds", f"{seconds:.1f}")
        figure("day2_over_day1", f"{day2_seconds / day1_seconds:.2f}")
        figure("finops_peak_rss_mb_day2", f"{rss2 / 1024:.0f}")

        try:  # the finance queries are DuckDB SQL: on the engines with a Reader for them
            reader = engine_of(load_config(work / "finops.toml")).reader()
        except WarehouseError as exc:
            figure("finance_queries", f"skipped ({exc})")
        else:
            try:
                for name, sql in FINANCE_QUERIES.items():
                    start = time.perf_counter()
                    reader.rows(sql, {})
                    figure(f"query_{name}_seconds", f"{time.perf_counter() - start:.3f}")
            finally:
                reader.close()

        print(f"ratio={day1_seconds / floor:.2f} events={args.events}")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
