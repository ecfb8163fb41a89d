"""Small static charts as inline SVG (no JavaScript, no network: a page renders the same offline).

Each function returns one <svg> element as a string; every label from the data is XML-escaped here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape

from reports.formatting import usd

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
OTHER_COLOR = "#d4d4d4"
PRIOR_COLOR = "#c9c9c9"
TEXT = "#222"
MUTED = "#666"
FONT = "font-family=\"'Liberation Sans', 'DejaVu Sans', Arial, Helvetica, sans-serif\""
WIDTH = 760

Number = float | int | Decimal | None


def _f(value: Number) -> float:
    return 0.0 if value is None else float(value)


def _short(label: str, limit: int = 26) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _text(
    x: float, y: float, content: str, anchor: str = "start", size: int = 12, color: str = TEXT, weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
        f'font-weight="{weight}">{escape(content)}</text>'
    )


def _svg(height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" {FONT}><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def nice_step(top: float, ticks: int = 4) -> float:
    """A round axis step (1, 2, 2.5 or 5 x 10^n) so that about `ticks` steps cover `top`."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _legend(items: list[tuple[str, str]], y: float, x0: float = 60) -> tuple[list[str], float]:
    """Colour swatches and names in rows; returns the elements and the y below them."""
    out, x = [], x0
    for name, color in items:
        width = 22 + 7 * len(_short(name, 22))
        if x + width > WIDTH - 10:
            x, y = x0, y + 20
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{color}"/>')
        out.append(_text(x + 17, y, _short(name, 22), size=12))
        x += width + 14
    return out, y + 14


def stacked_columns(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    value_label: Callable[[float], str] = lambda v: usd(v, 0),
) -> str:
    """Columns (e.g. one per day) stacked by series (e.g. features); the total on top of each column.
    Series after the ninth are drawn together as 'other'."""
    series = list(series)
    if len(series) > len(PALETTE):
        keep = len(PALETTE) - 1
        other = [sum(_f(s[1][i]) for s in series[keep:]) for i in range(len(x_labels))]
        series = series[:keep] + [("other", other)]
    colors = [PALETTE[i] if name != "other" else OTHER_COLOR for i, (name, _) in enumerate(series)]
    totals = [sum(_f(values[i]) for _, values in series) for i in range(len(x_labels))]
    step = nice_step(max(totals, default=0))
    top = step * math.ceil(max(max(totals, default=0), step) / step)
    left, right, plot_top, plot_h = 60, WIDTH - 20, 24, 220
    slot = (right - left) / max(len(x_labels), 1)
    bar_w = min(slot * 0.62, 70)
    body = [_text(left, 14, title, size=13, weight="bold")]
    for k in range(int(round(top / step)) + 1):
        value = k * step
        y = plot_top + plot_h - value / top * plot_h
        body.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        body.append(_text(left - 6, y + 4, value_label(value), anchor="end", size=11, color=MUTED))
    for i, label in enumerate(x_labels):
        x = left + slot * i + (slot - bar_w) / 2
        y = plot_top + plot_h
        for (name, values), color in zip(series, colors, strict=True):
            h = _f(values[i]) / top * plot_h
            if h > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                    f"<title>{escape(name)}: {escape(usd(values[i]))}</title></rect>"
                )
                y -= h
        body.append(_text(x + bar_w / 2, y - 5, usd(totals[i]), anchor="middle", size=11))
        body.append(_text(x + bar_w / 2, plot_top + plot_h + 16, label, anchor="middle", size=11))
    legend, bottom = _legend(list(zip((n for n, _ in series), colors, strict=True)), plot_top + plot_h + 40)
    return _svg(bottom + 6, title, body + legend)


def paired_bars(
    title: str,
    labels: Sequence[str],
    current: Sequence[Number],
    prior: Sequence[Number],
    current_name: str = "this week",
    prior_name: str = "prior week",
    notes: Sequence[str] | None = None,
    label_w: int = 170,
) -> str:
    """One row per label: the prior value (grey) above the current one (coloured), each with its amount;
    `notes` (e.g. the change) are written after the current amount."""
    row_h, value_w = 38, 170
    left, right = label_w, WIDTH - value_w
    biggest = max([_f(v) for v in [*current, *prior]] + [0.0])
    scale = (right - left) / biggest if biggest > 0 else 0
    body = [_text(0, 14, title, size=13, weight="bold")]
    legend, y = _legend([(prior_name, PRIOR_COLOR), (current_name, PALETTE[0])], 36, x0=label_w)
    for i, label in enumerate(labels):
        top = y + 6 + i * row_h
        body.append(_text(label_w - 8, top + 19, _short(label, label_w // 7), anchor="end"))
        prior_w, current_w = _f(prior[i]) * scale, _f(current[i]) * scale
        body.append(f'<rect x="{left}" y="{top + 2:.1f}" width="{prior_w:.1f}" height="13" fill="{PRIOR_COLOR}"/>')
        body.append(_text(left + prior_w + 6, top + 13, usd(prior[i], missing="unpriced"), size=11, color=MUTED))
        body.append(f'<rect x="{left}" y="{top + 17:.1f}" width="{current_w:.1f}" height="15" fill="{PALETTE[0]}"/>')
        note = f"  {notes[i]}" if notes else ""
        body.append(_text(left + current_w + 6, top + 29, usd(current[i], missing="unpriced") + note, size=12))
    return _svg(y + 12 + len(labels) * row_h, title, body + legend)


def share_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[Number],
    shares: Sequence[float | None],
    highlight: Sequence[bool] | None = None,
    highlight_name: str = "",
) -> str:
    """One horizontal bar per label with its amount and share; highlighted bars (e.g. premium models) in a
    second colour, named in a legend."""
    row_h, label_w = 24, 220
    left, right = label_w, WIDTH - 150
    biggest = max([_f(v) for v in values] + [0.0])
    scale = (right - left) / biggest if biggest > 0 else 0
    body = [_text(0, 14, title, size=13, weight="bold")]
    y = 30
    if highlight_name and highlight and any(highlight):
        legend, y = _legend([("other models", PALETTE[0]), (highlight_name, PALETTE[1])], 36, x0=label_w)
        body += legend
    for i, label in enumerate(labels):
        top = y + i * row_h
        color = PALETTE[1] if highlight and highlight[i] else PALETTE[0]
        width = _f(values[i]) * scale
        body.append(_text(label_w - 8, top + 15, _short(label, 30), anchor="end"))
        body.append(f'<rect x="{left}" y="{top + 4:.1f}" width="{width:.1f}" height="15" fill="{color}"/>')
        share = "" if shares[i] is None else f" \u00b7 {float(shares[i]) * 100:.1f}%"
        body.append(_text(left + width + 6, top + 16, usd(values[i], missing="unpriced") + share, size=12))
    return _svg(y + 8 + len(labels) * row_h, title, body)


def tokens(value: float) -> str:
    """A token count for an axis or a label: '750M', '1.6B', '120K'."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


def cost_against_volume(
    title: str,
    api_usd_per_token: Number,
    node_usd: float,
    ops_usd: float,
    tokens_per_node: float,
    volume: float,
    break_even: Number,
) -> str:
    """Monthly cost (y) against monthly output tokens (x): the API's straight line (api_usd_per_token x volume;
    none when unknown), self-hosting's node steps (n nodes x node_usd + ops_usd, one more node every
    tokens_per_node), the current volume marked (a dashed line) and the break-even point (where the API line meets
    the first step)."""
    left, right, plot_top, plot_h = 80, WIDTH - 20, 44, 230
    # twice the larger of the current volume and the break-even: both stand clear of the edges
    x_top = 2 * max(volume, _f(break_even)) or tokens_per_node
    x_step = nice_step(x_top)
    x_top = x_step * math.ceil(x_top / x_step)
    steps = max(1, math.ceil(x_top / tokens_per_node))
    rate = None if api_usd_per_token is None else _f(api_usd_per_token)
    y_max = max(steps * node_usd + ops_usd, (rate or 0) * x_top)
    y_step = nice_step(y_max)
    y_top = y_step * math.ceil(y_max / y_step)

    def px(tokens_: float) -> float:
        return left + tokens_ / x_top * (right - left)

    def py(usd_: float) -> float:
        return plot_top + plot_h - usd_ / y_top * plot_h

    body = [_text(0, 14, title, size=13, weight="bold")]
    legend, _ = _legend([("API (per token)", PALETTE[0]), ("self-hosting (nodes)", PALETTE[1])], 34, x0=left)
    body += legend
    for k in range(int(round(y_top / y_step)) + 1):
        y = py(k * y_step)
        body.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        body.append(_text(left - 6, y + 4, usd(k * y_step, 0), anchor="end", size=11, color=MUTED))
    for k in range(int(round(x_top / x_step)) + 1):
        body.append(_text(px(k * x_step), plot_top + plot_h + 16, tokens(k * x_step), anchor="middle", size=11))
    body.append(
        _text((left + right) / 2, plot_top + plot_h + 34, "output tokens per month", anchor="middle", color=MUTED)
    )
    points = []
    for n in range(1, steps + 1):
        cost = n * node_usd + ops_usd
        points += [(px((n - 1) * tokens_per_node), py(cost)), (px(min(n * tokens_per_node, x_top)), py(cost))]
    body.append(
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}" fill="none" '
        f'stroke="{PALETTE[1]}" stroke-width="2.5"/>'
    )
    if rate is not None:
        body.append(
            f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(x_top):.1f}" y2="{py(rate * x_top):.1f}" '
            f'stroke="{PALETTE[0]}" stroke-width="2.5"/>'
        )
    x_now = px(volume)
    body.append(
        f'<line x1="{x_now:.1f}" x2="{x_now:.1f}" y1="{plot_top:.1f}" y2="{plot_top + plot_h:.1f}" '
        f'stroke="{TEXT}" stroke-dasharray="4 3"/>'
    )
    body.append(_text(x_now + 4, plot_top + 12, f"your volume: {tokens(volume)}", size=11))
    if break_even is not None:
        x_be, y_be = px(_f(break_even)), py(node_usd + ops_usd)
        body.append(f'<circle cx="{x_be:.1f}" cy="{y_be:.1f}" r="5" fill="{PALETTE[3]}"/>')
        body.append(_text(x_be + 8, y_be - 8, f"break-even: {tokens(_f(break_even))}", size=11, color=PALETTE[3]))
    return _svg(plot_top + plot_h + 44, title, body)
