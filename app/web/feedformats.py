"""Rendering the feeds: iCalendar (RFC 5545) with `icalendar`, Atom (RFC 4287) with `feedgen`.

Both are maintained libraries that do the escaping, line folding and date
formats; this module only decides what goes in. Data comes from the services
(`review_queue.dated_commitments`, `feeds.list_changes`).

Calendar UIDs are stable per commitment and kind of date —
`commitment-<id>-review@<host>` and `commitment-<id>-deadline@<host>` — so when
a review moves its next date, calendar programs move the event instead of
adding a second one; SEQUENCE is the commitment's version counter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event

from app import periods
from app.models import Commitment
from app.services import derived
from app.services.derived import ReviewState
from app.services.feeds import ChangeItem
from app.vocab import DeliveryStatus
from app.web.templating import human_date, human_period

PRODID = "-//Pledge Tracker//Reviews and deadlines//EN"
_CALENDAR_END = b"END:VCALENDAR\r\n"


def _uid(commitment: Commitment, kind: str, host: str) -> str:
    return f"commitment-{commitment.id}-{kind}@{host}"


def _event(
    commitment: Commitment,
    *,
    kind: str,
    on: dt.date,
    summary: str,
    description: list[str],
    categories: list[str],
    base_url: str,
    host: str,
) -> Event:
    url = f"{base_url}/commitments/{commitment.id}"
    event = Event()
    event.add("uid", _uid(commitment, kind, host))
    # The record's own last change, not the time of the request: an unchanged
    # commitment gives a byte-identical event.
    event.add("dtstamp", commitment.updated_at)
    event.add("last-modified", commitment.updated_at)
    event.add("sequence", commitment.version)
    # All-day: VALUE=DATE, and DTEND is the (exclusive) next day.
    event.add("dtstart", on)
    event.add("dtend", on + dt.timedelta(days=1))
    event.add("summary", summary)
    event.add("description", "\n".join([*description, f"Details: {url}"]))
    event.add("url", url)
    event.add("categories", categories)
    # Reminders, not appointments: they do not make anyone look busy.
    event.add("transp", "TRANSPARENT")
    return event


def review_event(
    commitment: Commitment,
    *,
    today: dt.date,
    window_days: int,
    locale: str,
    base_url: str,
    host: str,
) -> Event | None:
    due_on = commitment.next_review_on
    if due_on is None:
        return None
    state = derived.review_state(commitment, today, window_days)
    prefix = {
        ReviewState.overdue: "Review overdue",
        ReviewState.due: "Review due",
    }.get(state, "Review")
    lines = [f"Next review of “{commitment.title}”, due by {human_date(due_on, 'day', locale)}."]
    if commitment.next_review_text:
        lines.append(f"As the source puts it: “{commitment.next_review_text}”.")
    if state is ReviewState.overdue:
        lines.append(f"Overdue: {(today - due_on).days} days past its date on {today.isoformat()}.")
    lines.append(f"Current status: {DeliveryStatus(commitment.status).label}.")
    return _event(
        commitment,
        kind="review",
        on=due_on,
        summary=f"{prefix}: {commitment.title}",
        description=lines,
        categories=["review", state.value],
        base_url=base_url,
        host=host,
    )


def deadline_event(
    commitment: Commitment,
    *,
    today: dt.date,
    locale: str,
    base_url: str,
    host: str,
) -> Event | None:
    deadline = commitment.deadline
    if deadline is None or deadline.end is None:
        return None
    fuzzy = deadline.precision is periods.Precision.FUZZY
    overdue = derived.is_overdue(commitment, today)
    label = "Deadline (approximate)" if fuzzy else "Deadline"
    if overdue:
        label += " passed"
    lines = []
    if commitment.deadline_text:
        lines.append(f"Deadline as written: “{commitment.deadline_text}”.")
    lines.append(f"Read as {human_period(deadline, locale)} ({deadline.precision.value}).")
    if fuzzy:
        lines.append(
            "Fuzzy: the source gives no exact date; this is a reading of its words, "
            "shown on the last day of that reading."
        )
    if overdue:
        lines.append(
            f"Passed without delivery: status on {today.isoformat()} is "
            f"{DeliveryStatus(commitment.status).label}."
        )
    else:
        lines.append(f"Current status: {DeliveryStatus(commitment.status).label}.")
    categories = ["deadline", deadline.precision.value]
    if overdue:
        categories.append("overdue")
    return _event(
        commitment,
        kind="deadline",
        on=deadline.end,
        summary=f"{label}: {commitment.title}",
        description=lines,
        categories=categories,
        base_url=base_url,
        host=host,
    )


def iter_ics(
    commitments: Iterable[Commitment],
    *,
    title: str,
    today: dt.date,
    window_days: int,
    locale: str,
    base_url: str,
    host: str,
) -> Iterator[bytes]:
    """The calendar, streamed: the library's VCALENDAR header, each VEVENT, then its end.

    Streaming keeps memory constant however many commitments there are; each
    part is serialised by `icalendar` itself.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    whole = bytes(calendar.to_ical())
    if not whole.endswith(_CALENDAR_END):  # pragma: no cover - the library's own format
        raise RuntimeError("unexpected iCalendar serialisation")
    yield whole[: -len(_CALENDAR_END)]
    for commitment in commitments:
        for event in (
            review_event(
                commitment,
                today=today,
                window_days=window_days,
                locale=locale,
                base_url=base_url,
                host=host,
            ),
            deadline_event(commitment, today=today, locale=locale, base_url=base_url, host=host),
        ):
            if event is not None:
                yield bytes(event.to_ical())
    yield _CALENDAR_END


def _entry_text(item: ChangeItem) -> str:
    lines = [item.record.summary]
    for field in item.fields:
        lines.append(f"{field.field}: {_value(field.before)} → {_value(field.after)}")
    return "\n".join(lines)


def _value(value: object) -> str:
    return "(none)" if value is None else str(value)


def render_atom(
    items: Sequence[ChangeItem],
    *,
    title: str,
    self_url: str,
    html_url: str,
    base_url: str,
    now: dt.datetime,
) -> bytes:
    feed = FeedGenerator()
    # The feed's id is its own address (filters included): stable and unique.
    feed.id(self_url)
    feed.title(title)
    feed.subtitle("Published changes to the record of public commitments.")
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=html_url, rel="alternate", type="text/html")
    feed.author({"name": "Pledge Tracker"})
    feed.language("en")
    feed.generator("Pledge Tracker")
    feed.updated(items[0].occurred_at if items else now)
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(f"{base_url}/changes#change-{item.id}")
        entry.title(item.record.summary)
        entry.updated(item.occurred_at)
        entry.published(item.occurred_at)
        entry.author({"name": item.who})
        entry.link(
            href=f"{base_url}{item.path}" if item.path else f"{base_url}/changes#change-{item.id}",
            rel="alternate",
        )
        entry.category(term=item.record.action)
        entry.category(term=item.record.entity_type)
        entry.content(_entry_text(item), type="text")
    return bytes(feed.atom_str(pretty=True))
