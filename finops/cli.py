"""The `finops` command line (docs/spec.md#commands)."""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import gc
import json
import logging
import os
import sys
import tempfile
import textwrap
import traceback
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from core.clock import utc_today
from core.config import Config, ConfigError, default_config_path, load_config
from core.exit_codes import (
    EXIT_BAD_INPUT,
    EXIT_GATE_FAILED,
    EXIT_INTERNAL_ERROR,
    EXIT_OK,
    EXIT_SEND_FAILED,
    MEANINGS,
)
from core.progress import CLEAR, on_terminal
from warehouse.sql_output import FORMATS

log = logging.getLogger("finops")

EXPORT_FORMATS = ("csv", "parquet")

EXIT_CODES = "exit codes:\n" + "\n".join(
    textwrap.fill(meaning, 116, initial_indent=f"  {code}  ", subsequent_indent="     ")
    for code, meaning in MEANINGS.items()
)


class BadArgument(Exception):
    """A command-line value finops cannot use; the message names the option and what to give instead."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date YYYY-MM-DD") from None


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a month YYYY-MM") from None


def _iso_week(text: str):
    from reports.week import IsoWeek

    try:
        return IsoWeek.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of 1 or more")
    return int(text)


def _check_day(option: str, day: date, cfg: Config, partial: bool = True) -> None:
    """A usage day must be one that can have happened and be built: from [quality] earliest_usage_date to today
    (UTC); today only when `partial` (`run` and `backfill` build it only with --partial)."""
    if day < cfg.earliest_usage_date:
        raise BadArgument(
            f"{option} {day} is before {cfg.earliest_usage_date} (quality.earliest_usage_date of "
            f"{cfg.path}), the earliest usage day finops builds; give a later date"
        )
    if day > _today():
        raise BadArgument(
            f"{option} {day} is after today ({_today()}, UTC): a date after today cannot be "
            f"complete; give a date up to {_today()}"
        )
    if day == _today() and not partial:
        raise BadArgument(
            f"{option} {day} is today (UTC): the day is not over, so its numbers cannot be complete; pass "
            "--partial to publish it marked partial (a run after the day ends makes it complete), or wait for "
            "the day to end"
        )


def _check_arguments(args: argparse.Namespace, cfg: Config) -> None:
    if args.command == "run" and args.date is not None:
        _check_day("--date", args.date, cfg, args.partial)
    if args.command == "quarantine":
        _check_day("--date", args.date, cfg)
    if args.command == "backfill":
        _check_day("--from", args.start, cfg, args.partial)
        _check_day("--to", args.end, cfg, args.partial)
        if args.end < args.start:
            raise BadArgument(f"--to {args.end} is before --from {args.start}")
    if args.command == "export":
        _check_export(args)
    if args.command == "report" and args.week is not None:
        if args.week.start < cfg.earliest_usage_date:
            raise BadArgument(
                f"--week {args.week} is before {cfg.earliest_usage_date} (quality.earliest_usage_date "
                f"of {cfg.path}), the earliest usage day finops builds; give a later week"
            )
        if args.week.start > _today():
            raise BadArgument(
                f"--week {args.week} starts after today ({_today()}, UTC): a week not begun cannot "
                f"be complete; give a week that has ended"
            )


def _today() -> date:
    return utc_today()


def _yesterday() -> date:
    return _today() - timedelta(days=1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finops",
        description="FinOps pipeline for AI inference spend",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"finops {version('finops')}")
    config_help = "config file (TOML); default: the bundled sample config"
    parser.add_argument("--config", type=Path, default=None, help=config_help)
    sub = parser.add_subparsers(dest="command", required=True)
    # --config after the subcommand too (given there, it wins over one before it: its default does not overwrite)

    run = sub.add_parser("run", help="the nightly job for one usage day (default: yesterday, UTC)")
    run.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    run.add_argument("--date", type=_date, default=None, help="usage day YYYY-MM-DD (default: yesterday, UTC)")
    partial_help = "build today (UTC), published marked partial until a run after the day ends rebuilds it"
    empty_help = (
        "publish a day with no usage record (status empty, with a warning) even when the days before it have calls "
        "(without it the row-count check fails it: a missing export looks the same)"
    )
    run.add_argument("--partial", action="store_true", help=partial_help)
    run.add_argument("--allow-empty", action="store_true", help=empty_help)

    backfill = sub.add_parser("backfill", help="the nightly job for every day of a range, in one pass")
    backfill.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    backfill.add_argument("--from", dest="start", type=_date, required=True, help="first day YYYY-MM-DD")
    backfill.add_argument("--to", dest="end", type=_date, required=True, help="last day YYYY-MM-DD (included)")
    backfill.add_argument("--partial", action="store_true", help=partial_help)
    backfill.add_argument("--allow-empty", action="store_true", help=empty_help)

    report = sub.add_parser("report", help="weekly showback, anomaly report and chargeback emails for an ISO week")
    report.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    report.add_argument(
        "--week", type=_iso_week, default=None, help="ISO week YYYY-Www (default: the last complete week, UTC)"
    )
    report.add_argument(
        "--allow-partial",
        action="store_true",
        help="report a week with a partial day (published before the day ended); the page and emails name it",
    )
    report.add_argument(
        "--resend",
        nargs="*",
        metavar="EMAIL",
        default=None,
        help="send these owners' emails again (no EMAIL: every owner's), even if accepted before or "
        "unconfirmed; an unconfirmed one goes under the same Message-ID",
    )

    sql = sub.add_parser("sql", help="read-only SQL on the published warehouse (no QUERY: interactive)")
    sql.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    sql.add_argument("query", nargs="?", help="a SQL query; without it, statements are read from stdin")
    sql.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default, to read: money rounded to cents), csv, json or parquet (exact; parquet needs --out)",
    )
    sql.add_argument("--out", type=Path, help="write the result to this file (replaced whole) instead of stdout")

    export = sub.add_parser("export", help="a finance table's rows of a range of days, to CSV or Parquet (exact)")
    export.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    export.add_argument(
        "table", help="a finance table (finops sql, then .tables, lists them), or focus: a month as FOCUS 1.2 rows"
    )
    export.add_argument("--month", type=_month, help="focus: the month YYYY-MM (UTC days)")
    export.add_argument("--from", dest="start", type=_date, help="first day YYYY-MM-DD (default: every row)")
    export.add_argument("--to", dest="end", type=_date, help="last day YYYY-MM-DD (included)")
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, help="csv or parquet (default: the --out file's suffix, else csv)"
    )
    export.add_argument(
        "--out", type=Path, help="the file to write (replaced whole); default: CSV on stdout, focus-YYYY-MM.parquet"
    )

    quarantine = sub.add_parser(
        "quarantine", help="the usage records quarantined for a usage day, from the staging area (published or not)"
    )
    quarantine.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    quarantine.add_argument("--date", type=_date, required=True, help="usage day YYYY-MM-DD")
    quarantine.add_argument(
        "--format", choices=("table", "csv"), default="table", help="table (default, to read) or csv (to process)"
    )

    docs = sub.add_parser(
        "docs", help="the dbt docs of the finance tables (descriptions, column types, lineage) as one static page"
    )
    docs.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)

    demo = sub.add_parser("demo", help="write a sample config and data to a folder and run the pipeline on it")
    demo.add_argument("--dir", type=Path, default=Path("finops-demo"), help="folder to write (default: finops-demo)")
    demo.add_argument("--days", type=_count, default=28, help="days of sample usage, ending yesterday (default 28)")
    demo.add_argument("--events-per-day", type=_count, default=2000, help="sample calls per day (default 2000)")
    return parser


def _check_export(args: argparse.Namespace) -> None:
    """The table (a FinanceTable in args.table, or "focus"), the days and the format of `finops export`, before
    anything is read."""
    from warehouse.finance_tables import finance_table, finance_tables

    if args.table == "focus":
        if args.month is None or args.start is not None or args.end is not None:
            raise BadArgument("export focus: give --month YYYY-MM (a FOCUS export is a billing period: a month)")
        args.out = args.out or Path(f"focus-{args.month:%Y-%m}.parquet")
    else:
        table = finance_table(args.table.removeprefix("finance."))
        if table is None:
            names = ", ".join(t.table for t in finance_tables())
            raise BadArgument(f"export {args.table}: not a finance table; give one of: {names}, or focus")
        if args.month is not None:
            raise BadArgument(f"export {table.table}: --month is for `export focus`; give --from and --to")
        if (args.start is None) != (args.end is None):
            raise BadArgument(f"export {table.table}: give both --from and --to (the first and last day), or neither")
        if args.start is not None and table.date_column is None:
            raise BadArgument(
                f"export {table.table}: the table has no day column (it is exported whole); drop --from and --to"
            )
        if args.start is not None and args.end < args.start:
            raise BadArgument(f"--to {args.end} is before --from {args.start}")
        args.table = table
    if args.format is None:
        suffix = args.out.suffix.lstrip(".").lower() if args.out else "csv"
        if suffix not in EXPORT_FORMATS:
            raise BadArgument(f"--out {args.out}: give --format csv or parquet (the file's suffix names neither)")
        args.format = suffix
    if args.format == "parquet" and args.out is None:
        raise BadArgument("--format parquet writes a file: give --out FILE")


def _run_days(cfg: Config, days: list[date], allow_empty: bool) -> int:
    from orchestration.history import record_published_days
    from warehouse.engines import engine_of
    from warehouse.pipeline import run_days

    outcome = run_days(cfg, days, allow_empty)
    record_published_days(cfg, outcome.published_days, outcome.statuses, len(outcome.cost_changes))
    where = engine_of(cfg).where
    if not outcome.published:
        if outcome.published_days:
            print(
                f"published {where} for {len(outcome.published_days)} day(s) before the failed build: "
                f"{outcome.published_days[0]} .. {outcome.published_days[-1]}",
                file=sys.stderr,
            )
        print(
            f"quality gate failed on {outcome.build.days[0]} .. {outcome.build.days[-1]}; nothing of it "
            f"published, {where} kept as it was:",
            file=sys.stderr,
        )
        for check in outcome.failed_checks:
            print(
                f"  {check.suite} / {check.expectation} on {check.table}: {check.unexpected_count} unexpected"
                f"{' - ' + check.message if check.message else ''}",
                file=sys.stderr,
            )
            for example in json.loads(check.examples)[:3] if check.examples else []:
                print(f"      e.g. {example}", file=sys.stderr)
        print(f"quality report: {outcome.report}", file=sys.stderr)
        return EXIT_GATE_FAILED
    print(
        f"published {where} ({len(outcome.published_days)} day(s) built: "
        f"{outcome.published_days[0]} .. {outcome.published_days[-1]})"
    )
    for day, status in outcome.statuses.items():
        if status == "partial":
            print(f"  {day} published as partial: the day is not over; a run after it ends makes it complete")
        if status == "empty":
            print(f"  {day} published as empty: no usage record from any source ($0); check the exports if wrong")
    if outcome.cost_changes:
        print(f"re-costed {len(outcome.cost_changes)} published day(s) whose inputs changed:")
        for change in outcome.cost_changes:
            print(f"  {change}")
    _budget_alerts(cfg)
    return EXIT_OK


def _budget_alerts(cfg: Config) -> None:
    """After a publish: the budget alerts not sent before (reports/budget_alerts.py). One not sent is said on stderr
    and does not change the exit code (the numbers are published; a failed one is tried again after the next)."""
    from reports.budget_alerts import send_budget_alerts

    for send in send_budget_alerts(cfg).sends:
        if send.status == "sent":
            print(f"budget alert sent to {send.to} ({send.eml.name})")
        elif send.status != "already sent":
            print(f"budget alert to {send.to} {send.status}: {send.detail} ({send.eml})", file=sys.stderr)


def _report(cfg: Config, week, resend: list[str] | None, allow_partial: bool) -> int:
    owners = [owner.email for owner in cfg.owners]
    unknown = [email for email in resend or [] if email not in owners]
    if unknown:
        raise BadArgument(
            f"--resend {unknown[0]} is not the email of an [[owners]] entry of {cfg.path} "
            f"(owners: {', '.join(owners) or 'none'})"
        )
    from reports.readiness import WeekNotPublished
    from reports.week import IsoWeek
    from reports.weekly import print_outcome, run_weekly_report

    try:
        outcome = run_weekly_report(
            cfg,
            week or IsoWeek.last_complete(),
            resend=owners if resend == [] else resend or (),
            allow_partial=allow_partial,
        )
    except WeekNotPublished as exc:
        print(f"finops report: {exc}", file=sys.stderr)
        return EXIT_GATE_FAILED
    print_outcome(outcome)
    return EXIT_SEND_FAILED if outcome.failed_sends else EXIT_OK


def _quarantine(cfg: Config, day: date, fmt: str) -> int:
    from core.layout import Layout
    from warehouse.pipeline import current_state
    from warehouse.quarantine import COLUMNS, quarantined_records

    layout = Layout.of(cfg)
    records = quarantined_records(layout, current_state(cfg, layout), [day.isoformat()])
    rows = [["" if v is None else str(v) for v in (r.file, r.line, r.reason, r.raw)] for r in records]
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    else:
        widths = [max(len(row[i]) for row in [list(COLUMNS), *rows]) for i in range(len(COLUMNS) - 1)]
        for row in [list(COLUMNS), *rows]:
            print("  ".join([*(v.ljust(w) for v, w in zip(row, widths, strict=False)), row[-1]]).rstrip())
    files = len({r.file for r in records})
    print(f"{len(records)} record(s) quarantined from {files} usage file(s) read for {day}", file=sys.stderr)
    return EXIT_OK


def _sql(cfg: Config, args: argparse.Namespace) -> int:
    from warehouse.engines import engine_of

    if args.format == "parquet" and args.out is None:
        raise BadArgument("--format parquet writes a file: give --out FILE")
    return engine_of(cfg).run_sql(args.query, sys.stdin, args.format, args.out)


def _check_focus(path: Path) -> int:
    """The FOCUS 1.2 conformance suite on the written file (expectations/focus.py); 1 when a check failed."""
    from expectations.focus import check_focus_file

    checks = check_focus_file(path)
    failed = [check for check in checks if not check.success]
    print(f"FOCUS 1.2 conformance (GX): {len(checks)} check(s), {len(failed)} failed")
    for check in failed:
        print(f"  {check.expectation}: {check.unexpected_count} unexpected {check.message}", file=sys.stderr)
    return EXIT_GATE_FAILED if failed else EXIT_OK


def _export(cfg: Config, args: argparse.Namespace) -> int:
    from warehouse.engines import engine_of

    if args.table == "focus":
        from warehouse.focus import FOCUS_VERSION

        done = engine_of(cfg).export_focus(args.month, args.format, args.out)
        print(
            f"FOCUS {FOCUS_VERSION} {args.month:%Y-%m}: {done.rows} row(s) written to {args.out}; BilledCost "
            f"${done.billed_usd:,.2f}, the month's bill (finance.spend_daily) ${done.bill_usd:,.2f}"
        )
        if done.unpriced_requests:
            print(
                f"  {done.unpriced_requests} unpriced call(s) of the month are not in it (no price in force: their "
                "cost is unknown, not $0; see finance.fct_llm_requests where cost_usd is null)"
            )
        return _check_focus(args.out)

    rows = engine_of(cfg).export(args.table, args.start, args.end, args.format, args.out)
    days = f" {args.start} .. {args.end}" if args.start else ""
    where = f" to {args.out}" if args.out else ""
    print(f"finance.{args.table.table}{days}: {rows} row(s) written{where}", file=sys.stderr)
    return EXIT_OK


def _bad_input_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad input or config (exit 2): each message names the file or the key."""
    from core.layout import WarehouseError
    from ingest.object_store import StorageError
    from ingest.sheets import SheetError
    from ingest.usage_canonical import UsageFileError
    from reports.mailer import SendLogError
    from warehouse.readonly import WarehouseMissing

    return (
        BadArgument,
        ConfigError,
        SheetError,
        StorageError,
        UsageFileError,
        WarehouseError,
        WarehouseMissing,
        SendLogError,
    )


def _internal_error(cfg: Config | None, argv: list[str]) -> int:
    """An exception finops did not expect (a bug): one line on stderr, the traceback in a file under the warehouse's
    data folder (or the temp folder when no config was read), or on stderr with FINOPS_DEBUG=1."""
    exc = sys.exc_info()[1]
    what = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    if os.environ.get("FINOPS_DEBUG") == "1":
        traceback.print_exc()
        where = "printed above"
    else:
        folder = cfg.data_dir / "errors" if cfg else Path(tempfile.gettempdir()) / "finops-errors"
        path = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(f"finops {' '.join(argv)}\n\n{traceback.format_exc()}")
            where = f"in {path}"
        except OSError:
            traceback.print_exc()
            where = "printed above"
    print(
        f"finops: internal error ({what}); a bug in finops, not in your input: the traceback is {where} "
        "(FINOPS_DEBUG=1 prints it); please report it",
        file=sys.stderr,
    )
    return EXIT_INTERNAL_ERROR


def main(argv: list[str] | None = None) -> int:
    """`finops ARGV` (default: this process's command line, the process then being finops's own: its garbage
    collector is tuned, collect_garbage_rarely); returns the exit code."""
    if argv is None:
        collect_garbage_rarely()
        argv = sys.argv[1:]
    args = _parser().parse_args(argv)
    # dagster-dbt logs every dbt command line; GX, and alembic (the Dagster history's SQLite set-up), log their own
    # set-up at INFO
    for noisy in ("dagster", "dagster.builtin", "great_expectations", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with _logging_to_stderr():
        return _command(args, argv)


def collect_garbage_rarely() -> None:
    """Python's cyclic garbage collector, tuned for a process that runs finops: a run holds millions of long-lived
    objects (dbt's manifest, Great Expectations, Dagster), which the default thresholds walk again and again (nine
    full collections, 1.7 s of a 10,000-call day) and once more at exit (1.5 s). The youngest generation is
    collected every 100,000 allocations instead of 700 and the older ones less often, and nothing at exit: the
    process ends and the system takes its memory back whole (docs/performance.md)."""
    gc.set_threshold(100_000, 50, 100)
    atexit.register(gc.freeze)  # (the exit handlers all run; only the last collection skips what is frozen)


@contextlib.contextmanager
def _logging_to_stderr():
    """Log records of INFO and above to the command's stderr, one line each, for the command's time: main called
    again in one process (a test, a Python caller) logs to the sys.stderr of that call, and logging is left as found."""
    start = CLEAR if on_terminal() else ""  # a log line first erases a progress line (core/progress.py)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{start}%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _command(args: argparse.Namespace, argv: list[str]) -> int:
    cfg, bad_input = None, ()
    try:
        bad_input = _bad_input_errors()
        if args.command == "demo":
            from finops.demo import run_demo

            return run_demo(args.dir, days=args.days, events_per_day=args.events_per_day)
        # the config is read before the pipeline's or the report's imports: a bad one exits at once
        cfg = load_config(args.config or default_config_path())
        _check_arguments(args, cfg)
        if args.command == "run":
            return _run_days(cfg, [args.date or _yesterday()], args.allow_empty)
        if args.command == "backfill":
            days = [args.start + timedelta(days=i) for i in range((args.end - args.start).days + 1)]
            return _run_days(cfg, days, args.allow_empty)
        if args.command == "report":
            return _report(cfg, args.week, args.resend, args.allow_partial)
        if args.command == "quarantine":
            return _quarantine(cfg, args.date, args.format)
        if args.command == "docs":
            from warehouse.docs_site import write_docs_site

            print(write_docs_site(cfg))
            return EXIT_OK
        if args.command == "export":
            return _export(cfg, args)
        return _sql(cfg, args)
    except bad_input as exc:
        print(f"finops: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception:
        return _internal_error(cfg, argv)


if __name__ == "__main__":
    sys.exit(main())
