"""The reader of each [[billing.sources]] kind (docs/spec.md#billing): a file (or a fetched page) -> billed rows
(ingest.billing_sheet.BILLED_SCHEMA), one per billed amount; the dbt models sum them per day, provider and account.
A file a reader cannot use raises SheetError naming the file, the item and what was expected (exit 2 for a local
file; a url source logs it and keeps its last good copy).

- openai_costs: pages of OpenAI's organization Costs API (GET /v1/organization/costs, daily buckets): each result's
  amount.value (USD) on the UTC day of its bucket's start_time, project_id as the account, line_item as the
  description;
- anthropic_cost_report: pages of Anthropic's Admin API cost report (GET /v1/organizations/cost_report): each
  result's amount, a decimal string in cents ("123.45" is $1.2345), on the UTC day of its bucket's starting_at,
  workspace_id as the account, description as the description;
- litellm_spend_logs: the rows of LiteLLM's spend logs (the export kind litellm_spend_logs of [[usage.sources]] reads:
  JSON, JSON lines or CSV): the `spend` LiteLLM recorded, on the UTC day of startTime, for the row's provider, with
  its team_id (else its api_key) as the account;
- billing_sheet: ingest/billing_sheet.py.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from ingest.billing_sheet import BILLED_SCHEMA, read_billing_sheet
from ingest.payload import PayloadError, load_json
from ingest.sheets import SheetError
from ingest.usage_litellm import account as litellm_account
from ingest.usage_litellm import provider_and_model


def read_openai_costs(path: Path) -> pl.DataFrame:
    rows = []
    for item, (bucket, result) in enumerate(_bucket_results(path), 1):
        where = f"{path}: result {item}"
        amount = result.get("amount") if isinstance(result.get("amount"), dict) else {}
        _check_usd(where, amount.get("currency"))
        day = _day(where, "start_time", bucket.get("start_time"))
        rows.append(_row(day, "openai", result.get("project_id"), _usd(where, amount.get("value")), path, item))
        rows[-1]["description"] = result.get("line_item")
    return _frame(rows)


def read_anthropic_cost_report(path: Path) -> pl.DataFrame:
    rows = []
    for item, (bucket, result) in enumerate(_bucket_results(path), 1):
        where = f"{path}: result {item}"
        _check_usd(where, result.get("currency", "USD"))
        day = _day(where, "starting_at", bucket.get("starting_at"))
        usd = _usd(where, result.get("amount")) / 100  # cents
        rows.append(_row(day, "anthropic", result.get("workspace_id"), usd, path, item))
        rows[-1]["description"] = result.get("description")
    return _frame(rows)


def read_litellm_spend(path: Path) -> pl.DataFrame:
    rows = []
    for line, row in _litellm_rows(path):
        where = f"{path}:{line}"
        provider, _ = provider_and_model(row)
        if provider is None:
            raise SheetError(f"{where}: no provider (custom_llm_provider, or a model such as 'openai/gpt-4.1')")
        day = _day(where, "startTime", row.get("startTime"))
        rows.append(_row(day, provider, litellm_account(row), _usd(where, row.get("spend", 0) or 0), path, line))
        rows[-1]["description"] = row.get("model")
    return _frame(rows)


READERS: dict[str, Callable[[Path], pl.DataFrame]] = {
    "openai_costs": read_openai_costs,
    "anthropic_cost_report": read_anthropic_cost_report,
    "litellm_spend_logs": read_litellm_spend,
    "billing_sheet": read_billing_sheet,
}


def bill_reader(kind: str) -> Callable[[Path], pl.DataFrame]:
    return READERS[kind]


def _bucket_results(path: Path) -> Iterator[tuple[dict, dict]]:
    """(bucket, result) of every result of a page, or of a list of pages: {"data": [{..., "results": [...]}]}."""
    doc = _json(path)
    for page in doc if isinstance(doc, list) else [doc]:
        if not isinstance(page, dict) or not isinstance(page.get("data"), list):
            raise SheetError(f'{path}: expected a page {{"data": [buckets]}} (or a list of pages)')
        for bucket in page["data"]:
            if not isinstance(bucket, dict) or not isinstance(bucket.get("results"), list):
                raise SheetError(f'{path}: expected buckets {{"results": [...]}} in "data"')
            for result in bucket["results"]:
                if not isinstance(result, dict):
                    raise SheetError(f"{path}: a result is not an object: {result!r}")
                yield bucket, result


def _litellm_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line or item, row) of a spend-log export: CSV, JSON lines, a JSON array or a /spend/logs page."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv"):
        try:
            frame = pl.read_csv(path, infer_schema=False)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SheetError(f"{path}: cannot read CSV: {exc}") from None
        yield from enumerate(frame.iter_rows(named=True), 2)
        return
    if name.endswith((".jsonl", ".ndjson")):
        for number, text in enumerate(_text(path).splitlines(), 1):
            if text.strip():
                try:
                    yield number, json.loads(text)
                except json.JSONDecodeError as exc:
                    raise SheetError(f"{path}:{number}: not valid JSON: {exc}") from None
        return
    doc = _json(path)
    rows = doc["data"] if isinstance(doc, dict) and isinstance(doc.get("data"), list) else doc
    if not isinstance(rows, list):
        raise SheetError(f"{path}: expected a list of spend-log rows (or a page with 'data')")
    for item, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise SheetError(f"{path}: row {item} is not an object")
        yield item, row


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetError(f"{path}: cannot be read as UTF-8 text: {exc}") from None


def _json(path: Path) -> object:
    try:
        return load_json(_text(path).encode())
    except PayloadError as exc:
        raise SheetError(f"{path}: {exc}") from None


def _day(where: str, key: str, value: object) -> date:
    """The UTC day of a unix time (seconds) or an ISO 8601 time (no zone: UTC)."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).date()
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    except (TypeError, ValueError, OverflowError, OSError):
        raise SheetError(f"{where}: '{key}' is {value!r}, expected a time (unix seconds or ISO 8601)") from None


def _usd(where: str, value: object) -> Decimal:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        return Decimal(str(value))
    except InvalidOperation:
        raise SheetError(f"{where}: amount {value!r} is not a number") from None


def _check_usd(where: str, currency: object) -> None:
    if str(currency).lower() != "usd":
        raise SheetError(f"{where}: currency {currency!r}, expected USD (other currencies are not converted)")


def _row(day: date, provider: str, account: object, usd: Decimal, path: Path, line: int) -> dict:
    return {
        "usage_date": day,
        "provider": provider,
        "account_id": None if account in (None, "") else str(account),
        "billed_usd": float(usd),
        "description": None,
        "source_file": str(path),
        "source_line": line,
    }


def _frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=BILLED_SCHEMA)
