"""A provider's pricing page (kind html_table of [[prices.sources]]) -> price rows.

The config names the table (a CSS selector, or the heading it follows), the header text of the model column
and of each price column (input, output, cache_read, cache_write, cache_write_1h), and the unit of a bare
number ("1M" or "1K" tokens; a cell that says "/ MTok" or "per 1K tokens" is read in its own unit). With
`models` (page name -> model id) only those rows are read and named by their id; without it the model is the
cell's text. Every row is the standard tier without a long-context threshold."""

from __future__ import annotations

import logging

import polars as pl

from ingest.html_table import find_table, normalise_text, parse_token_price, read_columns
from ingest.payload import PayloadError
from ingest.price_sheet import PRICE_SEEN_SCHEMA

log = logging.getLogger("finops")


def read_price_page(
    html: bytes,
    *,
    provider: str,
    selector: str | None,
    heading: str | None,
    columns: dict[str, str],
    unit: str,
    models: dict[str, str],
) -> pl.DataFrame:
    table = find_table(html, selector=selector, heading=heading)
    wanted = {normalise_text(name).casefold(): model for name, model in models.items()}
    rows, seen_on = [], {}
    for number, cells in read_columns(table, columns):
        name = cells["model"]
        if not name:
            continue
        if wanted:
            if name.casefold() not in wanted:
                continue
            model = wanted[name.casefold()]
        else:
            model = name
        if model in seen_on:
            raise PayloadError(f"model '{model}' is on table rows {seen_on[model]} and {number}; expected once")
        seen_on[model] = number
        for usage_type, text in cells.items():
            if usage_type == "model":
                continue
            try:
                usd = parse_token_price(text, unit)
            except PayloadError as exc:
                raise PayloadError(f"table row {number} ('{name}'), column '{columns[usage_type]}': {exc}") from None
            if usd is not None:
                rows.append((provider, model, usage_type, "standard", 0, float(usd), f"html_table:{name}", number))
    missing = sorted(name for name, model in models.items() if model not in seen_on)
    if missing:
        log.warning("html_table: model name(s) not found in the table: %s", ", ".join(missing))
    if not rows:
        raise PayloadError("the table has no prices in the configured columns")
    return pl.DataFrame(rows, schema=PRICE_SEEN_SCHEMA, orient="row")
