"""reports.dir/<YYYY-Www>/rent_vs_api.html, beside the showback page: per [[self_host_options]] entry, what the
usage it would replace costs at API prices against renting nodes for it (finance.rent_vs_api_monthly), as a chart
of monthly cost against monthly output volume and a table (docs/decisions.md#rent-vs-api)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.config import Config
from reports import charts
from reports.pages import Page
from reports.render import render, svg
from reports.tables import Column, Table
from reports.week import IsoWeek
from warehouse.engines import Reader

COLUMNS = [
    Column("month_start", "Month", "date"),
    Column("option_id", "Option"),
    Column("is_projected", "Projected", "bool"),
    Column("output_tokens", "Output tokens", "count"),
    Column("peak_hour_output_tokens", "Busiest hour", "count"),
    Column("nodes_needed", "Nodes", "count"),
    Column("offer_provider", "Offer"),
    Column("usd_per_gpu_hour", "Per GPU-hour", "usd_unit"),
    Column("utilisation", "Utilisation", "pct"),
    Column("api_cost_usd", "API cost", "usd"),
    Column("self_host_cost_usd", "Self-host cost", "usd"),
    Column("api_usd_per_million_output", "API per 1M out", "usd_unit"),
    Column("self_host_usd_per_million_output", "Self-host per 1M out", "usd_unit"),
    Column("savings_usd", "Savings", "usd_signed"),
    Column("break_even_output_tokens_per_month", "Break-even tokens/month", "count"),
]


def months_to(con: Reader, week: IsoWeek) -> list[dict]:
    """Every option's rows of the months up to the one the week ends in, by option and month."""
    return con.rows(
        """
        select * from rent_vs_api_monthly
        where month_start <= $last_day
        order by option_id, month_start""",
        {"last_day": week.end - timedelta(days=1)},
    )


def chart(row: dict) -> str:
    """The option's month as cost against volume: one node costs (self-host cost - ops) / nodes; a node serves the
    month's output volume for each busiest hour it fits, so the steps scale the month's own traffic shape."""
    nodes = row["nodes_needed"]
    ops = float(row["ops_usd_per_month"])
    node_usd = (float(row["self_host_cost_usd"]) - ops) / nodes
    hours = row["days_in_month"] * 24
    # the month's output per busiest-hour token (flat traffic when nothing was replaced)
    shape = row["output_tokens"] / row["peak_hour_output_tokens"] if row["peak_hour_output_tokens"] else hours
    tokens_per_node = row["output_tokens_per_second"] * 3600 * row["max_utilisation"] * shape
    api_rate = row["api_cost_usd"] / row["output_tokens"] if row["output_tokens"] and row["api_cost_usd"] else None
    return svg(
        charts.cost_against_volume(
            f"{row['option_id']}, {row['month_start']:%B %Y}: monthly cost against monthly output tokens",
            api_rate,
            node_usd,
            ops,
            tokens_per_node,
            float(row["output_tokens"]),
            row["break_even_output_tokens_per_month"],
        )
    )


def rent_vs_api_page(con: Reader, cfg: Config, week: IsoWeek, generated_at: datetime) -> Page:
    rows = months_to(con, week)
    latest = {}
    for row in rows:  # ordered by month: the last row of an option is its latest month
        latest[row["option_id"]] = row
    options = [{**row, "chart": chart(row) if row["self_host_cost_usd"] is not None else ""} for row in latest.values()]
    table = Table(
        "rent_vs_api_monthly",
        "Rent vs API, by month",
        COLUMNS,
        rows,
        empty="No [[self_host_options]] in the config, or no month published yet.",
    )
    html = render(
        "rent_vs_api.html",
        title=f"Rent vs API \u00b7 {week}",
        week=week,
        subtitle=f"Up to week {week} ({week.span})",
        options=options,
        tables={table.name: table},
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC",
        warehouse=cfg.warehouse_path,
    )
    return Page("rent_vs_api", html, [table])
