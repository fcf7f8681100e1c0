"""Dates with a precision: "2019" means the whole year 2019, not 1 January 2019.

A ``Period`` is an inclusive ``start``..``end`` span of calendar dates plus the
precision it was stated with. Its ``label`` is a compact, ISO 8601-flavoured text
form and ``parse_period`` is the exact inverse::

    day          2020-11-28
    month        2020-11
    quarter      2020-Q4
    year         2020
    fiscal_year  FY2022-23  (fiscal year starting in 2022; "FY2022" if it starts in January)
    range        2020-07-01/2020-11-28, 2020-07-01/.., ../2020-11-28   (ISO 8601-2 open ends)
    fuzzy        ~2020-11-28/2020-12-05  (a researcher's reading of vague wording)

Years are limited to 1000..9999 so every label has a four-digit year.
The module is pure: no I/O, no clock, no time zones.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

__all__ = [
    "Period",
    "PeriodError",
    "Precision",
    "add_months",
    "fiscal_year_of",
    "parse_period",
]

MIN_YEAR: Final = 1000
MAX_YEAR: Final = 9999

_OPEN: Final = ".."
_FUZZY_PREFIX: Final = "~"


class Precision(StrEnum):
    """How precisely a date was stated. Values are stable: they are stored."""

    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    FISCAL_YEAR = "fiscal_year"
    RANGE = "range"
    # An interpretation of vague wording ("in the coming days"): the dates are the
    # researcher's reading and must be shown as approximate.
    FUZZY = "fuzzy"


_OPEN_ENDED: Final = frozenset({Precision.RANGE, Precision.FUZZY})


class PeriodError(ValueError):
    """A period was rejected. ``str(error)`` is one readable sentence."""


# ------------------------------------------------------------------ calendar helpers


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping to the end of shorter months.

    28 Nov 2020 + 6 -> 28 May 2021; 31 Aug 2020 + 6 -> 28 Feb 2021 (29 in leap years).
    Negative ``months`` go backwards. Raises PeriodError outside years 1..9999.
    """
    total = d.year * 12 + (d.month - 1) + months
    year, month_index = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise PeriodError(f"{d.isoformat()} plus {months} months is outside the calendar")
    month = month_index + 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    # replace() keeps the type (and time, for a datetime) of the argument.
    return d.replace(year=year, month=month, day=day)


def _last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _span_end(start: date, months: int) -> date:
    """Last day of the span of ``months`` whole months beginning in ``start``'s month."""
    # Going via the last month (not "start + months - 1 day") keeps 9999-Q4 and
    # FY9999 representable: their day-after-end would be in year 10000.
    last_month = add_months(start.replace(day=1), months - 1)
    return _last_day_of_month(last_month.year, last_month.month)


def _check_year(year: int, what: str = "year") -> None:
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"{what} must be an int, not {type(year).__name__}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"{what} {year} is outside {MIN_YEAR}..{MAX_YEAR}")


def _check_fiscal_start_month(month: int) -> None:
    if isinstance(month, bool) or not isinstance(month, int):
        raise TypeError(f"fiscal_start_month must be an int, not {type(month).__name__}")
    if not 1 <= month <= 12:
        raise PeriodError(f"fiscal_start_month must be 1..12, not {month}")


def _fiscal_label(start_year: int, fiscal_start_month: int) -> str:
    if fiscal_start_month == 1:
        return f"FY{start_year:04d}"
    return f"FY{start_year:04d}-{(start_year + 1) % 100:02d}"


# ---------------------------------------------------------------------------- Period


@dataclass(frozen=True)
class Period:
    """An inclusive span of dates with the precision it was stated with.

    ``start``/``end`` may be None only for ``range`` and ``fuzzy`` (open-ended:
    "since July 2020" has no end, "in recent weeks" no start), never both.
    Other precisions must be aligned exactly to their calendar boundaries.

    ``fiscal_start_month`` (1..12) only means something for ``fiscal_year``; for
    every other precision it is normalised to 1 so that equality ignores it.
    """

    start: date | None
    end: date | None
    precision: Precision
    fiscal_start_month: int = 1

    def __post_init__(self) -> None:
        # Accept the stored string form ("month") as well as the enum member.
        try:
            precision = Precision(self.precision)
        except ValueError:
            raise PeriodError(f"unknown precision {self.precision!r}") from None
        object.__setattr__(self, "precision", precision)
        _check_fiscal_start_month(self.fiscal_start_month)
        if precision is not Precision.FISCAL_YEAR:
            object.__setattr__(self, "fiscal_start_month", 1)

        for name, value in (("start", self.start), ("end", self.end)):
            if value is None:
                continue
            # A datetime is a date subclass but never equals a date: refuse it early.
            if isinstance(value, datetime) or not isinstance(value, date):
                raise TypeError(f"{name} must be a date, not {type(value).__name__}")
            _check_year(value.year, f"{name} year")

        if precision in _OPEN_ENDED:
            if self.start is None and self.end is None:
                raise PeriodError("a range needs at least a start or an end")
        elif self.start is None or self.end is None:
            raise PeriodError(f"a {precision} period needs both a start and an end")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise PeriodError("a range must not end before it starts")
        self._check_alignment()

    def _check_alignment(self) -> None:
        start, end, precision = self.start, self.end, self.precision
        if precision in _OPEN_ENDED:
            return
        # Both ends were checked present in __post_init__.
        assert start is not None
        assert end is not None
        if precision is Precision.DAY:
            expected = start
            ok = True
        elif precision is Precision.MONTH:
            expected = _last_day_of_month(start.year, start.month)
            ok = start.day == 1
        elif precision is Precision.QUARTER:
            expected = _span_end(start, 3)
            ok = start.day == 1 and start.month in (1, 4, 7, 10)
        elif precision is Precision.YEAR:
            expected = date(start.year, 12, 31)
            ok = (start.month, start.day) == (1, 1)
        else:  # FISCAL_YEAR
            ok = start.day == 1 and start.month == self.fiscal_start_month
            expected = _span_end(start, 12)
        if not ok or end != expected:
            what = precision.replace("_", " ")
            if precision is Precision.FISCAL_YEAR:
                what += f" starting in month {self.fiscal_start_month}"
            raise PeriodError(f"{start.isoformat()}..{end.isoformat()} is not a whole {what}")

    # -- constructors

    @classmethod
    def day(cls, d: date) -> Period:
        """The single day ``d``."""
        return cls(d, d, Precision.DAY)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The whole calendar month."""
        _check_year(year)
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise PeriodError(f"month must be 1..12, not {month!r}")
        return cls(date(year, month, 1), _last_day_of_month(year, month), Precision.MONTH)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """Calendar quarter ``quarter`` (1..4) of ``year``."""
        _check_year(year)
        if isinstance(quarter, bool) or not isinstance(quarter, int) or not 1 <= quarter <= 4:
            raise PeriodError(f"quarter must be 1..4, not {quarter!r}")
        start = date(year, 3 * quarter - 2, 1)
        return cls(start, _span_end(start, 3), Precision.QUARTER)

    @classmethod
    def year(cls, year: int) -> Period:
        """The whole calendar year: 2019 is 2019-01-01..2019-12-31."""
        _check_year(year)
        return cls(date(year, 1, 1), date(year, 12, 31), Precision.YEAR)

    @classmethod
    def fiscal_year(cls, start_year: int, fiscal_start_month: int) -> Period:
        """The fiscal year starting on the 1st of ``fiscal_start_month`` in ``start_year``.

        UK (4): ``fiscal_year(2022, 4)`` is FY2022-23, 2022-04-01..2023-03-31.
        France (1): ``fiscal_year(2022, 1)`` is calendar 2022, labelled FY2022.
        """
        _check_year(start_year, "fiscal start year")
        _check_fiscal_start_month(fiscal_start_month)
        start = date(start_year, fiscal_start_month, 1)
        return cls(start, _span_end(start, 12), Precision.FISCAL_YEAR, fiscal_start_month)

    @classmethod
    def starting(
        cls, start: date, precision: Precision | str, fiscal_start_month: int = 1
    ) -> Period:
        """The day, month, quarter, year or fiscal year that begins on ``start``.

        For a date stored as its first day with a precision (an announcement
        "2020-11" is 2020-11-01 with precision month). PeriodError if ``start``
        is not the first day of such a period (2019-09-15 is no month's start).
        """
        p = Precision(precision)
        if p in _OPEN_ENDED:
            raise PeriodError(f"a {p.value} has no fixed length: give its end as well")
        months = {Precision.MONTH: 1, Precision.QUARTER: 3, Precision.YEAR: 12,
                  Precision.FISCAL_YEAR: 12}.get(p)  # fmt: skip
        end = start if months is None else _span_end(start, months)
        return cls(start, end, p, fiscal_start_month)

    @classmethod
    def range(cls, start: date | None, end: date | None) -> Period:
        """An exact span of days; ``None`` for an open (unknown) end."""
        return cls(start, end, Precision.RANGE)

    @classmethod
    def fuzzy(cls, start: date | None, end: date | None) -> Period:
        """A researcher's reading of vague wording; displayed as approximate."""
        return cls(start, end, Precision.FUZZY)

    # -- queries

    @property
    def label(self) -> str:
        """Canonical text form; ``parse_period(p.label, p.fiscal_start_month) == p``."""
        start, end = self.start, self.end
        if self.precision in _OPEN_ENDED:
            body = f"{start.isoformat() if start else _OPEN}/{end.isoformat() if end else _OPEN}"
            return _FUZZY_PREFIX + body if self.precision is Precision.FUZZY else body
        assert start is not None
        match self.precision:
            case Precision.DAY:
                return start.isoformat()
            case Precision.MONTH:
                return f"{start.year:04d}-{start.month:02d}"
            case Precision.QUARTER:
                return f"{start.year:04d}-Q{(start.month + 2) // 3}"
            case Precision.YEAR:
                return f"{start.year:04d}"
            case _:
                return _fiscal_label(start.year, self.fiscal_start_month)

    @property
    def is_approximate(self) -> bool:
        """True for fuzzy periods, whose dates must be shown as approximate."""
        return self.precision is Precision.FUZZY

    def contains(self, d: date) -> bool:
        """True if ``d`` falls within the period (inclusive; open ends are unbounded)."""
        return (self.start is None or self.start <= d) and (self.end is None or d <= self.end)


# --------------------------------------------------------------------------- parsing

_DAY_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_YEAR_NN_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
_YEAR_RE: Final = re.compile(r"[0-9]{4}", re.ASCII)
_QUARTER_RE: Final = re.compile(
    r"([0-9]{4})[- ]?Q([0-9])|Q([0-9])[ ]+([0-9]{4})", re.ASCII | re.IGNORECASE
)
_FISCAL_RE: Final = re.compile(r"FY ?([0-9]{4})(?:-([0-9]{2}))?", re.ASCII | re.IGNORECASE)
_LONG_YEAR_RE: Final = re.compile(r"[0-9]{5,}(?:-.*)?", re.ASCII)

_EXAMPLES: Final = (
    "use e.g. '2020-11-28', '2020-11', '2020-Q4', '2020', 'FY2022-23' or '2020-07-01/2020-11-28'"
)


def parse_period(text: str, fiscal_start_month: int = 1) -> Period:
    """Parse a period label; the inverse of ``Period.label``.

    Accepts "2020-11-28", "2020-11", "2020-Q4" (and "Q4 2020"), "2020",
    "FY2022-23" or "2022-23" (the fiscal year starting in 2022 in month
    ``fiscal_start_month``), "FY2022" (only when fiscal years start in January),
    "2020-07-01/2020-11-28", open ranges with "..", and "~start/end" for fuzzy.

    "YYYY-NN" is a month when NN is 01..12 (so "2011-12" is December 2011), and a
    fiscal year when NN is the next year's last two digits. Raises PeriodError with
    a one-line explanation for anything else.
    """
    if not isinstance(text, str):
        raise TypeError(f"period text must be a string, not {type(text).__name__}")
    _check_fiscal_start_month(fiscal_start_month)
    stripped = text.strip()
    if not stripped:
        raise PeriodError("no period given")

    if stripped.startswith(_FUZZY_PREFIX):
        body = stripped[len(_FUZZY_PREFIX) :].strip()
        if "/" not in body:
            raise PeriodError(
                f"{text!r}: a fuzzy period needs a start and an end, e.g. '~2020-11-28/2020-12-05'"
            )
        start, end = _parse_range_ends(text, body)
        return Period.fuzzy(start, end)
    if "/" in stripped:
        start, end = _parse_range_ends(text, stripped)
        return Period.range(start, end)

    if m := _DAY_RE.fullmatch(stripped):
        return Period.day(_parse_date(text, m))
    if m := _QUARTER_RE.fullmatch(stripped):
        year_text, quarter_text = (m[1], m[2]) if m[1] is not None else (m[4], m[3])
        year = _parse_year(text, year_text)
        if not 1 <= int(quarter_text) <= 4:
            raise PeriodError(f"{text!r} is not a quarter (quarters are Q1 to Q4)")
        return Period.quarter(year, int(quarter_text))
    if m := _FISCAL_RE.fullmatch(stripped):
        return _parse_fiscal(text, _parse_year(text, m[1]), m[2], fiscal_start_month)
    if m := _YEAR_NN_RE.fullmatch(stripped):
        year = _parse_year(text, m[1])
        number = int(m[2])
        if 1 <= number <= 12:
            return Period.month(year, number)
        if number == (year + 1) % 100:
            return _parse_fiscal(text, year, m[2], fiscal_start_month)
        raise PeriodError(
            f"{text!r} is neither a month (01 to 12) nor a fiscal year"
            f" ({_fiscal_label(year, 2)[2:]})"
        )
    if _YEAR_RE.fullmatch(stripped):
        return Period.year(_parse_year(text, stripped))
    if _LONG_YEAR_RE.fullmatch(stripped):
        raise PeriodError(f"{text!r}: years must be between {MIN_YEAR} and {MAX_YEAR}")
    raise PeriodError(f"{text!r} is not a period I can read; {_EXAMPLES}")


def _parse_year(text: str, digits: str) -> int:
    year = int(digits)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"{text!r}: years must be between {MIN_YEAR} and {MAX_YEAR}")
    return year


def _parse_date(text: str, m: re.Match[str]) -> date:
    year = _parse_year(text, m[1])
    try:
        return date(year, int(m[2]), int(m[3]))
    except ValueError:
        raise PeriodError(f"{m[0]!r} is not a real date") from None


def _parse_range_ends(text: str, body: str) -> tuple[date | None, date | None]:
    parts = body.split("/")
    if len(parts) != 2:
        raise PeriodError(f"{text!r}: a range has exactly one '/' between start and end")
    ends: list[date | None] = []
    for part in (p.strip() for p in parts):
        if part == _OPEN:
            ends.append(None)
        elif m := _DAY_RE.fullmatch(part):
            ends.append(_parse_date(text, m))
        else:
            raise PeriodError(
                f"{text!r}: each end of a range must be a full date (YYYY-MM-DD) or '..'"
            )
    if ends[0] is None and ends[1] is None:
        raise PeriodError(f"{text!r}: a range needs at least a start or an end")
    if ends[0] is not None and ends[1] is not None and ends[1] < ends[0]:
        raise PeriodError(f"{text!r}: a range must not end before it starts")
    return ends[0], ends[1]


def _parse_fiscal(
    text: str, start_year: int, end_digits: str | None, fiscal_start_month: int
) -> Period:
    if end_digits is None:
        if fiscal_start_month != 1:
            raise PeriodError(
                f"{text!r} is ambiguous when fiscal years start in"
                f" {calendar.month_name[fiscal_start_month]}; write"
                f" {_fiscal_label(start_year, fiscal_start_month)!r}"
            )
        return Period.fiscal_year(start_year, 1)
    if int(end_digits) != (start_year + 1) % 100:
        raise PeriodError(
            f"{text!r} is not a fiscal year: {end_digits} does not follow {start_year}"
        )
    if fiscal_start_month == 1:
        raise PeriodError(
            f"{text!r} spans two years, but fiscal years here start in January;"
            f" write 'FY{start_year}'"
        )
    if start_year >= MAX_YEAR:
        raise PeriodError(f"{text!r}: years must be between {MIN_YEAR} and {MAX_YEAR}")
    return Period.fiscal_year(start_year, fiscal_start_month)


def fiscal_year_of(d: date, fiscal_start_month: int) -> Period:
    """The fiscal year containing ``d``: 2020-11-28 with April starts -> FY2020-21."""
    _check_fiscal_start_month(fiscal_start_month)
    start_year = d.year if d.month >= fiscal_start_month else d.year - 1
    return Period.fiscal_year(start_year, fiscal_start_month)
