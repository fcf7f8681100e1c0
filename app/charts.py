"""Small server-rendered SVG charts: readable without JavaScript, in print, and by screen readers.

Each chart is an <svg role="img"> with a <title> and <desc> giving its text
alternative; pages put a data table beside it. No inline styles or scripts,
so the pages keep a strict Content-Security-Policy; colours come from
classes in style.css (`chart-series-0` … `chart-series-5`).

Values are Decimals; geometry is computed with Decimal and written with two
decimal places, so the same data always gives byte-identical SVG.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

from markupsafe import Markup, escape

WIDTH = 640
NARROW_WIDTH = 320  # horizontal bars: fits a dashboard card at about full size
HEIGHT = 260
# Text size in the SVG's own units. Pages never scale a chart below 85% of its width
# (style.css sizes them by their viewBox width), so 13 units are at least 11 CSS pixels.
FONT_SIZE = 13
MAX_INTERVALS = 5
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
    # Words before each value in its text alternative ("up to "), so a bar's
    # title says what its table cell says; empty: none.
    prefixes: Sequence[str] = ()


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


def nice_scale(value: Decimal, *, integers: bool = False) -> tuple[Decimal, Decimal]:
    """(axis maximum, tick step) for values up to `value`.

    The step is the smallest 1, 2, 2.5 or 5 × 10^k giving at most five intervals,
    so ticks read 0, 2, 4, 6, 8 or 0, 10m, 20m, 30m, 40m, never 0, 2, 5, 8, 10.
    With `integers` (counts) the step is a whole number.
    """
    if value <= 0:
        value = Decimal(1)
    exponent = (value / MAX_INTERVALS).adjusted()
    for power in (exponent - 1, exponent, exponent + 1, exponent + 2):
        for mantissa in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            step = mantissa.scaleb(power)
            if integers and step != step.to_integral_value():
                continue
            intervals = (value / step).to_integral_value(rounding=ROUND_CEILING)
            if intervals <= MAX_INTERVALS:
                return step * intervals, step
    raise AssertionError("unreachable: a step of 10^(k+2) always fits")  # pragma: no cover


def _frame(
    title: str, description: str, body: list[str], width: int = WIDTH, height: int = HEIGHT
) -> Markup:
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(description)}</desc>",
        *body,
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped


def _axes(maximum: Decimal, step: Decimal, format_value: _Formatter) -> list[str]:
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    lines = []
    intervals = int(maximum / step)
    for i in range(intervals + 1):
        fraction = Decimal(i) / intervals
        y = MARGIN_TOP + plot_height * (1 - fraction)
        label = format_value(step * i)
        lines.append(
            f'<line class="chart-grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y1="{_n(y)}" y2="{_n(y)}"/>'
            f'<text class="chart-axis" x="{MARGIN_LEFT - 6}" y="{_n(y + 4)}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    return lines


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _text_width(text: str) -> Decimal:
    """A generous estimate of a label's width in SVG units (no font metrics on the server)."""
    return Decimal(len(text)) * FONT_SIZE * Decimal("0.62")


def _all_integers(values: Sequence[Decimal]) -> bool:
    return all(v == v.to_integral_value() for v in values)


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    description: str,
    format_value: _Formatter | None = None,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series.

    A single series of up to twelve categories (a status breakdown) is drawn as
    horizontal bars instead, names beside them and values at their ends: it fits
    a narrow card at full size. When a sequence of categories (years) is too
    crowded to label each, every n-th is labelled; each bar keeps its own text
    alternative.
    """
    fmt = format_value or _plain
    values = [v for s in series for v in s.values if v is not None]
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    group_width = Decimal(plot_width) / max(len(categories), 1)
    widest = max((_text_width(c) for c in categories), default=Decimal(0))
    if len(series) == 1 and 0 < len(categories) <= 12:
        return _horizontal_bars(title, categories, series[0], description=description, fmt=fmt)
    maximum, step = nice_scale(max(values, default=Decimal(0)), integers=_all_integers(values))
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(maximum, step, fmt)
    label_every = max(1, int(((widest + 8) / group_width).to_integral_value(ROUND_CEILING)))
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
                f"<title>{escape(s.name)}, {escape(category)}: "
                f"{escape(s.prefixes[ci] if s.prefixes else '')}{escape(fmt(value))}</title></rect>"
            )
        if ci % label_every:
            continue
        label_x = MARGIN_LEFT + group_width * ci + group_width / 2
        body.append(
            f'<text class="chart-axis" x="{_n(label_x)}" y="{HEIGHT - MARGIN_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    body.extend(_legend(series))
    return _frame(title, description, body)


def _horizontal_bars(
    title: str, categories: Sequence[str], series: Series, *, description: str, fmt: _Formatter
) -> Markup:
    """One bar per category, its name on the left and its value at the end; NARROW_WIDTH wide."""
    width, row, top = NARROW_WIDTH, 26, 8
    label_width = min(Decimal(150), max(_text_width(c) for c in categories) + 8)
    values = [v for v in series.values if v is not None]
    maximum = max(values, default=Decimal(0)) or Decimal(1)
    value_room = max((_text_width(fmt(v)) for v in values), default=Decimal(0)) + 8
    bar_room = width - MARGIN_RIGHT - label_width - value_room
    body = []
    for ci, category in enumerate(categories):
        y = top + row * ci
        body.append(
            f'<text class="chart-axis" x="{_n(label_width - 6)}" y="{_n(y + 17)}" '
            f'text-anchor="end">{escape(category)}</text>'
        )
        value = series.values[ci]
        if value is None:
            continue
        length = bar_room * value / maximum
        body.append(
            f'<rect class="chart-series-0" x="{_n(label_width)}" y="{_n(y + 4)}" '
            f'width="{_n(length)}" height="{row - 8}">'
            f"<title>{escape(series.name)}, {escape(category)}: "
            f"{escape(series.prefixes[ci] if series.prefixes else '')}{escape(fmt(value))}"
            "</title></rect>"
            f'<text class="chart-axis" x="{_n(label_width + length + 6)}" y="{_n(y + 17)}">'
            f"{escape(fmt(value))}</text>"
        )
    height = top * 2 + row * len(categories)
    return _frame(title, description, body, width, height)


def line_chart(
    title: str,
    points: Sequence[tuple[str, Decimal]],
    *,
    description: str,
    format_value: _Formatter | None = None,
) -> Markup:
    """One series of labelled points joined by a line (e.g. an indicator over time)."""
    fmt = format_value or _plain
    values = [v for _, v in points]
    maximum, tick = nice_scale(max(values, default=Decimal(0)), integers=_all_integers(values))
    plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    body = _axes(maximum, tick, fmt)
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


# ------------------------------------------------------------- step chart


@dataclass(frozen=True)
class Step:
    """From `on` the series is at `level` (an index into the levels) until the next step."""

    on: dt.date
    level: int
    label: str  # the point's text alternative, e.g. "28 November 2020: In progress"


@dataclass(frozen=True)
class Marker:
    """A dated vertical line, e.g. a deadline or "today"."""

    on: dt.date
    label: str
    kind: str = "marker"  # CSS class suffix: chart-marker-<kind>


STEP_MARGIN_LEFT = 128  # room for the level names ("Partly delivered")


def step_chart(
    title: str,
    levels: Sequence[str],
    steps: Sequence[Step],
    *,
    start: dt.date,
    end: dt.date,
    description: str,
    markers: Sequence[Marker] = (),
    format_date: Callable[[dt.date], str] = dt.date.isoformat,
) -> Markup:
    """A categorical value over time: one horizontal lane per level, a step line between them.

    Used for a commitment's status timeline: each review moves the line to the
    status it found. Time runs left to right in proportion to days, from
    `start` to `end`; steps and markers outside that span are clamped to it.
    """
    if end <= start:
        end = start + dt.timedelta(days=1)
    span = Decimal((end - start).days)
    left, right = STEP_MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP + 14, HEIGHT - MARGIN_BOTTOM
    lane = Decimal(bottom - top) / max(len(levels), 1)

    def x_of(on: dt.date) -> Decimal:
        days = min(max((on - start).days, 0), int(span))
        return left + (right - left) * Decimal(days) / span

    def y_of(level: int) -> Decimal:
        # Level 0 at the bottom; the line runs through the middle of its lane.
        return bottom - lane * level - lane / 2

    body: list[str] = []
    for i, name in enumerate(levels):
        y = y_of(i)
        body.append(
            f'<line class="chart-grid" x1="{left}" x2="{right}" y1="{_n(y)}" y2="{_n(y)}"/>'
            f'<text class="chart-axis" x="{left - 6}" y="{_n(y + 4)}" '
            f'text-anchor="end">{escape(name)}</text>'
        )
    for on, anchor in ((start, "start"), (end, "end")):
        body.append(
            f'<text class="chart-axis" x="{_n(x_of(on))}" y="{bottom + 16}" '
            f'text-anchor="{anchor}">{escape(format_date(on))}</text>'
        )
    for marker in markers:
        mx = _n(x_of(marker.on))
        body.append(
            f'<line class="chart-marker chart-marker-{escape(marker.kind)}" x1="{mx}" x2="{mx}" '
            f'y1="{MARGIN_TOP}" y2="{bottom}"><title>{escape(marker.label)}</title></line>'
        )
    ordered = sorted(steps, key=lambda s: s.on)
    if ordered:
        points: list[tuple[Decimal, Decimal]] = []
        for i, step in enumerate(ordered):
            x, y = x_of(step.on), y_of(step.level)
            if points:
                points.append((x, points[-1][1]))
            points.append((x, y))
            if i == len(ordered) - 1:
                points.append((Decimal(right), y))
        path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        body.append(f'<polyline class="chart-line" points="{path}"/>')
        for step in ordered:
            body.append(
                f'<circle class="chart-series-0" cx="{_n(x_of(step.on))}" '
                f'cy="{_n(y_of(step.level))}" r="5"><title>{escape(step.label)}</title></circle>'
            )
    legend_x, legend_y = 16, HEIGHT - 14
    for marker in markers:
        body.append(
            f'<line class="chart-marker chart-marker-{escape(marker.kind)}" x1="{legend_x}" '
            f'x2="{legend_x + 16}" y1="{legend_y - 4}" y2="{legend_y - 4}"/>'
            f'<text class="chart-axis" x="{legend_x + 22}" y="{legend_y}">'
            f"{escape(marker.label)}</text>"
        )
        legend_x += 205
    return _frame(title, description, body)
