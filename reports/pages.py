"""The two pages of a week, reports.dir/<YYYY-Www>/showback.html and anomalies.html, and their tables
(each table shown is also written as <table>.csv beside the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from itertools import groupby

import yaml

from core.config import Config, Owner
from core.layout import Layout
from reports import charts
from reports import figures as fig
from reports.figures import Scope
from reports.formatting import day, pct, pct_signed, ratio_x, usd_signed
from reports.readiness import PriorWeek, published_state
from reports.render import render, svg
from reports.tables import Column, Table
from reports.week import IsoWeek
from warehouse.dbt_args import DBT_PROJECT_DIR
from warehouse.engines import Reader
from warehouse.quarantine import quarantined_records


@dataclass
class Page:
    name: str  # showback | anomalies | rent_vs_api: the file is <name>.html
    html: str
    tables: list[Table]  # the tables shown, each written as <table.name>.csv


COST = [
    Column("cost_usd", "Cost", "usd"),
    Column("prior_week_cost_usd", "Prior week", "usd"),
    Column("change_usd", "Change", "usd_signed"),
    Column("change_ratio", "Change %", "pct_signed"),
]
SHARE = [Column("share_of_cost", "Share", "pct")]


BUDGET_COLUMNS = [
    Column("budget", "Budget"),
    Column("as_of_date", "As of", "date"),
    Column("budget_usd", "Budget", "usd"),
    Column("spent_usd", "Spent", "usd"),
    Column("spent_share", "Spent %", "pct"),
    Column("forecast_month_usd", "Forecast", "usd"),
    Column("forecast_share", "Forecast %", "pct"),
    Column("status", "Status"),
]
BUDGET_NOTE = (
    "Month to date as of the week's last published day, and the month's forecast: month to date + the mean of the "
    "last 7 days x the days left (finance.budget_status_daily). at_risk: the forecast reaches the first alert level; "
    "over: spent reaches the budget."
)


def cost_columns(prior: PriorWeek) -> list[Column]:
    """Cost, and the prior week's cost and the change when the prior week is compared (all its days published)."""
    return COST if prior.compared else COST[:1]


def partial_note(partial_days: list[str]) -> str:
    """The subtitle's words for a week reported with partial days (--allow-partial)."""
    if not partial_days:
        return ""
    return f"; partial: {', '.join(partial_days)} (published before the day ended, its figures will change)"


def not_compared_note(prior: PriorWeek) -> str:
    return "" if prior.compared else f"Prior week {prior.label}: only complete weeks are compared."


DETAIL = [
    Column("tasks", "Tasks", "count"),
    Column("cost_per_task_usd", "Per task", "usd_unit"),
    Column("cache_hit_rate", "Cache hit rate", "pct"),
    Column("cache_savings_usd", "Cache savings", "usd"),
    Column("retry_cost_usd", "Retry cost", "usd"),
    Column("unpriced_requests", "Unpriced calls", "count"),
]
UNPRICED_COLUMNS = [
    Column("model", "Model"),
    Column("unpriced_requests", "Calls", "count"),
    Column("unpriced_tokens", "Tokens", "count"),
    Column("features", "Features"),
    Column("tenants", "Tenants"),
]
UNPRICED_NOTE = (
    "These calls have no price in force, so their cost is unknown: it is in no total and never "
    "counted as $0. Add the model to a price source to price them."
)


@cache
def dbt_vars() -> dict:
    """The rule thresholds the marts were built with (dbt_project.yml vars), to state them on the pages."""
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]


def model_name(row: dict) -> str:
    return f"{row['provider']}/{row['model']}"


def owner_covers(features: tuple[str, ...], tenants: tuple[str, ...]) -> str:
    parts = ([f"features {', '.join(features)}"] if features else []) + (
        [f"tenants {', '.join(tenants)}"] if tenants else []
    )
    return "; ".join(parts)


def quarantined_in(cfg: Config, week: IsoWeek) -> dict:
    """The records quarantined from the usage files read for the week's days, and in how many files (from the
    staging area: warehouse/quarantine.py)."""
    records = quarantined_records(Layout.of(cfg), published_state(cfg), [d.isoformat() for d in week.days])
    return {"quarantined_records": len(records), "quarantined_files": len({r.file for r in records})}


def showback_page(
    con: Reader,
    cfg: Config,
    week: IsoWeek,
    prior: PriorWeek,
    generated_at: datetime,
    bill: dict,
    owner_summaries: list[tuple[Owner, dict]],
    flagged: list[dict],
    premium_models: list[str],
    partial_days: list[str] = (),
) -> Page:
    """`prior`: the week compared with (only when complete); `bill`: the week's whole bill (figures.whole_bill);
    `owner_summaries`: each owner's totals (the summaries of their chargeback emails); `flagged`: the week's
    anomalies and `premium_models` its premium models, as the anomaly page shows them; `partial_days`: the week's
    days published before they ended (--allow-partial), named in the subtitle."""
    everything = Scope.all()
    compared = prior.compared
    cost = cost_columns(prior)
    calls = fig.totals(con, week, everything, compared=compared)
    # the headline is the whole bill (API + self-hosted allocated + idle); the other figures are the calls'
    summary = {**calls, **bill, "calls_cost_usd": calls["cost_usd"], **quarantined_in(cfg, week)}
    tenants = fig.breakdown(con, week, everything, ("tenant_id",), compared=compared)
    features = fig.breakdown(con, week, everything, ("feature",), compared=compared)
    models = fig.breakdown(con, week, everything, ("provider", "model"), compared=compared)
    premium = set(premium_models)
    for row in models:
        row["model_name"] = model_name(row)
        row["is_premium"] = row["model_name"] in premium
    deployments = fig.self_hosted(con, week)

    daily = {(r["feature"], r["usage_date"]): r["cost_usd"] for r in fig.daily_by_feature(con, week, everything)}
    days = week.days
    daily_rows = [
        {
            "feature": f["feature"],
            "cost_usd": f["cost_usd"],
            **{d.isoformat(): daily.get((f["feature"], d), 0) for d in days},
        }
        for f in features
        if f["requests"]
    ]

    owners = [
        {"owner": o.name, "email": o.email, "covers": owner_covers(o.features, o.tenants), **totals}
        for o, totals in owner_summaries
    ]
    unassigned = fig.totals(con, week, Scope.no_owner(cfg.owners), compared=compared)
    owners.append({"owner": "Not assigned to any owner", "email": "", "covers": "every other call", **unassigned})

    tables = [
        Table(
            "daily_cost_by_feature",
            "Daily cost by feature",
            [Column("feature", "Feature")]
            + [Column(d.isoformat(), day(d), "usd") for d in days]
            + [Column("cost_usd", "Week", "usd")],
            daily_rows,
            empty="No calls this week.",
        ),
        Table(
            "cost_by_tenant",
            "Cost by tenant",
            [Column("tenant_id", "Tenant")] + cost + SHARE + DETAIL,
            tenants,
            empty="No calls this week or the week before.",
            note=not_compared_note(prior),
        ),
        Table(
            "cost_by_feature",
            "Cost by feature",
            [Column("feature", "Feature")] + cost + SHARE + DETAIL,
            features,
            empty="No calls this week or the week before.",
            note=not_compared_note(prior),
        ),
        Table(
            "model_mix",
            "Model mix",
            [Column("model_name", "Model"), Column("is_premium", "Premium", "bool")]
            + cost
            + SHARE
            + [Column("requests", "Calls", "count"), Column("unpriced_requests", "Unpriced calls", "count")],
            models,
            empty="No calls this week or the week before.",
            note=not_compared_note(prior),
        ),
        Table(
            "unpriced_usage",
            "Unpriced usage",
            UNPRICED_COLUMNS,
            fig.unpriced_by_model(con, week, everything),
            empty="Every call this week had a price.",
            note=UNPRICED_NOTE,
        ),
        Table(
            "self_hosted",
            "Self-hosted deployments",
            [
                Column("deployment_id", "Deployment"),
                Column("allocated_usd", "Allocated to calls", "usd"),
                Column("unrecovered_usd", "Unrecovered", "usd"),
                Column("idle_usd", "Idle", "usd"),
                Column("total_usd", "Total", "usd"),
                Column("utilisation", "Utilisation", "pct"),
                Column("busy_hours", "Hours with calls", "count"),
                Column("hours", "Hours", "count"),
                Column("requests", "Calls", "count"),
            ],
            deployments,
            empty="No self-hosted deployment this week.",
            note="Allocated cost is inside the tenant and feature figures above (hourly_share: split by tokens "
            "per hour; rate_card: tokens at the month's rate); unrecovered (what rate_card calls did not pay of "
            "the busy hours, negative when they paid more) and idle hours are charged to no tenant or owner: "
            "they are in the week's total (the summary) and here. Utilisation = (allocated + unrecovered) / total.",
        ),
        Table(
            "budgets",
            "Budgets",
            BUDGET_COLUMNS,
            fig.budget_status(con, week),
            empty="No [[budgets]] configured.",
            note=BUDGET_NOTE,
        ),
        Table(
            "billing",
            "Computed vs billed",
            [
                Column("provider", "Provider"),
                Column("computed_usd", "Computed", "usd"),
                Column("billed_usd", "Billed (days billed)", "usd_billed"),
                Column("difference_usd", "Difference on billed days", "usd_signed"),
                Column("difference_share", "Difference %", "pct_signed"),
                Column("days_billed", "Days billed", "count"),
                Column("days_awaiting_bill", "Days awaiting bill", "count"),
            ],
            fig.billing(con, week),
            empty="No bill configured ([[billing.sources]]).",
            note="Our computed cost of the week's published days against what each vendor billed for them "
            "(finance.billing_reconciliation; self_hosted: the deployments' allocated + idle hours against the GPU "
            "cloud's bill). A day the vendor has not billed yet is awaiting bill: in Computed, not in the "
            "difference. The quality gate warns about a day whose gap is above [quality] max_billing_gap_share and "
            "max_billing_gap_usd.",
        ),
        Table(
            "top_tasks",
            "Top tasks",
            [
                Column("task_id", "Task"),
                Column("tenant_id", "Tenant"),
                Column("feature", "Feature"),
                Column("started_at", "Started", "datetime"),
                Column("requests", "Calls", "count"),
                Column("retries", "Retries", "count"),
                Column("succeeded", "Succeeded", "bool"),
                Column("cost_usd", "Cost", "usd"),
                Column("retry_cost_usd", "Retry cost", "usd"),
            ],
            fig.top_tasks(con, week, everything),
            empty="No tasks this week.",
        ),
        Table(
            "chargeback_by_owner",
            "Chargeback by owner",
            [Column("owner", "Owner"), Column("email", "Email"), Column("covers", "Covers")]
            + cost
            + [Column("unpriced_requests", "Unpriced calls", "count")],
            owners,
            note="An owner is charged the calls of their features and the calls made for their tenants; a call "
            "that matches two owners is in both. Each owner receives an email with their part.",
        ),
    ]
    summary_table = Table(
        "summary",
        "Summary",
        cost
        + [
            Column("api_usd", "API", "usd"),
            Column("allocated_usd", "Self-hosted allocated", "usd"),
            Column("idle_usd", "Self-hosted idle", "usd"),
            Column("requests", "Calls", "count"),
            Column("tasks", "Tasks", "count"),
            Column("cost_per_task_usd", "Per task", "usd_unit"),
            Column("cache_hit_rate", "Cache hit rate", "pct"),
            Column("cache_savings_usd", "Cache savings", "usd"),
            Column("retry_cost_usd", "Retry cost", "usd"),
            Column("failed_tasks", "Failed tasks", "count"),
            Column("failed_task_share", "Failed task share", "pct"),
            Column("unpriced_requests", "Unpriced calls", "count"),
            Column("unpriced_tokens", "Unpriced tokens", "count"),
            Column("quarantined_records", "Quarantined records", "count"),
            Column("unrecovered_usd", "Self-hosted unrecovered", "usd"),
        ],
        [summary],
    )

    chart_features = [f for f in features if f["requests"]]
    chart = {
        "daily": svg(
            charts.stacked_columns(
                f"Daily cost by feature, {week}",
                [day(d) for d in days],
                [(f["feature"], [daily.get((f["feature"], d)) for d in days]) for f in chart_features],
            )
        ),
        "tenants": svg(
            charts.paired_bars(
                f"Cost by tenant: {week} against {week.prior}",
                [t["tenant_id"] for t in tenants],
                [t["cost_usd"] for t in tenants],
                [t["prior_week_cost_usd"] for t in tenants],
                current_name=str(week),
                prior_name=str(week.prior),
                notes=[pct_signed(t["change_ratio"]) for t in tenants],
            )
        )
        if compared
        else svg(
            charts.share_bars(
                f"Cost by tenant, {week} (prior week {prior.label})",
                [t["tenant_id"] for t in tenants if t["requests"]],
                [t["cost_usd"] for t in tenants if t["requests"]],
                [t["share_of_cost"] for t in tenants if t["requests"]],
            )
        ),
        "models": svg(
            charts.share_bars(
                f"Model mix, {week}: share of cost",
                [m["model_name"] for m in models if m["requests"]],
                [m["cost_usd"] for m in models if m["requests"]],
                [m["share_of_cost"] for m in models if m["requests"]],
                highlight=[m["is_premium"] for m in models if m["requests"]],
                highlight_name="premium models",
            )
        ),
    }
    html = render(
        "showback.html",
        title=f"AI spend showback \u00b7 {week}",
        week=week,
        subtitle=f"Week {week} ({week.span}), against {prior.label}{partial_note(partial_days)}",
        summary=summary,
        prior=prior,
        unassigned_usd=unassigned["cost_usd"],
        anomaly_count=len(flagged),
        tables={t.name: t for t in tables},
        charts=chart,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC",
        warehouse=cfg.warehouse_path,
    )
    return Page("showback", html, [summary_table] + tables)


ANOMALY_COLUMNS = [
    Column("usage_date", "Day", "date"),
    Column("dimension", "Dimension"),
    Column("dimension_value", "Value"),
    Column("observed_usd", "Cost that day", "usd"),
    Column("baseline_usd", "7-day mean", "usd"),
    Column("ratio", "Ratio", "ratio_x"),
    Column("increase_usd", "Increase", "usd_signed"),
]
FLAGGED_COLUMNS = ANOMALY_COLUMNS + [Column("main_drivers", "Main drivers")]
DRIVER_COLUMNS = [
    Column("driver_value", "Driver"),
    Column("observed_usd", "That day", "usd"),
    Column("baseline_usd", "7-day mean", "usd"),
    Column("increase_usd", "Increase", "usd_signed"),
    Column("share_of_increase", "Share", "pct"),
]


def anomaly_key(row: dict) -> tuple:
    return row["usage_date"], row["dimension"], row["dimension_value"]


def main_drivers(drivers: list[dict]) -> str:
    """'model openai/gpt-5 +$12.04 (87%); tenant acme +$9.10 (66%)': the biggest driver of each breakdown."""
    return "; ".join(
        f"{d['driver_dimension']} {d['driver_value']} {usd_signed(d['increase_usd'])} "
        f"({pct(d['share_of_increase'], 0)})"
        for d in drivers
        if d["driver_rank"] == 1
    )


def attach_main_drivers(flagged: list[dict], drivers: list[dict]) -> dict[tuple, list[dict]]:
    """Sets the `main_drivers` of each anomaly in `flagged` from `drivers` (figures.anomaly_drivers); returns
    the drivers of each anomaly, by anomaly_key."""
    by_anomaly: dict[tuple, list[dict]] = {}
    for d in drivers:
        by_anomaly.setdefault(anomaly_key(d), []).append(d)
    for a in flagged:
        a["main_drivers"] = main_drivers(by_anomaly.get(anomaly_key(a), []))
    return by_anomaly


def driver_tables(drivers: list[dict]) -> list[Table]:
    """The drivers of one anomaly, one small table per driver dimension."""
    return [
        Table("", f"by {dimension}", DRIVER_COLUMNS, list(rows))
        for dimension, rows in groupby(
            sorted(drivers, key=lambda r: (r["driver_dimension"], r["driver_rank"])),
            key=lambda r: r["driver_dimension"],
        )
    ]


def alert_models_table(con: Reader, week: IsoWeek, alerts: list[dict]) -> Table:
    return Table(
        "model_mix_alerts",
        "Premium models of the alerted tenants",
        [
            Column("tenant_id", "Tenant"),
            Column("model", "Premium model"),
            Column("cost_usd", "Cost", "usd"),
            Column("prior_week_cost_usd", "Prior week", "usd"),
            Column("change_usd", "Change", "usd_signed"),
        ],
        fig.premium_models(con, week, [a["tenant_id"] for a in alerts]),
        empty="No model-mix alert.",
    )


PREMIUM_COLUMNS = [
    Column("tenant_id", "Tenant"),
    Column("cost_usd", "Cost", "usd"),
    Column("premium_cost_usd", "Premium cost", "usd"),
    Column("premium_share", "Premium share", "pct"),
    Column("prior_week_premium_share", "Prior week", "pct"),
    Column("premium_share_change", "Change", "points_signed"),
    Column("is_alert", "Alert", "bool"),
]


def anomalies_page(
    con: Reader,
    cfg: Config,
    week: IsoWeek,
    generated_at: datetime,
    flagged: list[dict],
    premium_models: list[str],
) -> Page:
    """`flagged`: the week's anomalies (figures.anomalies of everything); `premium_models`: its premium models."""
    everything = Scope.all()
    drivers = fig.anomaly_drivers(con, week, everything)
    by_anomaly = attach_main_drivers(flagged, drivers)
    cards = [{**a, "driver_tables": driver_tables(by_anomaly.get(anomaly_key(a), []))} for a in flagged]
    shares = fig.premium_shares(con, week, everything)
    alerts = [s for s in shares if s["is_alert"]]
    alert_models = alert_models_table(con, week, alerts)
    alert_cards = [
        {
            **a,
            "models": Table(
                "",
                f"Premium models of {a['tenant_id']}",
                alert_models.columns[1:],
                [m for m in alert_models.rows if m["tenant_id"] == a["tenant_id"]],
            ),
        }
        for a in alerts
    ]
    tables = [
        Table("anomalies", "Flagged days", FLAGGED_COLUMNS, flagged, empty=f"No day was flagged in {week}."),
        Table(
            "anomaly_drivers",
            "What drove each flagged day",
            ANOMALY_COLUMNS[:3]
            + [Column("driver_dimension", "Driver dimension"), Column("driver_rank", "Rank", "count")]
            + DRIVER_COLUMNS,
            drivers,
        ),
        Table(
            "premium_share_by_tenant",
            "Premium-model share by tenant",
            PREMIUM_COLUMNS,
            shares,
            empty="No calls this week.",
        ),
        alert_models,
    ]
    chart = (
        svg(
            charts.paired_bars(
                f"Flagged days, {week}: cost against the trailing 7-day mean",
                [f"{day(a['usage_date'])} \u00b7 {a['dimension']} {a['dimension_value']}" for a in flagged],
                [a["observed_usd"] for a in flagged],
                [a["baseline_usd"] for a in flagged],
                current_name="cost that day",
                prior_name="trailing 7-day mean",
                notes=[ratio_x(a["ratio"]) for a in flagged],
                label_w=330,
            )
        )
        if flagged
        else ""
    )
    dbt = dbt_vars()
    html = render(
        "anomalies.html",
        title=f"AI spend anomalies \u00b7 {week}",
        week=week,
        subtitle=f"Week {week} ({week.span})",
        ratio=cfg.anomaly_ratio,
        min_usd=cfg.anomaly_min_usd,
        tables={t.name: t for t in tables},
        cards=cards,
        alerts=alert_cards,
        charts={"anomalies": chart},
        premium_models=premium_models,
        premium_min_output=dbt["premium_min_output_usd_per_million"],
        premium_jump=dbt["premium_share_jump"],
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC",
        warehouse=cfg.warehouse_path,
    )
    return Page("anomalies", html, tables)
