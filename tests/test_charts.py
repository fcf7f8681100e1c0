"""SVG charts: accessible, escaped, deterministic, proportional."""

from __future__ import annotations

import re
from decimal import Decimal
from xml.etree import ElementTree

from app.charts import Series, bar_chart, line_chart, nice_ceiling, nice_scale

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ceiling() -> None:
    assert nice_ceiling(Decimal("31400000")) == Decimal("50000000")
    assert nice_ceiling(Decimal("60")) == Decimal("100")
    assert nice_ceiling(Decimal("41")) == Decimal("50")
    assert nice_ceiling(Decimal("2")) == Decimal("2")
    assert nice_ceiling(Decimal("0")) == Decimal("1")


def test_bar_chart_is_valid_accessible_svg() -> None:
    svg = bar_chart(
        "Pledged and paid <by year>",
        ["2020", "2021"],
        [Series("Pledged", [Decimal(100), Decimal(50)]), Series("Paid", [None, Decimal(25)])],
        description="EUR pledged and paid per year",
    )
    root = ElementTree.fromstring(str(svg))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Pledged and paid <by year>"  # escaped, then parsed
    bars = root.findall(f"{SVG}rect[@height]")
    heights = {
        b.find(f"{SVG}title").text: Decimal(b.get("height"))
        for b in bars
        if b.find(f"{SVG}title") is not None
    }
    # Axis maximum is 100: the 100 bar is full height, the 25 bar a quarter of it.
    assert heights["Pledged, 2020: 100"] == 4 * heights["Paid, 2021: 25"]
    assert "Paid, 2020" not in str(svg)  # no bar for missing data
    assert "style=" not in str(svg)
    assert "<script" not in str(svg)


def test_line_chart_is_deterministic() -> None:
    points = [("2019", Decimal(41)), ("Nov 2020", Decimal(60))]
    first = line_chart("Intervention success rate", points, description="41% then 60%")
    assert first == line_chart("Intervention success rate", points, description="41% then 60%")
    assert len(re.findall("<circle", str(first))) == 2
    ElementTree.fromstring(str(first))


NICE_MANTISSAS = {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}


def _mantissa(step: Decimal) -> Decimal:
    return step.scaleb(-step.adjusted()).normalize()


def test_nice_scale_steps_are_1_2_2_5_or_5_times_a_power_of_ten() -> None:
    for text in ("0.3", "1", "7", "10", "41", "60", "1234", "10500000", "31400000", "999"):
        value = Decimal(text)
        maximum, step = nice_scale(value)
        assert maximum >= value, text
        assert _mantissa(step) in NICE_MANTISSAS, (text, step)
        assert 1 <= maximum / step <= 5, (text, maximum, step)
        assert maximum - step < value, (text, "one interval too many")
    assert nice_scale(Decimal("31400000")) == (Decimal("40000000"), Decimal("10000000"))
    assert nice_scale(Decimal("10500000")) == (Decimal("12500000"), Decimal("2500000"))
    assert nice_scale(Decimal(0)) == (Decimal(1), Decimal("0.2"))


def test_nice_scale_for_counts_has_whole_steps() -> None:
    assert nice_scale(Decimal(10), integers=True) == (Decimal(10), Decimal(2))
    assert nice_scale(Decimal(7), integers=True) == (Decimal(8), Decimal(2))
    assert nice_scale(Decimal(1), integers=True) == (Decimal(1), Decimal(1))


def _axis_labels(svg: str) -> list[str]:
    return re.findall(r'<text class="chart-axis"[^>]*text-anchor="end">([^<]*)</text>', svg)


def test_axis_ticks_read_0_2_4_6_8_10_not_0_2_5_8_10() -> None:
    svg = str(
        bar_chart(
            "Counts",
            [str(year) for year in range(2015, 2021)],
            [Series("A", [Decimal(n) for n in (10, 3, 4, 1, 7, 2)]), Series("B", [None] * 6)],
            description="counts",
            format_value=lambda v: f"{v:,.0f}",
        )
    )
    assert _axis_labels(svg) == ["0", "2", "4", "6", "8", "10"]


def test_money_ticks_keep_their_halves() -> None:
    svg = str(
        line_chart("Money", [("a", Decimal("10500000")), ("b", Decimal(1))], description="money")
    )
    assert _axis_labels(svg) == ["0", "2500000", "5000000", "7500000", "10000000", "12500000"]


def test_a_single_series_is_drawn_as_labelled_horizontal_bars() -> None:
    svg = str(
        bar_chart(
            "By status",
            ["Not yet assessed", "Partly delivered", "In progress"],
            [Series("Commitments", [Decimal(7), Decimal(1), Decimal(4)])],
            description="statuses",
        )
    )
    root = ElementTree.fromstring(svg)
    assert root.get("viewBox", "").startswith("0 0 320 ")  # narrow: style.css sizes it
    bars = {
        b.find(f"{SVG}title").text: Decimal(b.get("width"))
        for b in root.findall(f"{SVG}rect")
        if b.find(f"{SVG}title") is not None
    }
    ratio = bars["Commitments, Not yet assessed: 7"] / bars["Commitments, Partly delivered: 1"]
    assert abs(ratio - 7) < Decimal("0.01")  # proportional (coordinates have two decimals)
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert texts == ["Not yet assessed", "7", "Partly delivered", "1", "In progress", "4"]


def test_crowded_year_labels_are_thinned_but_every_bar_keeps_its_title() -> None:
    years = [f"{y}–{y + 1}" for y in range(2000, 2024)]
    svg = str(
        bar_chart(
            "Many years",
            years,
            [Series("Pledged", [Decimal(1)] * 24), Series("Paid", [Decimal(1)] * 24)],
            description="many",
        )
    )
    labels = re.findall(r'text-anchor="middle">([^<]*)</text>', svg)
    assert labels[0] == "2000–2001"
    assert 2 <= len(labels) < len(years)
    assert svg.count("<title>Pledged, ") == 24


def test_bar_titles_carry_each_values_prefix() -> None:
    # A ceiling's bar says "up to" in its text alternative, as its table cell does.
    for categories in (["2020", "2021"], ["a"] * 13):  # horizontal, then vertical bars
        values = [Decimal(10)] * len(categories)
        prefixes = ["up to "] + [""] * (len(categories) - 1)
        svg = str(
            bar_chart(
                "Pledged",
                categories,
                [Series("Pledged", values, prefixes)],
                description="Pledged per year",
            )
        )
        assert f"<title>Pledged, {categories[0]}: up to 10</title>" in svg
        assert f"<title>Pledged, {categories[1]}: 10</title>" in svg
