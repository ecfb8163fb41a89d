"""One build: which days to recompute, a fresh DuckDB build database with the staged inputs as `raw`
relations, and the dbt run that computes the finance tables in it. The published file is never touched."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from core.clock import utc_today
from core.config import Config
from core.layout import Layout
from core.sql_literals import sql_list, sql_str
from ingest.fetched_sources import price_source_ages
from warehouse.dbt_args import DBT_PROJECT_DIR
from warehouse.state import State

# What a day's numbers depend on besides its inputs: the code that computes them.
_CODE_DIRS = [
    DBT_PROJECT_DIR / "models",
    DBT_PROJECT_DIR / "macros",
    DBT_PROJECT_DIR / "dbt_project.yml",
    Path(__file__).resolve().parent.parent / "ingest",
]


@dataclass
class Build:
    build_id: str
    days: list[str]  # usage days recomputed, sorted
    fingerprints: dict[str, str]  # usage day -> fingerprint of its inputs
    db_path: str
    target_path: str
    vars: dict
    memory_limit: str  # DuckDB's memory_limit for the dbt build and the publish ([warehouse])
    started_at: str  # when the build was planned (UTC, ISO): finance.published_days.published_at of its days
    statuses: dict[str, str]  # usage day -> its status once published (day_status)
    allow_empty: bool = False  # `--allow-empty`: an empty day is not held against its trailing week (row_counts)

    @property
    def partitions_dir(self) -> Path:
        """Where dbt writes the partitions the build publishes as built (dbt_project/macros/parquet_partitions.sql)."""
        return Path(self.vars["partitions_dir"])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Build:
        return cls(**json.loads(path.read_text()))


def code_version() -> str:
    digest = hashlib.sha256()
    for root in _CODE_DIRS:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and path.suffix in (".sql", ".yml", ".py"):
                digest.update(str(path.relative_to(root.parent)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def usage_models(con: duckdb.DuckDBPyConnection, layout: Layout, state: State) -> list[Path]:
    """For each staged usage file, a small file of the (usage_date, provider, model) it holds: computed once
    (a changed usage file is staged under a new key) and kept beside its staged rows."""
    out = []
    for staged in state.files.values():
        path = layout.staged_usage_models(staged.key)
        if not path.exists():
            parts = sorted(layout.staged_usage_dir(staged.key).glob("usage_date=*/*.parquet"))
            if not parts:
                continue
            con.execute(f"""copy (select distinct usage_date::date as usage_date, provider, model
                                  from read_parquet({sql_list(parts)}, hive_partitioning = true))
                            to {sql_str(path)} (format parquet)""")
        out.append(path)
    return out


def day_fingerprints(cfg: Config, layout: Layout, state: State, days: set[str]) -> dict[str, str]:
    """For each day: a hash of everything its numbers are computed from (usage files, the prices of the models
    it used and the GPU offers of the configured deployments' GPUs known on that day, the deployments, the code).
    A changed fingerprint means rebuild the day; a price first seen for a model the day did not use does not."""
    if not days:
        return {}
    shared = json.dumps({"deployments": [asdict(d) for d in cfg.deployments], "code": code_version()}, sort_keys=True)
    con = duckdb.connect(config={"memory_limit": cfg.memory_limit})
    con.execute("create table days (usage_date date)")
    con.executemany("insert into days values (?)", [[d] for d in sorted(days)])
    models = usage_models(con, layout, state)
    con.execute("create table day_models (usage_date date, provider varchar, model varchar)")
    if models:
        con.execute(f"""insert into day_models select distinct usage_date, provider, model
                        from read_parquet({sql_list(models)}) where usage_date in (select usage_date from days)""")
    con.execute("create table deployment_gpus (gpu_model varchar, pricing_type varchar)")
    _insert(con, "deployment_gpus", [[d.gpu.lower(), d.pricing] for d in cfg.deployments if d.gpu])
    priced = dict(
        con.execute(f"""
        select days.usage_date::varchar, md5(coalesce(string_agg(p::varchar, '|' order by p::varchar), ''))
        from days
        left join day_models as m on m.usage_date = days.usage_date
        left join read_parquet({sql_str(layout.staged_prices)}) as p
            on p.provider = m.provider and p.model = m.model and p.effective_from <= days.usage_date
        group by 1""").fetchall()
    )
    offered = dict(
        con.execute(f"""
        select days.usage_date::varchar, md5(coalesce(string_agg(g::varchar, '|' order by g::varchar), ''))
        from days
        left join (select * from read_parquet({sql_str(layout.staged_gpu_offers)}) as o
                   where exists (select 1 from deployment_gpus as d
                                 where d.gpu_model = lower(o.gpu_model) and d.pricing_type = o.pricing_type)) as g
            on g.observed_on <= days.usage_date
        group by 1""").fetchall()
    )
    con.close()
    out = {}
    for day in days:
        doc = json.dumps([shared, state.files_for_day(day), priced[day], offered[day]])
        out[day] = hashlib.sha256(doc.encode()).hexdigest()[:24]
    if any(d.rate_usd_per_million_weighted_tokens == "auto" for d in cfg.deployments):
        # an "auto" rate card rate is the previous month's cost / its weighted tokens: a day depends on that month
        out = {
            day: hashlib.sha256(
                json.dumps([fp, sorted(out[d] for d in out if month_start(d) == previous_month(day))]).encode()
            ).hexdigest()[:24]
            for day, fp in out.items()
        }
    return out


def month_start(day: str) -> str:
    """'2026-11-09' -> '2026-11-01'."""
    return day[:8] + "01"


def previous_month(day: str) -> str:
    """The first day of the month before the day's: '2026-11-09' -> '2026-10-01'."""
    return month_start((date.fromisoformat(month_start(day)) - timedelta(days=1)).isoformat())


def day_status(day: str, calls: int, today: date) -> str:
    """A day's status once published (finance.published_days.status): `partial` when it is today (UTC, the day is
    not over: published only with --partial), `empty` when no source has a usage record of it, else `complete`."""
    if date.fromisoformat(day) >= today:
        return "partial"
    return "empty" if calls == 0 else "complete"


def days_to_build(cfg: Config, layout: Layout, state: State, requested: list[date]) -> dict[str, str]:
    """The days to recompute, in order, with their fingerprints: the requested ones, every built day whose
    inputs changed since, and every day published as partial that has ended since (it becomes complete)."""
    wanted = {d.isoformat() for d in requested}
    ended = {d for d in state.days if state.status(d) == "partial" and date.fromisoformat(d) < utc_today()}
    fingerprints = day_fingerprints(cfg, layout, state, wanted | set(state.days))
    days = sorted(wanted | ended | {d for d, fp in state.days.items() if fingerprints[d] != fp})
    return {d: fingerprints[d] for d in days}


def build_batches(state: State, days: list[str], max_calls: int) -> list[list[str]]:
    """The days in order, cut into consecutive batches of at most `max_calls` staged calls (a bigger day is a
    batch of its own): each batch is one build, gated and published before the next, so memory and the size of
    a build stay bounded when many days are rebuilt at once (a long backfill, a code change)."""
    batches: list[list[str]] = []
    calls = 0
    for day in days:
        day_calls = state.staged_calls([day])
        if not batches or calls + day_calls > max_calls:
            batches.append([])
            calls = 0
        batches[-1].append(day)
        calls += day_calls
    return batches


def task_days(days: list[str]) -> list[str]:
    """The days whose fct_llm_tasks partitions a build of `days` writes: each build day and the day before and
    after it. A task belongs to the day of its first call, so rebuilding a day can move a task that crosses
    midnight to or from either neighbour (built the day after first, its half there is a task of that day until
    the day before arrives). The same days in dbt: fct_llm_tasks' task_days."""
    return sorted({(date.fromisoformat(d) + timedelta(days=k)).isoformat() for d in days for k in (-1, 0, 1)})


def plan_build(
    cfg: Config, layout: Layout, state: State, fingerprints: dict[str, str], allow_empty: bool = False
) -> Build:
    """One build of exactly these days (ISO date -> fingerprint, from days_to_build)."""
    days = sorted(fingerprints)
    started = datetime.now(UTC)
    build_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    day_set = set(days)
    neighbours = set(task_days(days)) - day_set
    requests = state.partitions["fct_llm_requests"]
    tasks = state.partitions["fct_llm_tasks"]
    agg = state.partitions["agg_cost_daily"]
    spend = state.partitions["spend_daily"]
    hourly = state.partitions["usage_hourly"]
    self_hosted = state.partitions["self_hosted_allocation"]
    build_dir = layout.builds_dir / build_id
    build_vars = {
        "partitions_dir": str(build_dir / "partitions"),
        "history_request_files": [layout.partition_location(requests[d]) for d in sorted(neighbours) if d in requests],
        "history_task_files": [layout.partition_location(tasks[d]) for d in task_days(days) if d in tasks],
        "history_agg_daily_files": [layout.partition_location(agg[d]) for d in sorted(agg) if d not in day_set],
        "history_spend_daily_files": [layout.partition_location(spend[d]) for d in sorted(spend) if d not in day_set],
        "history_usage_hourly_files": [
            layout.partition_location(hourly[d]) for d in sorted(hourly) if d not in day_set
        ],
        "history_self_hosted_files": [
            layout.partition_location(self_hosted[d])
            for d in sorted(self_hosted)
            if d not in day_set and month_start(d) in {previous_month(day) for day in days}
        ],
        "anomaly_ratio": cfg.anomaly_ratio,
        "anomaly_min_usd": cfg.anomaly_min_usd,
    }
    return Build(
        build_id=build_id,
        days=days,
        fingerprints=fingerprints,
        db_path=str(build_dir / "build.duckdb"),  # the DuckDB target's database, dbt running in build_dir
        target_path=str(build_dir / "target"),
        vars=build_vars,
        memory_limit=cfg.memory_limit,
        started_at=started.isoformat(timespec="seconds"),
        statuses={d: day_status(d, state.staged_calls([d]), started.date()) for d in days},
        allow_empty=allow_empty,
    )


def prepare_build_db(cfg: Config, layout: Layout, state: State, build: Build) -> None:
    """Create the build database with the staged inputs as relations of schema `raw` (the dbt sources)."""
    build.partitions_dir.mkdir(parents=True, exist_ok=True)
    usage_files = [layout.empty_usage_file]
    for day in build.days:
        for key in state.files_for_day(day):
            usage_files += layout.staged_usage_day_files(key, day)
    quarantine_files = [layout.quarantine_file(f.key) for f in state.files.values()]
    with duckdb.connect(build.db_path, config={"memory_limit": build.memory_limit}) as con:
        con.execute("create schema raw")
        con.execute(f"""create view raw.usage_events as
                        select * from read_parquet({sql_list(usage_files)}, hive_partitioning = true,
                                                   union_by_name = true)""")
        con.execute(f"create view raw.price_rows as select * from read_parquet({sql_str(layout.staged_prices)})")
        con.execute(f"create view raw.gpu_offers as select * from read_parquet({sql_str(layout.staged_gpu_offers)})")
        con.execute(f"create view raw.billed_costs as select * from read_parquet({sql_str(layout.staged_billing)})")
        # every staged file has a quarantine file (maybe empty), and the config requires one usage file at least
        con.execute(f"create view raw.quarantine as select * from read_parquet({sql_list(quarantine_files)})")
        con.execute("""create table raw.deployments (deployment_id varchar, hourly_cost_usd double,
                       gpu_model varchar, gpu_count integer, pricing_type varchar, output_weight double,
                       compare_provider varchar, compare_model varchar, allocation varchar,
                       rate_usd_per_million_weighted_tokens double)""")
        _insert(con, "raw.deployments", deployment_rows(cfg))
        con.execute("""create table raw.self_host_options (option_id varchar, model varchar, gpu_model varchar,
                       gpu_count integer, output_tokens_per_second double, pricing_type varchar,
                       ops_usd_per_month double, max_utilisation double)""")
        _insert(con, "raw.self_host_options", self_host_option_rows(cfg))
        con.execute("create table raw.self_host_replaces (option_id varchar, provider varchar, model varchar)")
        _insert(con, "raw.self_host_replaces", self_host_replaces_rows(cfg))
        con.execute("""create table raw.budgets (budget varchar, monthly_usd double, tenant_id varchar,
                       feature varchar, owner varchar, first_alert_at double)""")
        _insert(con, "raw.budgets", budget_rows(cfg))
        con.execute("create table raw.owner_scopes (owner varchar, feature varchar, tenant_id varchar)")
        _insert(con, "raw.owner_scopes", owner_scope_rows(cfg))
        con.execute("create table raw.build_days (usage_date date)")
        _insert(con, "raw.build_days", [[d] for d in build.days])
        con.execute(
            "create table raw.published_days "
            "(usage_date date, run_id varchar, published_at timestamptz, status varchar)"
        )
        _insert(con, "raw.published_days", published_days(state, build))
        # for the quality gate (expectations/suites.py): the usage files it checks, the price sources
        con.execute("create table raw.usage_files (file varchar, records bigint, quarantined bigint)")
        _insert(con, "raw.usage_files", checked_usage_files(state, build.days))
        con.execute("create table raw.price_sources (source_name varchar, age_days double)")
        _insert(con, "raw.price_sources", [[name, age] for name, age in price_source_ages(cfg).items()])


def deployment_rows(cfg: Config) -> list[list]:
    """raw.deployments: one row per [[deployments]] entry; compare_with split into its provider and model; a rate
    card's rate is NULL when it is "auto" (computed by dbt)."""
    return [
        [
            d.id,
            d.hourly_cost_usd,
            d.gpu,
            d.gpu_count,
            d.pricing,
            d.output_weight,
            *(d.compare_with or (None, None)),
            d.allocation,
            d.fixed_rate,
        ]
        for d in cfg.deployments
    ]


def self_host_option_rows(cfg: Config) -> list[list]:
    """raw.self_host_options: one row per [[self_host_options]] entry (finance.rent_vs_api_monthly)."""
    return [
        [
            o.id,
            o.model,
            o.gpu,
            o.gpu_count,
            o.output_tokens_per_second,
            o.pricing,
            o.ops_usd_per_month,
            o.max_utilisation,
        ]
        for o in cfg.self_host_options
    ]


def self_host_replaces_rows(cfg: Config) -> list[list]:
    """raw.self_host_replaces: one row per option and provider/model whose usage it would take over."""
    return [[o.id, provider, model] for o in cfg.self_host_options for provider, model in o.replaces]


def budget_rows(cfg: Config) -> list[list]:
    """raw.budgets: the [[budgets]], with their lowest alert level (the forecast share at which one is at risk)."""
    return [[b.name, b.monthly_usd, b.tenant_id, b.feature, b.owner, b.alert_at[0]] for b in cfg.budgets]


def owner_scope_rows(cfg: Config) -> list[list]:
    """raw.owner_scopes: one row per [[owners]] feature (tenant_id NULL) and tenant (feature NULL)."""
    return [[o.name, f, None] for o in cfg.owners for f in o.features] + [
        [o.name, None, t] for o in cfg.owners for t in o.tenants
    ]


def published_days(state: State, build: Build) -> list[list]:
    """The days published once this build is, each with the run that published it, when and its status: every day
    published before, and the build's (raw.published_days: finance.published_days, and showback_weekly counts them
    per week). A day published by a finops that kept no run or status reads as complete."""
    rows = [
        [
            day,
            state.published.get(day, {}).get("run_id"),
            state.published.get(day, {}).get("published_at"),
            state.status(day),
        ]
        for day in state.days
        if day not in build.statuses
    ]
    rows += [[day, build.build_id, build.started_at, status] for day, status in build.statuses.items()]
    return sorted(rows)


def checked_usage_files(state: State, days: list[str]) -> list[list]:
    """The usage files whose quarantined share the quality gate checks for a build of these days (raw.usage_files:
    file, accepted records, quarantined records): each file holding accepted records of one of the days, and each
    file holding quarantined records but no accepted one (every record broke a rule, or it could not be read whole:
    a failed file counts one). Such a file has no day of its own, so it counts against every build until it is
    fixed or moved out of its source's path (docs/quality.md)."""
    return [
        [name, sum(f.days.values()), f.quarantined]
        for name, f in sorted(state.files.items())
        if any(day in f.days for day in days) or (not f.days and f.quarantined)
    ]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[list]) -> None:
    """Insert rows into a table (executemany refuses an empty list)."""
    if rows:
        con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
