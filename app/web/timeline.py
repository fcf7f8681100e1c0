"""A commitment's status timeline: its reviews in order, its dates in words, and a chart.

Pure: it reads a commitment whose reviews (with evidence and sources) are
already loaded (`commitments.get_commitment` loads them) and never queries.
The commitment page includes `commitments/_timeline.html`, which calls
`status_timeline(c, today)` (a template global bound to the app's settings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date, format_interval
from markupsafe import Markup

from app import charts, periods
from app.models import Commitment, Review
from app.services import derived
from app.services.derived import ReviewState
from app.vocab import DeliveryStatus

STATUS_ORDER = list(DeliveryStatus)


def short_period(period: periods.Period, locale: str) -> str:
    """'about 28 Nov – 12 Dec 2020' for a fuzzy reading; '28 Nov 2020' for a day; 'May 2021'."""
    p = periods.Precision
    match period.precision:
        case p.DAY:
            assert period.start is not None
            return str(format_date(period.start, "d MMM y", locale=locale))
        case p.MONTH:
            assert period.start is not None
            return str(format_date(period.start, "MMMM y", locale=locale))
        case p.QUARTER | p.YEAR | p.FISCAL_YEAR:
            return period.label
    about = "about " if period.precision is p.FUZZY else ""
    if period.start and period.end:
        # CLDR puts thin spaces around the dash; plain ones are easier to search for.
        interval = format_interval(period.start, period.end, "yMMMd", locale=locale)
        return about + str(interval).replace("\u2009", " ")
    if period.start:
        return f"from {about}" + str(format_date(period.start, "d MMM y", locale=locale))
    assert period.end is not None
    return f"until {about}" + str(format_date(period.end, "d MMM y", locale=locale))


@dataclass(frozen=True)
class DatedNote:
    """A deadline or review date: the source's words, our reading, and where it stands."""

    wording: str | None
    reading: str  # "about 28 Nov – 12 Dec 2020"
    precision: str  # "fuzzy", "day", …
    is_fuzzy: bool
    state: str  # "overdue", "due", "scheduled", "passed", "open"
    state_text: str  # "overdue since 28 May 2021 (4 days)"


@dataclass(frozen=True)
class TimelineView:
    reviews: list[Review]  # oldest first
    latest: Review | None
    review: DatedNote | None
    deadline: DatedNote | None
    chart: Markup | None


def _day(value: dt.date, locale: str) -> str:
    return str(format_date(value, "d MMMM y", locale=locale))


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _review_note(c: Commitment, today: dt.date, window_days: int, locale: str) -> DatedNote | None:
    due_on = c.next_review_on
    if due_on is None:
        return None
    state = derived.review_state(c, today, window_days)
    if state is ReviewState.overdue:
        text = f"overdue since {_day(due_on, locale)} ({_days((today - due_on).days)})"
    elif state is ReviewState.due:
        left = (due_on - today).days
        text = "due today" if left == 0 else f"due in {_days(left)}"
    else:
        text = "scheduled"
    return DatedNote(
        wording=c.next_review_text,
        reading=f"by {_day(due_on, locale)}",
        precision=periods.Precision.DAY.value,
        is_fuzzy=False,
        state=state.value,
        state_text=text,
    )


def _deadline_note(c: Commitment, today: dt.date, locale: str) -> DatedNote | None:
    deadline = c.deadline
    if deadline is None:
        return None
    fuzzy = deadline.precision is periods.Precision.FUZZY
    if derived.is_overdue(c, today):
        # Not yet assessed means nobody has looked: never read it as "nothing was done".
        if c.status == DeliveryStatus.not_yet_assessed:
            state, text = "overdue", "passed; delivery not assessed"
        else:
            state, text = "overdue", "passed without delivery"
    elif deadline.end is not None and deadline.end < today:
        state, text = "passed", "passed"
    else:
        state, text = "open", "not yet reached"
    return DatedNote(
        wording=c.deadline_text,
        reading=short_period(deadline, locale),
        precision=deadline.precision.value,
        is_fuzzy=fuzzy,
        state=state,
        state_text=text,
    )


def _chart(c: Commitment, reviews: list[Review], today: dt.date, locale: str) -> Markup:
    def label(value: dt.date) -> str:
        return str(format_date(value, "d MMM y", locale=locale))

    steps = [charts.Step(c.announced_on, 0, f"{label(c.announced_on)}: announced")]
    for review in reviews:
        status = DeliveryStatus(review.status_found)
        steps.append(
            charts.Step(
                review.reviewed_on,
                STATUS_ORDER.index(status),
                f"{label(review.reviewed_on)}: {status.label}",
            )
        )
    markers = []
    if c.deadline_end_on is not None:
        markers.append(charts.Marker(c.deadline_end_on, "Deadline: " + label(c.deadline_end_on)))
    if c.next_review_on is not None:
        markers.append(
            charts.Marker(c.next_review_on, "Next review: " + label(c.next_review_on), "review")
        )
    markers.append(charts.Marker(today, "Today: " + label(today), "today"))
    dates = [c.announced_on, today, *(s.on for s in steps), *(m.on for m in markers)]
    history = "; ".join(step.label for step in steps)
    return charts.step_chart(
        "Status over time",
        [status.label for status in STATUS_ORDER],
        steps,
        start=min(dates),
        end=max(dates),
        markers=markers,
        format_date=label,
        description=f"Delivery status found by each review. {history}.",
    )


def timeline_view(
    c: Commitment, *, today: dt.date, window_days: int, locale: str = "en_GB"
) -> TimelineView:
    reviews = sorted(c.reviews, key=lambda r: (r.reviewed_on, r.id))
    return TimelineView(
        reviews=reviews,
        latest=reviews[-1] if reviews else None,
        review=_review_note(c, today, window_days, locale),
        deadline=_deadline_note(c, today, locale),
        chart=_chart(c, reviews, today, locale),
    )
