"""Jinja2 templates of the pages and emails (reports/templates). HTML templates autoescape every value, so a
tenant, feature or model name from the data is always shown as text; the .txt templates are plain text."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reports import formatting as fmt


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        usd=fmt.usd,
        usd_unit=fmt.usd_unit,
        usd_signed=fmt.usd_signed,
        pct=fmt.pct,
        pct_signed=fmt.pct_signed,
        points_signed=fmt.points_signed,
        ratio_x=fmt.ratio_x,
        count=fmt.count,
        count_of=fmt.count_of,
        one_line=fmt.one_line,
        day=fmt.day,
    )
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def svg(markup: str) -> Markup:
    """An SVG chart from reports.charts (its labels are escaped there) to embed in an HTML template."""
    return Markup(markup)
