"""SVG charts: accessible, escaped, deterministic, proportional."""

from __future__ import annotations

import re
from decimal import Decimal
from xml.etree import ElementTree

from app.charts import Series, bar_chart, line_chart, nice_ceiling

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
