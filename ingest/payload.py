"""Fetched or read payloads (catalogs, listings, pages) that do not have the shape a reader expects."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation


class PayloadError(Exception):
    """A payload a reader cannot use (the format changed, the page moved); the message says what was expected."""


def load_json(data: bytes) -> object:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc


def per_million(usd_per_token: object) -> float | None:
    """USD per token (a JSON number or a numeric string) as USD per million tokens, exactly: 3e-06 -> 3.0.
    None when missing; PayloadError when not a number."""
    if usd_per_token is None or isinstance(usd_per_token, bool):
        return None
    try:
        value = Decimal(str(usd_per_token))
    except InvalidOperation:
        raise PayloadError(f"price {usd_per_token!r} is not a number") from None
    return float(value * 1_000_000)
