"""The review queue, its CSV, the dashboard panel and the calendar feed, at chosen dates."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import feedparser
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Actor, Commitment, CommitmentActor, Source
from app.services import review_queue
from app.services.derived import ReviewState, review_state_sql
from app.services.review_queue import DueFilters
from app.services.reviews import EvidenceInput, record_review
from app.vocab import PublicationState

JUNE_1 = dt.date(2021, 6, 1)
SIX_MONTHS = dt.date(2021, 5, 28)


@pytest.fixture
def clock() -> FixedClock:
    # The done-when date: four days after the six-month review was due.
    return FixedClock(JUNE_1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _pledge(session: Session) -> Commitment:
    return session.scalars(select(Commitment).where(Commitment.kind == "funding")).one()


def _plan(session: Session) -> Commitment:
    return session.scalars(
        select(Commitment).where(Commitment.title.like("New UK–France joint operational plan%"))
    ).one()


def _actor(session: Session, name: str) -> Actor:
    return session.scalars(select(Actor).where(Actor.name == name)).one()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _calendar(client: TestClient, query: str = "") -> Calendar:
    response = client.get(f"/reviews.ics{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> dict[str, object]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def _review_with_evidence(session: Session, commitment: Commitment) -> None:
    source = session.scalars(select(Source)).one()
    record_review(
        session,
        commitment,
        today=JUNE_1,
        reviewed_on=JUNE_1,
        status_found="in_progress",
        progress_percent=40,
        rationale="Funding agreed; first payments not yet seen.",
        evidence=[EvidenceInput(source.id, "The UK has pledged", "para 8")],
        next_review_on=dt.date(2021, 12, 1),
        reviewer_name="Test reviewer",
    )
    session.commit()


# ------------------------------------------------------------- done when


def test_six_month_review_overdue_everywhere_then_cleared_by_a_review(
    client: TestClient, demo: Session
) -> None:
    pledge = _pledge(demo)
    plan = _plan(demo)

    # The queue: both commitments with the six-month review, overdue, oldest first.
    page = _text(client.get("/reviews/due").text)
    assert "2 overdue" in page
    assert "Overdue since 28 May 2021 4 days" in page
    assert pledge.title in page

    # The dashboard panel.
    dashboard = _text(client.get("/").text)
    assert "2 reviews overdue" in dashboard

    # The list filter is another branch's; the SQL it will use is this one.
    overdue_ids = set(
        demo.scalars(select(Commitment.id).where(review_state_sql(ReviewState.overdue, JUNE_1, 30)))
    )
    assert overdue_ids == {pledge.id, plan.id}

    # The commitments list filter and its CSV use that same SQL.
    listed = client.get("/commitments", params={"review": "overdue"}).text
    assert pledge.title in listed
    assert plan.title in listed
    assert "Increase in the number of land patrols" not in listed
    listed_csv = client.get("/commitments.csv", params={"review": "overdue"}).text
    assert {int(r["id"]) for r in _csv(listed_csv.removeprefix("\ufeff"))} == {pledge.id, plan.id}

    # The queue CSV.
    rows = {int(r["commitment_id"]): r for r in _csv(client.get("/reviews/due.csv").text)}
    assert rows[pledge.id]["review_state"] == "overdue"
    assert rows[pledge.id]["next_review_on"] == "2021-05-28"
    assert rows[pledge.id]["days_overdue"] == "4"

    # The calendar feed.
    events = _events(_calendar(client))
    review_uid = f"commitment-{pledge.id}-review@testserver"
    event = events[review_uid]
    assert str(event["SUMMARY"]).startswith("Review overdue: UK funding")
    assert event.decoded("DTSTART") == SIX_MONTHS
    assert "overdue" in [str(c) for c in event["CATEGORIES"].cats]
    sequence_before = int(event["SEQUENCE"])

    # Recording a review with evidence clears it…
    _review_with_evidence(demo, pledge)
    items = review_queue.review_queue(demo, today=JUNE_1, window_days=30)
    assert [item.commitment.id for item in items] == [plan.id]
    page = _text(client.get("/reviews/due").text)
    assert "1 overdue" in page
    assert pledge.title not in page
    assert "1 review overdue" in _text(client.get("/").text)
    rows = {int(r["commitment_id"]) for r in _csv(client.get("/reviews/due.csv").text)}
    assert rows == {plan.id}
    # …the calendar moves the same event (same UID, higher SEQUENCE) rather than adding one…
    event = _events(_calendar(client))[review_uid]
    assert event.decoded("DTSTART") == dt.date(2021, 12, 1)
    assert str(event["SUMMARY"]).startswith("Review: UK funding")
    assert int(event["SEQUENCE"]) > sequence_before

    # …it appears in the status timeline with its evidence…
    detail = _text(client.get(f"/commitments/{pledge.id}").text)
    assert "1 June 2021 — In progress 40% progress by Test reviewer (current)" in detail
    assert "Funding agreed; first payments not yet seen." in detail
    assert "The UK has pledged" in detail
    assert "Next review by 1 December 2021 scheduled" in detail

    # …and in the Atom feed.
    feed = feedparser.parse(client.get("/changes.atom").content)
    assert not feed.bozo, feed.get("bozo_exception")
    newest = feed.entries[0]
    assert newest.title == f"Reviewed “{pledge.title}”: In progress"
    assert newest.link == f"http://testserver/commitments/{pledge.id}"
    assert "status: not_yet_assessed → in_progress" in newest.content[0].value


# ------------------------------------------------------------------ queue


def test_due_window_and_urgency_order(client: TestClient, demo: Session, clock: FixedClock) -> None:
    clock.set(dt.date(2021, 5, 1))  # 27 days before: due, not overdue
    page = _text(client.get("/reviews/due").text)
    assert "0 overdue · 2 due" in page
    assert "Due by 28 May 2021 in 27 days" in page
    clock.set(dt.date(2021, 4, 1))  # 57 days before: outside the 30-day window
    assert "Nothing is due or overdue" in client.get("/reviews/due").text
    # Most urgent first: an earlier review date comes before a later one.
    plan = _plan(demo)
    plan.next_review_on = dt.date(2021, 5, 20)
    demo.commit()
    items = review_queue.review_queue(demo, today=JUNE_1, window_days=30)
    assert [i.commitment.id for i in items] == [plan.id, _pledge(demo).id]
    assert [i.days for i in items] == [12, 4]


def test_queue_filters_by_actor_role_and_tag(client: TestClient, demo: Session) -> None:
    france = _actor(demo, "French Ministry of the Interior")
    home_office = _actor(demo, "UK Home Office")
    pledge, plan = _pledge(demo), _plan(demo)

    def ids(query: str) -> set[int]:
        response = client.get(f"/reviews/due.csv?{query}")
        assert response.status_code == 200
        return {int(r["commitment_id"]) for r in _csv(response.text)}

    assert ids(f"actor={france.id}") == {pledge.id, plan.id}  # recipient of one, maker of other
    assert ids(f"actor={france.id}&role=recipient") == {pledge.id}
    assert ids(f"actor={france.id}&role=maker") == {plan.id}
    assert ids(f"actor={home_office.id}&role=recipient") == set()
    assert ids("tag=funding") == {pledge.id}
    assert ids("tag=joint-operational-plan") == {plan.id}
    page = client.get(f"/reviews/due?actor={france.id}&role=recipient").text
    assert "Review queue: French Ministry of the Interior" in _text(page)
    assert f'href="/reviews.ics?actor={france.id}&amp;role=recipient"' in page


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("actor=999999", 400),
        ("tag=no-such-tag", 400),
        ("actor=abc", 400),
        ("actor=0", 400),
        ("role=maker", 400),
        ("actor=1&role=boss", 400),
    ],
)
@pytest.mark.parametrize("path", ["/reviews/due", "/reviews/due.csv", "/reviews.ics"])
def test_bad_filters_are_clear_4xx(
    client: TestClient, demo: Session, path: str, query: str, status: int
) -> None:
    response = client.get(f"{path}?{query}")
    assert response.status_code == status


def test_drafts_never_reach_the_queue_counts_or_calendar(client: TestClient, demo: Session) -> None:
    draft = Commitment(
        kind="action",
        title="A draft pledge nobody may see",
        announced_on=dt.date(2021, 1, 1),
        next_review_on=dt.date(2021, 2, 1),
        deadline_end_on=dt.date(2021, 3, 1),
        deadline_start_on=dt.date(2021, 3, 1),
        deadline_precision="day",
        state=PublicationState.draft,
    )
    demo.add(draft)
    demo.flush()
    demo.add(
        CommitmentActor(
            commitment_id=draft.id,
            actor_id=_actor(demo, "UK Home Office").id,
            role="maker",
        )
    )
    demo.commit()
    assert "nobody may see" not in client.get("/reviews/due").text
    assert "nobody may see" not in client.get("/reviews/due.csv").text
    assert "2 reviews overdue" in _text(client.get("/").text)
    ics = client.get("/reviews.ics").text
    assert "nobody may see" not in ics
    assert f"commitment-{draft.id}-" not in ics


def test_counts_include_deadlines_and_never_reviewed(demo: Session) -> None:
    counts = review_queue.queue_counts(demo, today=JUNE_1, window_days=30)
    assert counts.review_overdue == 2
    assert counts.review_due == 0
    # The plan and its four measures have the fuzzy "coming days" deadline, long passed.
    assert counts.deadline_overdue == 5
    assert counts.never_reviewed == 7  # 11 commitments, 4 reviewed by the statement itself
    filtered = review_queue.queue_counts(
        demo, today=JUNE_1, window_days=30, filters=DueFilters(tag="funding")
    )
    assert (filtered.review_overdue, filtered.deadline_overdue) == (1, 0)


def test_csv_neutralises_formula_titles(client: TestClient, demo: Session) -> None:
    pledge = _pledge(demo)
    pledge.title = '=HYPERLINK("http://evil")'
    demo.commit()
    rows = _csv(client.get("/reviews/due.csv").text)
    assert '\'=HYPERLINK("http://evil")' in [r["title"] for r in rows]


# --------------------------------------------------------------- calendar


def test_calendar_has_review_and_deadline_events_with_stable_uids(
    client: TestClient, demo: Session
) -> None:
    plan = _plan(demo)
    first = client.get("/reviews.ics").content
    assert first == client.get("/reviews.ics").content  # byte-identical when nothing changed
    calendar = Calendar.from_ical(first)
    assert str(calendar["VERSION"]) == "2.0"
    events = _events(calendar)
    # Two commitments with a review date; five with the "coming days" deadline.
    assert sum(uid.endswith("-review@testserver") for uid in events) == 2
    assert sum(uid.endswith("-deadline@testserver") for uid in events) == 5
    assert len(events) == len(list(calendar.walk("VEVENT")))  # no duplicate UIDs
    deadline = events[f"commitment-{plan.id}-deadline@testserver"]
    # All-day on the last day of the fuzzy reading; DTEND is exclusive.
    assert deadline.decoded("DTSTART") == dt.date(2020, 12, 12)
    assert deadline.decoded("DTEND") == dt.date(2020, 12, 13)
    assert str(deadline["SUMMARY"]).startswith("Deadline (approximate) passed: New UK–France")
    description = str(deadline["DESCRIPTION"])
    assert "“This plan will be effective in the coming days”" in description
    assert "about 28 November 2020 – 12 December 2020 (fuzzy)" in description
    assert "Fuzzy: the source gives no exact date" in description
    assert str(deadline["URL"]) == f"http://testserver/commitments/{plan.id}"
    assert f"http://testserver/commitments/{plan.id}" in description
    review = events[f"commitment-{plan.id}-review@testserver"]
    assert "“Within the next 6 months”" in str(review["DESCRIPTION"])


def test_calendar_honours_filters(client: TestClient, demo: Session) -> None:
    france = _actor(demo, "French Ministry of the Interior")
    pledge = _pledge(demo)
    calendar = _calendar(client, f"?actor={france.id}&role=recipient")
    assert set(_events(calendar)) == {f"commitment-{pledge.id}-review@testserver"}
    assert "French Ministry of the Interior" in str(calendar["X-WR-CALNAME"])
    calendar = _calendar(client, "?tag=technology")
    assert all(uid.endswith("-deadline@testserver") for uid in _events(calendar))


def test_state_filter_splits_overdue_from_due(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    plan, pledge = _plan(demo), _pledge(demo)
    plan.next_review_on = dt.date(2021, 6, 10)  # due in 9 days; the pledge stays overdue
    demo.commit()

    def ids(query: str) -> list[int]:
        return [int(r["commitment_id"]) for r in _csv(client.get(f"/reviews/due.csv{query}").text)]

    assert ids("") == [pledge.id, plan.id]
    assert ids("?state=overdue") == [pledge.id]
    assert ids("?state=due") == [plan.id]
    page = client.get("/reviews/due?state=due&tag=joint-operational-plan")
    assert page.status_code == 200
    assert plan.title in page.text
    assert pledge.title not in page.text
    assert 'href="/reviews/due.csv?tag=joint-operational-plan&amp;state=due"' in page.text
    assert client.get("/reviews/due?state=scheduled").status_code == 400
    panel = client.get("/").text
    assert 'href="/reviews/due?state=overdue"' in panel
    assert "1 review overdue" in _text(panel)
    assert "1 review due in the next 30 days" in _text(panel)


def test_calendar_without_events_is_still_a_valid_calendar(
    client: TestClient, demo: Session
) -> None:
    # The four "recent efforts" have neither a deadline nor a review date.
    calendar = _calendar(client, "?tag=recent-efforts")
    assert list(calendar.walk("VEVENT")) == []
    assert str(calendar["PRODID"]) == "-//Pledge Tracker//Reviews and deadlines//EN"
