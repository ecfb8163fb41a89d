"""One chargeback email per [[owners]] entry: only that owner's features and tenants, as HTML with a plain
text alternative and a CSV attachment of every line (tenant x feature x model) of their week.

An owner with no usage in the week still gets an email saying so (docs/reports.md says why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from core.config import Owner
from reports import figures as fig
from reports.figures import Scope
from reports.formatting import one_line, usd, usd_signed
from reports.pages import (
    BUDGET_COLUMNS,
    BUDGET_NOTE,
    FLAGGED_COLUMNS,
    PREMIUM_COLUMNS,
    UNPRICED_COLUMNS,
    UNPRICED_NOTE,
    attach_main_drivers,
    cost_columns,
    model_name,
    not_compared_note,
    owner_covers,
)
from reports.readiness import PriorWeek
from reports.render import render
from reports.tables import Column, Table
from reports.week import IsoWeek
from warehouse.engines import Reader

TOP_CHANGES = 5


@dataclass
class OwnerWeek:
    owner: Owner
    week: IsoWeek
    prior: PriorWeek  # compared only when complete
    summary: dict
    tables: dict[str, Table]
    lines: Table  # the CSV attachment
    bill: dict  # the week's whole bill (figures.whole_bill): its idle GPU cost is no owner's
    partial_days: list[str]  # the week's days published before they ended (reported with --allow-partial)

    @property
    def has_usage(self) -> bool:
        return self.summary["requests"] > 0

    @property
    def file_stem(self) -> str:
        """The outbox file is <file_stem>.eml."""
        return self.owner.slug


def owner_week(
    con: Reader,
    week: IsoWeek,
    prior: PriorWeek,
    owner: Owner,
    bill: dict,
    partial_days: list[str] = (),
    budgets: tuple[str, ...] = (),
) -> OwnerWeek:
    """`budgets`: the names of the [[budgets]] the owner is alerted for (their status is a table of the email)."""
    scope = Scope.of_owner(owner)
    compared = prior.compared
    cost = cost_columns(prior)
    summary = fig.totals(con, week, scope, compared=compared)
    lines = fig.breakdown(con, week, scope, ("tenant_id", "feature", "provider", "model"), compared=compared)
    for row in lines:
        row["model_name"] = model_name(row)
    changes = sorted((r for r in lines if r["change_usd"]), key=lambda r: abs(r["change_usd"]), reverse=True)
    flagged = fig.anomalies(con, week, scope)
    attach_main_drivers(flagged, fig.anomaly_drivers(con, week, scope))
    detail = [
        Column("tasks", "Tasks", "count"),
        Column("cost_per_task_usd", "Per task", "usd_unit"),
        Column("unpriced_requests", "Unpriced calls", "count"),
    ]
    line_columns = [Column("tenant_id", "Tenant"), Column("feature", "Feature"), Column("model_name", "Model")]
    tables = {
        "features": Table(
            "features",
            "By feature",
            [Column("feature", "Feature")] + cost + detail,
            fig.breakdown(con, week, scope, ("feature",), compared=compared),
            empty="No calls.",
            note=not_compared_note(prior),
        ),
        "tenants": Table(
            "tenants",
            "By tenant",
            [Column("tenant_id", "Tenant")] + cost + detail,
            fig.breakdown(con, week, scope, ("tenant_id",), compared=compared),
            empty="No calls.",
            note=not_compared_note(prior),
        ),
        "changes": Table(
            "changes",
            f"Biggest changes vs {prior.label}",
            line_columns + cost,
            changes[:TOP_CHANGES],
            empty="No change from the week before." if compared else "Not compared: only complete weeks are.",
        ),
        "anomalies": Table(
            "anomalies",
            "Anomalies",
            FLAGGED_COLUMNS,
            flagged,
            empty="No anomaly on your features or tenants this week.",
        ),
        "alerts": Table(
            "alerts",
            "Model-mix alerts",
            PREMIUM_COLUMNS,
            [s for s in fig.premium_shares(con, week, scope) if s["is_alert"]],
            empty="No model-mix alert on your tenants.",
        ),
        "unpriced": Table(
            "unpriced",
            "Unpriced usage",
            UNPRICED_COLUMNS,
            fig.unpriced_by_model(con, week, scope),
            empty="Every call had a price.",
            note=UNPRICED_NOTE,
        ),
    }
    if budgets:
        tables["budgets"] = Table(
            "budgets", "Your budgets", BUDGET_COLUMNS, fig.budget_status(con, week, budgets), note=BUDGET_NOTE
        )
    lines_table = Table(
        "lines",
        "Every line",
        line_columns
        + cost
        + [
            Column("requests", "Calls", "count"),
            Column("tasks", "Tasks", "count"),
            Column("cache_savings_usd", "Cache savings", "usd"),
            Column("retry_cost_usd", "Retry cost", "usd"),
            Column("unpriced_requests", "Unpriced calls", "count"),
            Column("unpriced_tokens", "Unpriced tokens", "count"),
        ],
        lines,
    )
    return OwnerWeek(owner, week, prior, summary, tables, lines_table, bill, list(partial_days))


def header_safe(text: str, limit: int = 200) -> str:
    """A header value from names in the data or the config: on one line (no CR or LF to start a new header),
    at most `limit` characters. Non-ASCII text is encoded (RFC 2047) by the email package."""
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def subject(report: OwnerWeek) -> str:
    s = report.summary
    if not report.has_usage:
        return f"AI spend {report.week}, {report.owner.name}: no usage"
    text = f"AI spend {report.week}, {report.owner.name}: {usd(s['cost_usd'], missing='unpriced')} "
    if not report.prior.compared:
        return text + f"(prior week {report.prior.label})"
    text += f"({usd_signed(s['change_usd'])} vs {report.week.prior})"
    moved = [r for r in report.tables["features"].rows if r["change_usd"]]
    if moved:
        biggest = max(moved, key=lambda r: abs(r["change_usd"]))
        text += f", biggest change: {biggest['feature']} {usd_signed(biggest['change_usd'])}"
    return text


def message_id(report: OwnerWeek, sender: str, number: int) -> str:
    """The Message-ID of the `number`-th distinct send of an owner's email of a week (reports/mailer.py decides
    when a send is a new message): the same week, owner and number give the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<finops.{report.week}.{report.file_stem}.{number}@{domain}>"


def chargeback_email(report: OwnerWeek, sender: str, generated_at: datetime, message_id: str) -> EmailMessage:
    context = dict(
        owner=report.owner,
        week=report.week,
        prior=report.prior,
        s=report.summary,
        has_usage=report.has_usage,
        covers=owner_covers(report.owner.features, report.owner.tenants),
        tables=report.tables,
        bill=report.bill,
        partial_days=report.partial_days,
        attachment=f"{report.file_stem}-{report.week}.csv",
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC",
    )
    message = EmailMessage()
    message["Subject"] = header_safe(subject(report))
    message["From"] = sender
    message["To"] = Address(display_name=header_safe(report.owner.name), addr_spec=report.owner.email)
    message["Date"] = format_datetime(generated_at)
    message["Message-ID"] = message_id
    message["X-Finops-Week"] = str(report.week)
    message.set_content(render("email.txt", **context))
    message.add_alternative(render("email.html", **context), subtype="html")
    message.add_attachment(
        report.lines.csv_text(str(report.week)).encode("utf-8"),
        maintype="text",
        subtype="csv",
        filename=context["attachment"],
    )
    return message
