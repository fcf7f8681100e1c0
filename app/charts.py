"""Small server-rendered SVG charts: readable without JavaScript, in print, and by screen readers.

Each chart is an <svg role="img"> with a <title> and <desc> giving its text
alternative; pages put a data table beside it. No inline styles or scripts,
so the pages keep a strict Content-Security-Policy; colours come from
classes in style.css (`chart-series-0` … `chart-series-5`).

Values are Decimals; geometry is computed with Decimal and written with two
decimal places, so the same data always gives byte-identical SVG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 48
SERIES_CLASSES = 6

_Formatter = Callable[[Decimal], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal | None]  # one per category; None = no data


def _n(value: Decimal | int) -> str:
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (axis maximum)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - the loop always returns


def _frame(title: str, description: str, body: list[str]) -> Markup:
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
        *body,
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped


def _axes(maximum: Decimal, format_value: _Formatter) -> list[str]:
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    lines = []
    for i in range(5):
        fraction = Decimal(i) / 4
        y = MARGIN_TOP + plot_height * (1 - fraction)
        label = format_value(maximum * fraction)
        lines.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{_n(y)}" y2="{_n(y)}"/>'
            f'<text class="chart-axis" x="{MARGIN_LEFT - 6}" y="{_n(y + 4)}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    return lines


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    description: str,
    format_value: _Formatter | None = None,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series."""
    fmt = format_value or _plain
    values = [v for s in series for v in s.values if v is not None]
    maximum = nice_ceiling(max(values, default=Decimal(0)))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(maximum, fmt)
    group_width = Decimal(plot_width) / max(len(categories), 1)
    bar_width = group_width * Decimal("0.8") / max(len(series), 1)
    for ci, category in enumerate(categories):
        group_x = MARGIN_LEFT + group_width * ci + group_width * Decimal("0.1")
        for si, s in enumerate(series):
            value = s.values[ci]
            if value is None:
                continue
            height = plot_height * value / maximum
            x = group_x + bar_width * si
            y = MARGIN_TOP + plot_height - height
            body.append(
                f'<rect class="chart-series-{si % SERIES_CLASSES}" x="{_n(x)}" y="{_n(y)}" '
                f'width="{_n(bar_width)}" height="{_n(height)}">'
                f"<title>{escape(s.name)}, {escape(category)}: {escape(fmt(value))}</title></rect>"
            )
        label_x = MARGIN_LEFT + group_width * ci + group_width / 2
        body.append(
            f'<text class="chart-axis" x="{_n(label_x)}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    body.extend(_legend(series))
    return _frame(title, description, body)


def line_chart(
    title: str,
    points: Sequence[tuple[str, Decimal]],
    *,
    description: str,
    format_value: _Formatter | None = None,
) -> Markup:
    """One series of labelled points joined by a line (e.g. an indicator over time)."""
    fmt = format_value or _plain
    maximum = nice_ceiling(max((v for _, v in points), default=Decimal(0)))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(maximum, fmt)
    step = Decimal(plot_width) / max(len(points), 1)
    coordinates = []
    for i, (label, value) in enumerate(points):
        x = MARGIN_LEFT + step * i + step / 2
        y = MARGIN_TOP + plot_height - plot_height * value / maximum
        coordinates.append((x, y))
        body.append(
            f'<circle class="chart-series-0" cx="{_n(x)}" cy="{_n(y)}" r="5">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
            f'<text class="chart-axis" x="{_n(x)}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if len(coordinates) > 1:
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in coordinates)
        body.insert(len(body) - len(points), f'<polyline class="chart-line" points="{path}"/>')
    return _frame(title, description, body)


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    items = []
    for si, s in enumerate(series):
        x = MARGIN_LEFT + si * 150
        y = HEIGHT - 14
        items.append(
            f'<rect class="chart-series-{si % SERIES_CLASSES}" x="{x}" y="{y - 10}" '
            f'width="12" height="12"/>'
            f'<text class="chart-axis" x="{x + 18}" y="{y}">{escape(s.name)}</text>'
        )
    return items
