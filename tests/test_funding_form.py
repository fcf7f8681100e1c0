"""The funding report's period filter: year-only open ranges, and a refused filter shown on
the form (with what was typed) instead of an error page."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor
from app.services import funding


@pytest.mark.parametrize(
    ("typed", "start", "end"),
    [
        ("2014/..", dt.date(2014, 1, 1), None),
        ("2014 / ..", dt.date(2014, 1, 1), None),
        ("2014..", dt.date(2014, 1, 1), None),
        ("2014-", dt.date(2014, 1, 1), None),
        ("2014–", dt.date(2014, 1, 1), None),
        ("2014 onwards", dt.date(2014, 1, 1), None),
        ("since 2014", dt.date(2014, 1, 1), None),
        ("From 2014", dt.date(2014, 1, 1), None),
        ("../2020", None, dt.date(2020, 12, 31)),
        ("..2020", None, dt.date(2020, 12, 31)),
        ("until 2020", None, dt.date(2020, 12, 31)),
        ("2014/2020", dt.date(2014, 1, 1), dt.date(2020, 12, 31)),
        ("2014-2020", dt.date(2014, 1, 1), dt.date(2020, 12, 31)),
        ("2014 to 2020", dt.date(2014, 1, 1), dt.date(2020, 12, 31)),
        # What already worked still means what it meant.
        ("2014-01-01/..", dt.date(2014, 1, 1), None),
        ("2020", dt.date(2020, 1, 1), dt.date(2020, 12, 31)),
        ("2011-12", dt.date(2011, 12, 1), dt.date(2011, 12, 31)),
    ],
)
def test_year_ranges_are_read(session: Session, typed: str, start: object, end: object) -> None:
    period = funding.parse_query(session, {"period": typed}).period
    assert period is not None
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("since 20144", "not a period I can read"),
        ("2020/2014", "must not end before it starts"),
        ("since", "not a period I can read"),
        ("0999/..", "years must be between"),
    ],
)
def test_bad_year_ranges_are_refused(session: Session, typed: str, message: str) -> None:
    with pytest.raises(funding.FundingQueryError, match=message):
        funding.parse_query(session, {"period": typed})


def test_open_range_filters_the_report(client: TestClient, demo: Session) -> None:
    since_2020 = client.get("/funding", params={"period": "2020/.."})
    assert since_2020.status_code == 200
    assert "€31.4 million" in since_2020.text
    assert 'value="2020-01-01/.."' in since_2020.text  # the form shows how it was read
    since_2021 = client.get("/funding", params={"period": "since 2021"})
    assert since_2021.status_code == 200
    assert "No money flows match these filters." in since_2021.text


def test_a_bad_period_is_a_message_on_the_form(client: TestClient, demo: Session) -> None:
    home_office = demo.scalars(select(Actor).where(Actor.name == "UK Home Office")).one()
    response = client.get(
        "/funding",
        params={"period": "since <2014>", "provider": home_office.id, "by": "fiscal-year"},
    )
    assert response.status_code == 400
    page = response.text
    alert = re.search(r'<div class="form-error" role="alert" id="f-error">(.*?)</div>', page, re.S)
    assert alert, "no message on the page"
    assert "period:" in html.unescape(alert.group(1))
    # The form is still there, with what was typed (escaped), marked invalid.
    field = re.search(r'<input id="f-period"[^>]*>', page)
    assert field
    assert 'value="since &lt;2014&gt;"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="f-period-help f-error"' in field.group(0)
    assert f'<option value="{home_office.id}" selected>' in page
    assert '<option value="fiscal-year" selected>' in page
    assert "Totals per currency and stage" not in page  # no report for a refused query
    # The other fields are not marked.
    assert page.count('aria-invalid="true"') == 1


def test_the_help_shows_the_accepted_forms(client: TestClient) -> None:
    page = client.get("/funding").text
    assert 'placeholder="2020, FY2020-21, 2014/.."' in page
    assert "2014/.. (since 2014)" in page
    assert "../2020 (until 2020)" in page


def test_csv_still_refuses_a_bad_period(client: TestClient) -> None:
    response = client.get("/funding.csv", params={"period": "since 20144"})
    assert response.status_code == 400
