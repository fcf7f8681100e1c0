"""The status timeline: dates in their words and precision, verdicts with evidence, a step chart."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import periods
from app.charts import Marker, Step, step_chart
from app.clock import FixedClock
from app.models import Commitment, Review
from app.web.timeline import short_period

SVG = "{http://www.w3.org/2000/svg}"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ------------------------------------------------------------------ chart


def test_step_chart_is_accessible_proportional_and_deterministic() -> None:
    arguments = {
        "levels": ["Not assessed", "In progress", "Delivered <fully>"],
        "steps": [
            Step(dt.date(2020, 1, 1), 0, "1 Jan: announced"),
            Step(dt.date(2020, 1, 11), 1, "11 Jan: in progress"),
            Step(dt.date(2020, 1, 21), 2, "21 Jan: delivered"),
        ],
        "start": dt.date(2020, 1, 1),
        "end": dt.date(2020, 1, 21),
        "markers": [Marker(dt.date(2020, 1, 11), "Deadline <11 Jan>")],
        "description": "Announced, in progress, delivered",
    }
    svg = step_chart("Status & history", **arguments)  # type: ignore[arg-type]
    assert svg == step_chart("Status & history", **arguments)  # type: ignore[arg-type]
    root = ElementTree.fromstring(str(svg))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Status & history"
    assert root.find(f"{SVG}desc").text == "Announced, in progress, delivered"
    circles = root.findall(f"{SVG}circle")
    xs = [Decimal(c.get("cx")) for c in circles]
    ys = [Decimal(c.get("cy")) for c in circles]
    # Day 10 of 20 is exactly halfway across; each level one lane higher (smaller y).
    assert xs[1] - xs[0] == xs[2] - xs[1]
    assert ys[0] - ys[1] == ys[1] - ys[2] > 0
    assert [c.find(f"{SVG}title").text for c in circles][2] == "21 Jan: delivered"
    # The step line runs horizontally, then vertically: each step adds two points.
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None
    assert len(polyline.get("points").split()) == 3 * 2
    marker = root.find(f"{SVG}line[@class='chart-marker chart-marker-marker']")
    assert marker is not None
    assert marker.get("x1") == str(xs[1])
    assert "Delivered &lt;fully&gt;" in str(svg)
    assert "style=" not in str(svg)
    assert "<script" not in str(svg)


def test_step_chart_clamps_dates_and_survives_a_zero_span() -> None:
    day = dt.date(2021, 6, 1)
    svg = step_chart(
        "One day",
        ["A", "B"],
        [Step(day, 1, "only"), Step(day + dt.timedelta(days=400), 0, "later")],
        start=day,
        end=day,
        description="d",
    )
    root = ElementTree.fromstring(str(svg))
    xs = [Decimal(c.get("cx")) for c in root.findall(f"{SVG}circle")]
    assert all(Decimal(64) <= x <= Decimal(640) for x in xs)


# ------------------------------------------------------------ precision


@pytest.mark.parametrize(
    ("period", "text"),
    [
        (
            periods.Period.fuzzy(dt.date(2020, 11, 28), dt.date(2020, 12, 12)),
            "about 28 Nov – 12 Dec 2020",
        ),
        (periods.Period.day(dt.date(2021, 5, 28)), "28 May 2021"),
        (periods.Period.month(2021, 5), "May 2021"),
        (periods.Period.year(2025), "2025"),
        (periods.Period.fiscal_year(2022, 4), "FY2022-23"),
        (periods.Period.range(dt.date(2020, 7, 1), None), "from 1 Jul 2020"),
        (periods.Period.fuzzy(None, dt.date(2021, 1, 31)), "until about 31 Jan 2021"),
    ],
)
def test_short_period_keeps_precision(period: periods.Period, text: str) -> None:
    assert short_period(period, "en_GB") == text


# ------------------------------------------------------------------- page


def test_plan_page_shows_dates_with_wording_and_precision(
    client: TestClient, demo: Session
) -> None:
    plan = demo.scalars(
        select(Commitment).where(Commitment.title.like("New UK–France joint operational plan%"))
    ).one()
    page = _text(client.get(f"/commitments/{plan.id}").text)
    # Test clock: 15 January 2021.
    assert (
        "Deadline “This plan will be effective in the coming days” — "
        "about 28 Nov – 12 Dec 2020 fuzzy passed; delivery not assessed" in page
    )
    assert "Next review “Within the next 6 months” — by 28 May 2021 scheduled" in page
    assert "Not reviewed yet." in page


def test_review_due_and_overdue_wording_follows_the_clock(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    clock.set(dt.date(2021, 5, 27))
    assert "by 28 May 2021 due in 1 day" in _text(client.get(f"/commitments/{pledge.id}").text)
    clock.set(dt.date(2021, 5, 28))
    assert "by 28 May 2021 due today" in _text(client.get(f"/commitments/{pledge.id}").text)
    clock.set(dt.date(2021, 6, 1))
    assert "overdue since 28 May 2021 (4 days)" in _text(
        client.get(f"/commitments/{pledge.id}").text
    )


def test_measure_under_way_shows_its_verdict_evidence_and_chart(
    client: TestClient, demo: Session
) -> None:
    review = demo.scalars(select(Review).order_by(Review.id)).first()
    assert review is not None
    html = client.get(f"/commitments/{review.commitment_id}").text
    page = _text(html)
    assert "28 November 2020 — In progress by UK–France joint statement (current)" in page
    assert "The joint statement recognises this as a recent effort already under way." in page
    svg = re.search(r"<svg.*?</svg>", html, re.S)
    assert svg is not None
    root = ElementTree.fromstring(svg.group(0))
    assert root.find(f"{SVG}title").text == "Status over time"
    assert "28 Nov 2020: In progress" in root.find(f"{SVG}desc").text
    assert "style=" not in html
