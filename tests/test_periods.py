"""Tests for app.periods: dates that carry a precision.

Pure tests: no database, no fixtures.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.periods import (
    Period,
    PeriodError,
    Precision,
    add_months,
    fiscal_year_of,
    parse_period,
)

# Dates whose fiscal year (any start month) still has a four-digit start year
# and ends before year 10000.
DATES = st.dates(min_value=date(1001, 1, 1), max_value=date(9998, 12, 31))
ANY_DATES = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))
YEARS = st.integers(min_value=1000, max_value=9999)
MONTHS = st.integers(min_value=1, max_value=12)
ONE_DAY = timedelta(days=1)


def test_precision_values_are_stable() -> None:
    assert [p.value for p in Precision] == [
        "day",
        "month",
        "quarter",
        "year",
        "fiscal_year",
        "range",
        "fuzzy",
    ]


# ------------------------------------------------------------------------ constructors


def test_2019_is_the_whole_year() -> None:
    p = parse_period("2019")
    assert p == Period.year(2019)
    assert (p.start, p.end, p.precision) == (date(2019, 1, 1), date(2019, 12, 31), "year")
    assert p.contains(date(2019, 12, 31))
    assert p.contains(date(2019, 7, 14))
    assert not p.contains(date(2020, 1, 1))


def test_uk_fiscal_year_2022_23_boundaries() -> None:
    fy = Period.fiscal_year(2022, 4)
    assert (fy.start, fy.end) == (date(2022, 4, 1), date(2023, 3, 31))
    assert fy.label == "FY2022-23"
    assert fy.contains(date(2022, 4, 1))
    assert fy.contains(date(2023, 3, 31))
    assert not fy.contains(date(2022, 3, 31))
    assert not fy.contains(date(2023, 4, 1))
    assert parse_period("FY2022-23", 4) == fy
    assert parse_period("2022-23", 4) == fy


def test_january_fiscal_year_is_the_calendar_year() -> None:
    fy = Period.fiscal_year(2022, 1)
    assert (fy.start, fy.end) == (date(2022, 1, 1), date(2022, 12, 31))
    assert fy.label == "FY2022"
    assert parse_period("FY2022") == fy
    assert fy != Period.year(2022)  # same days, different precision


@pytest.mark.parametrize(
    ("period", "start", "end", "label"),
    [
        (Period.day(date(2020, 11, 28)), date(2020, 11, 28), date(2020, 11, 28), "2020-11-28"),
        (Period.month(2020, 11), date(2020, 11, 1), date(2020, 11, 30), "2020-11"),
        (Period.month(2020, 2), date(2020, 2, 1), date(2020, 2, 29), "2020-02"),
        (Period.quarter(2020, 4), date(2020, 10, 1), date(2020, 12, 31), "2020-Q4"),
        (Period.quarter(2021, 1), date(2021, 1, 1), date(2021, 3, 31), "2021-Q1"),
        (Period.year(2020), date(2020, 1, 1), date(2020, 12, 31), "2020"),
        (Period.fiscal_year(2022, 4), date(2022, 4, 1), date(2023, 3, 31), "FY2022-23"),
        (Period.fiscal_year(1999, 10), date(1999, 10, 1), date(2000, 9, 30), "FY1999-00"),
        (
            Period.range(date(2020, 7, 1), date(2020, 11, 28)),
            date(2020, 7, 1),
            date(2020, 11, 28),
            "2020-07-01/2020-11-28",
        ),
        (Period.range(date(2020, 7, 1), None), date(2020, 7, 1), None, "2020-07-01/.."),
        (Period.range(None, date(2020, 11, 28)), None, date(2020, 11, 28), "../2020-11-28"),
        (
            Period.fuzzy(date(2020, 11, 28), date(2020, 12, 5)),
            date(2020, 11, 28),
            date(2020, 12, 5),
            "~2020-11-28/2020-12-05",
        ),
        (Period.quarter(9999, 4), date(9999, 10, 1), date(9999, 12, 31), "9999-Q4"),
        (Period.fiscal_year(9999, 1), date(9999, 1, 1), date(9999, 12, 31), "FY9999"),
    ],
)
def test_constructors_and_labels(
    period: Period, start: date | None, end: date | None, label: str
) -> None:
    assert (period.start, period.end, period.label) == (start, end, label)
    assert parse_period(label, period.fiscal_start_month) == period


def test_open_range_contains() -> None:
    since = Period.range(date(2020, 7, 1), None)
    assert since.contains(date(9999, 12, 31))
    assert not since.contains(date(2020, 6, 30))
    until = Period.range(None, date(2020, 11, 28))
    assert until.contains(date(1000, 1, 1))
    assert not until.contains(date(2020, 11, 29))


def test_fuzzy_is_approximate() -> None:
    assert Period.fuzzy(None, date(2020, 11, 28)).is_approximate
    assert not Period.range(None, date(2020, 11, 28)).is_approximate


def test_precision_string_is_coerced_and_fiscal_month_ignored_elsewhere() -> None:
    p = Period(date(2020, 11, 1), date(2020, 11, 30), "month", fiscal_start_month=4)  # type: ignore[arg-type]
    assert p.precision is Precision.MONTH
    assert p == Period.month(2020, 11)


@pytest.mark.parametrize(
    ("start", "end", "precision", "fiscal_start_month", "message"),
    [
        (date(2020, 1, 2), date(2020, 1, 1), Precision.RANGE, 1, "must not end before it starts"),
        (date(2020, 1, 1), date(2020, 1, 2), Precision.DAY, 1, "not a whole day"),
        (date(2020, 1, 2), date(2020, 1, 31), Precision.MONTH, 1, "not a whole month"),
        (date(2020, 1, 1), date(2020, 2, 29), Precision.MONTH, 1, "not a whole month"),
        (date(2020, 2, 1), date(2020, 4, 30), Precision.QUARTER, 1, "not a whole quarter"),
        (date(2020, 1, 1), date(2020, 12, 30), Precision.YEAR, 1, "not a whole year"),
        (date(2020, 1, 1), date(2020, 12, 31), Precision.FISCAL_YEAR, 4, "whole fiscal year"),
        (None, date(2020, 1, 1), Precision.DAY, 1, "needs both a start and an end"),
        (None, None, Precision.FUZZY, 1, "needs at least a start or an end"),
        (date(999, 1, 1), date(999, 1, 1), Precision.DAY, 1, "outside 1000..9999"),
        (date(2020, 4, 1), date(2021, 3, 31), Precision.FISCAL_YEAR, 13, "must be 1..12"),
    ],
)
def test_invalid_periods(
    start: date | None,
    end: date | None,
    precision: Precision,
    fiscal_start_month: int,
    message: str,
) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        Period(start, end, precision, fiscal_start_month)


def test_datetime_is_not_a_date_here() -> None:
    with pytest.raises(TypeError, match="must be a date"):
        Period.day(datetime(2020, 11, 28, 12, 0))  # noqa: DTZ001 - the point is the type


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Period.month(2020, 13), "month must be 1..12"),
        (lambda: Period.quarter(2020, 5), "quarter must be 1..4"),
        (lambda: Period.year(10000), "outside 1000..9999"),
        (lambda: Period.fiscal_year(2022, 0), "fiscal_start_month must be 1..12"),
    ],
)
def test_invalid_constructor_arguments(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(PeriodError, match=re.escape(message)):
        call()


def test_periods_are_frozen_and_hashable() -> None:
    p = Period.year(2020)
    with pytest.raises(AttributeError):
        p.start = date(2021, 1, 1)  # type: ignore[misc]
    assert len({p, Period.year(2020)}) == 1


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "fiscal_start_month", "expected"),
    [
        ("2020-11-28", 1, Period.day(date(2020, 11, 28))),
        (" 2020-11 ", 1, Period.month(2020, 11)),
        ("2011-12", 4, Period.month(2011, 12)),  # YYYY-MM wins over fiscal 2011-12
        ("2020-Q4", 1, Period.quarter(2020, 4)),
        ("2020-q4", 1, Period.quarter(2020, 4)),
        ("Q4 2020", 1, Period.quarter(2020, 4)),
        ("2020", 4, Period.year(2020)),
        ("FY2022-23", 4, Period.fiscal_year(2022, 4)),
        ("fy2022-23", 7, Period.fiscal_year(2022, 7)),
        ("2022-23", 4, Period.fiscal_year(2022, 4)),
        ("2099-00", 4, Period.fiscal_year(2099, 4)),
        ("FY2022", 1, Period.fiscal_year(2022, 1)),
        ("2020-07-01/2020-11-28", 1, Period.range(date(2020, 7, 1), date(2020, 11, 28))),
        ("2020-07-01/..", 1, Period.range(date(2020, 7, 1), None)),
        ("../2020-11-28", 1, Period.range(None, date(2020, 11, 28))),
        ("~2020-11-28/2020-12-05", 1, Period.fuzzy(date(2020, 11, 28), date(2020, 12, 5))),
        ("~../2020-12-05", 1, Period.fuzzy(None, date(2020, 12, 5))),
    ],
)
def test_parse_period(text: str, fiscal_start_month: int, expected: Period) -> None:
    assert parse_period(text, fiscal_start_month) == expected


@pytest.mark.parametrize(
    ("text", "fiscal_start_month", "message"),
    [
        ("2021-02-30", 1, "'2021-02-30' is not a real date"),
        ("2021-02-30/2021-03-05", 1, "'2021-02-30' is not a real date"),
        ("2019-13", 1, "'2019-13' is neither a month (01 to 12) nor a fiscal year (2019-20)"),
        ("2019-Q5", 1, "'2019-Q5' is not a quarter"),
        ("2019-Q0", 1, "is not a quarter"),
        ("2022-24", 4, "neither a month (01 to 12) nor a fiscal year (2022-23)"),
        ("FY2022-24", 4, "24 does not follow 2022"),
        ("FY2022-23", 1, "fiscal years here start in January; write 'FY2022'"),
        ("FY2022", 4, "ambiguous when fiscal years start in April; write 'FY2022-23'"),
        ("0999", 1, "years must be between 1000 and 9999"),
        ("10000", 1, "years must be between 1000 and 9999"),
        ("0999-01-01", 1, "years must be between 1000 and 9999"),
        ("2020-11-28/2020-07-01", 1, "must not end before it starts"),
        ("../..", 1, "needs at least a start or an end"),
        ("2020-07/2020-08", 1, "must be a full date (YYYY-MM-DD) or '..'"),
        ("2020-07-01/2020-08-01/2020-09-01", 1, "exactly one '/'"),
        ("~2020", 1, "a fuzzy period needs a start and an end"),
        ("", 1, "no period given"),
        ("last spring", 1, "'last spring' is not a period I can read"),
        ("2020-1-1", 1, "is not a period I can read"),
        ("2020", 13, "fiscal_start_month must be 1..12"),
    ],
)
def test_parse_period_rejects(text: str, fiscal_start_month: int, message: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(message)):
        parse_period(text, fiscal_start_month)


# ----------------------------------------------------------------------- fiscal years


@pytest.mark.parametrize(
    ("d", "fiscal_start_month", "label"),
    [
        (date(2020, 11, 28), 4, "FY2020-21"),
        (date(2021, 3, 31), 4, "FY2020-21"),
        (date(2021, 4, 1), 4, "FY2021-22"),
        (date(2020, 11, 28), 1, "FY2020"),
        (date(2020, 9, 30), 10, "FY2019-20"),
    ],
)
def test_fiscal_year_of(d: date, fiscal_start_month: int, label: str) -> None:
    assert fiscal_year_of(d, fiscal_start_month).label == label


# ------------------------------------------------------------------------- add_months


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2020, 11, 28), 6, date(2021, 5, 28)),
        (date(2020, 8, 31), 6, date(2021, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2020, 3, 31), -1, date(2020, 2, 29)),
        (date(2020, 1, 15), -13, date(2018, 12, 15)),
        (date(2020, 1, 31), 0, date(2020, 1, 31)),
    ],
)
def test_add_months(d: date, months: int, expected: date) -> None:
    assert add_months(d, months) == expected


def test_add_months_outside_calendar() -> None:
    with pytest.raises(PeriodError, match="outside the calendar"):
        add_months(date(9999, 12, 1), 1)


# ------------------------------------------------------------------ property tests


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """Any valid Period, of every precision."""
    precision = draw(st.sampled_from(Precision))
    if precision is Precision.DAY:
        return Period.day(draw(ANY_DATES))
    if precision is Precision.MONTH:
        return Period.month(draw(YEARS), draw(MONTHS))
    if precision is Precision.QUARTER:
        return Period.quarter(draw(YEARS), draw(st.integers(1, 4)))
    if precision is Precision.YEAR:
        return Period.year(draw(YEARS))
    if precision is Precision.FISCAL_YEAR:
        month = draw(MONTHS)
        return Period.fiscal_year(
            draw(YEARS if month == 1 else YEARS.filter(lambda y: y < 9999)), month
        )
    a, b = sorted([draw(ANY_DATES), draw(ANY_DATES)])
    start, end = draw(
        st.sampled_from([(a, b), (a, None), (None, b)]),
    )
    return Period(start, end, precision)


@settings(max_examples=300)
@given(periods())
def test_label_round_trip(period: Period) -> None:
    assert parse_period(period.label, period.fiscal_start_month) == period


@settings(max_examples=200)
@given(periods(), ANY_DATES)
def test_contains_matches_bounds(period: Period, d: date) -> None:
    expected = (period.start is None or period.start <= d) and (
        period.end is None or d <= period.end
    )
    assert period.contains(d) is expected


@settings(max_examples=200)
@given(DATES, MONTHS)
def test_fiscal_year_of_contains_date(d: date, fiscal_start_month: int) -> None:
    fy = fiscal_year_of(d, fiscal_start_month)
    assert fy.contains(d)
    assert fy.precision is Precision.FISCAL_YEAR
    assert fy.start is not None
    assert fy.end is not None
    assert fy.start == date(fy.start.year, fiscal_start_month, 1)
    assert add_months(fy.start, 12) - fy.end == ONE_DAY
    assert (fy.end - fy.start).days in (364, 365)


@settings(max_examples=200)
@given(ANY_DATES, st.integers(min_value=-1200, max_value=1200))
def test_add_months_properties(d: date, months: int) -> None:
    try:
        result = add_months(d, months)
    except PeriodError:
        return
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    assert result.day <= d.day
    if result.day < d.day:
        # Clamped only when the target month is too short: it ends on result.
        assert (result + ONE_DAY).day == 1
