"""`finops demo`: write the sample config, price and GPU sheets and generated usage to a folder, run the
pipeline over every day, write sample vendor bills for those days (finops/demo/sample_bills.py) and run the last day
again with them, print where the warehouse is with a short summary and the reconciliation with the bills, and write
the weekly report of the last complete week (pages, CSV files, chargeback emails in the outbox) and print their
paths."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from core.config import Config, default_config_path, load_config
from core.exit_codes import EXIT_GATE_FAILED, EXIT_OK, EXIT_SEND_FAILED
from finops.demo.sample_bills import BILLING_SOURCE, WRONG_PRICE, WRONG_PRICE_FACTOR, write_sample_bills
from finops.demo.sample_data import generate_usage

SUMMARY_QUERIES = {
    "The whole bill (last 7 days): API + self-hosted allocated + idle + unrecovered": """
        select coalesce(category, 'total') as category, round(sum(cost_usd), 2) as cost_usd,
               sum(requests) as requests
        from finance.spend_daily
        where usage_date > (select max(usage_date) from finance.spend_daily) - 7
        group by rollup (category) order by category is null, category""",
    "Cost by tenant (last 7 days)": """
        select tenant_id, round(sum(cost_usd), 2) as cost_usd, sum(requests) as requests,
               sum(unpriced_requests) as unpriced_requests
        from finance.agg_cost_daily
        where usage_date > (select max(usage_date) from finance.agg_cost_daily) - 7
        group by 1 order by 2 desc""",
    "Cost by feature (last 7 days)": """
        select feature, round(sum(cost_usd), 2) as cost_usd, sum(tasks) as tasks,
               round(sum(cache_savings_usd), 2) as cache_savings_usd
        from finance.agg_cost_daily
        where usage_date > (select max(usage_date) from finance.agg_cost_daily) - 7
        group by 1 order by 2 desc""",
    "Top tasks (last 7 days)": """
        select task_id, tenant_id, feature, requests, retries, succeeded, round(cost_usd, 4) as cost_usd
        from finance.fct_llm_tasks
        where usage_date > (select max(usage_date) from finance.fct_llm_tasks) - 7
        order by cost_usd desc nulls last limit 5""",
    "Self-hosted deployments (all days)": """
        select deployment_id,
               case tenant_id when '__idle__' then 'idle' when '__unrecovered__' then 'unrecovered'
                              else 'allocated' end as booked_to,
               round(sum(cost_usd), 2) as cost_usd
        from finance.self_hosted_allocation group by 1, 2 order by 1, 2""",
    "Rent vs API (the latest month; projected when not every day is published)": """
        select option_id, month_start, is_projected, nodes_needed, round(api_cost_usd, 2) as api_cost_usd,
               round(self_host_cost_usd, 2) as self_host_cost_usd, round(savings_usd, 2) as savings_usd,
               round(utilisation, 4) as utilisation
        from finance.rent_vs_api_monthly
        where month_start = (select max(month_start) from finance.rent_vs_api_monthly)
        order by option_id""",
    "Budgets (as of the last day; at_risk: the month's forecast reaches the first alert level)": """
        select budget, month, round(budget_usd, 2) as budget_usd, round(spent_usd, 2) as spent_usd,
               round(forecast_month_usd, 2) as forecast_month_usd, round(forecast_share, 3) as forecast_share, status
        from finance.budget_status_daily
        where as_of_date = (select max(as_of_date) from finance.budget_status_daily)
        order by budget""",
    "Computed vs billed (last 7 days; billed NULL: awaiting bill)": """
        select provider, round(sum(computed_usd), 2) as computed_usd, round(sum(billed_usd), 2) as billed_usd,
               round(sum(difference_usd), 2) as difference_usd,
               round(sum(difference_usd) / nullif(sum(billed_usd), 0), 4) as difference_share,
               count(*) - count(billed_usd) as days_awaiting_bill
        from finance.billing_reconciliation
        where account_id is null
          and usage_date > (select max(usage_date) from finance.billing_reconciliation) - 7
        group by 1 order by 1""",
}


def write_demo_folder(folder: Path, days: int, events_per_day: int) -> tuple[Path, list]:
    """The bundled config, sheets and `days` of generated usage ending yesterday (UTC)."""
    bundled = default_config_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("prices", "gpus"):
        shutil.copytree(bundled / sub, folder / sub, dirs_exist_ok=True)
    config = (
        (bundled / "finops.toml")
        .read_text()
        .replace('path = "../../finops-data/finops.duckdb"', 'path = "warehouse/finops.duckdb"')
    )
    (folder / "finops.toml").write_text(config)
    start = datetime.now(UTC).date() - timedelta(days=days)
    generate_usage(folder / "usage", start, days, events_per_day, gzip=True)
    return folder / "finops.toml", [start + timedelta(days=i) for i in range(days)]


def run_demo(folder: Path, days: int, events_per_day: int) -> int:
    from orchestration.history import dagster_home, record_published_days
    from reports.budget_alerts import send_budget_alerts
    from warehouse.docs_site import write_docs_site
    from warehouse.pipeline import run_days
    from warehouse.readonly import connect_read_only
    from warehouse.sql_output import format_table

    config_path, day_list = write_demo_folder(folder, days, events_per_day)
    print(f"wrote {config_path} and {days} days x {events_per_day} sample calls under {folder / 'usage'}")
    cfg = load_config(config_path)
    outcome = run_days(cfg, day_list)
    record_published_days(cfg, outcome.published_days, outcome.statuses, len(outcome.cost_changes))
    if not outcome.published:
        print("the quality gate failed on the demo data; see the log above")
        return EXIT_GATE_FAILED
    with connect_read_only(cfg.warehouse_path) as con:
        bills = write_sample_bills(con, folder)
    config_path.write_text(config_path.read_text() + BILLING_SOURCE)
    print(
        f"\nwrote sample vendor bills under {bills} ({WRONG_PRICE[1]} billed at {WRONG_PRICE_FACTOR:g}x its list "
        "price, the last day not billed yet); running the last day again to reconcile them"
    )
    cfg = load_config(config_path)
    outcome = run_days(cfg, day_list[-1:])
    record_published_days(cfg, outcome.published_days, outcome.statuses, len(outcome.cost_changes))
    if not outcome.published:
        print("the quality gate failed on the demo data; see the log above")
        return EXIT_GATE_FAILED
    docs = write_docs_site(cfg)
    print(f"\nwarehouse: {cfg.warehouse_path}")
    print(f"quality:   {outcome.report}")
    print(f"tables:    {docs.as_uri()}  (the dbt docs of the finance tables: finops docs)")
    print(f'query it:  finops sql --config {config_path} "select * from finance.showback_weekly limit 10"')
    print(f"dagster:   DAGSTER_HOME={dagster_home(cfg)} FINOPS_CONFIG={config_path} dagster dev\n")
    con = connect_read_only(cfg.warehouse_path)
    for title, query in SUMMARY_QUERIES.items():
        relation = con.sql(query)
        print(title)
        print(format_table(relation.columns, relation.fetchall()))
    con.close()
    alerts = send_budget_alerts(cfg)
    if alerts.alerts:
        print(
            f"budget alerts ({len(alerts.alerts)} level(s) reached this month; no [smtp]: written, not sent): "
            f"{cfg.outbox_dir / 'alerts'}\n"
        )
    return report_last_week(cfg, day_list)


def report_last_week(cfg: Config, day_list: list[date]) -> int:
    """The weekly report of the last complete ISO week of the demo data (pages, CSV files, outbox emails)."""
    from reports.week import IsoWeek
    from reports.weekly import print_outcome, run_weekly_report

    week = IsoWeek.last_complete(day_list[-1] + timedelta(days=1))  # the last week that ended by the last day
    if week.start < day_list[0]:
        print(f"no complete ISO week in the demo data ({day_list[0]} .. {day_list[-1]}): no weekly report")
        return EXIT_OK
    outcome = run_weekly_report(cfg, week)
    print_outcome(outcome)
    return EXIT_SEND_FAILED if outcome.failed_sends else EXIT_OK
