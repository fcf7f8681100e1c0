"""The review queue, its CSV, the dashboard panel and the calendar feed, at chosen dates."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import feedparser
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.config import Settings
from app.models import Actor, Commitment, CommitmentActor, Source
from app.services import browse, review_queue
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


# ------------------------------------------------------------------ pages


def _queue_rows(demo: Session, count: int) -> list[Commitment]:
    """`count` published commitments for France, due or overdue on JUNE_1, several on one day.

    With the demo's two overdue reviews (28 May, both France's) and one
    commitment of another actor, so the actor filter has something to leave out.
    """
    france = _actor(demo, "French Ministry of the Interior")
    other = _actor(demo, "UK Home Office")
    made = []
    for n in range(count):
        # Three on each day, from 20 May (overdue) to the window's last days (due).
        day = dt.date(2021, 5, 20) + dt.timedelta(days=(n // 3) * 4)
        commitment = Commitment(
            kind="action",
            title=f"Paged review {n:02d}",
            announced_on=dt.date(2021, 1, 1),
            next_review_on=day,
            state=PublicationState.published,
        )
        demo.add(commitment)
        made.append(commitment)
    stray = Commitment(
        kind="action",
        title="Paged review of another actor",
        announced_on=dt.date(2021, 1, 1),
        next_review_on=dt.date(2021, 5, 30),
        state=PublicationState.published,
    )
    demo.add(stray)
    demo.flush()
    for commitment in made:
        demo.add(CommitmentActor(commitment_id=commitment.id, actor_id=france.id, role="maker"))
    demo.add(CommitmentActor(commitment_id=stray.id, actor_id=other.id, role="maker"))
    demo.commit()
    return made


def _row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td><a href="/commitments/(\d+)">', page)]


def _rel(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize(("size", "state"), [(1, None), (4, None), (5, "due"), (3, "overdue")])
def test_queue_pages_walk_every_row_once_keeping_the_filters(
    client: TestClient, demo: Session, size: int, state: str | None
) -> None:
    _queue_rows(demo, 16)
    france = _actor(demo, "French Ministry of the Interior")
    filters = DueFilters(actor_id=france.id)
    review_state = ReviewState(state) if state else None
    expected = [
        i.commitment.id
        for i in review_queue.review_queue(
            demo, today=JUNE_1, window_days=30, filters=filters, state=review_state, limit=None
        )
    ]
    assert len(expected) > size
    query = f"actor={france.id}" + (f"&state={state}" if state else "")
    whole = client.get(f"/reviews/due?{query}&size=500").text
    assert _row_ids(whole) == expected
    url: str | None = f"/reviews/due?{query}&size={size}"
    pages = []
    while url:
        for part in (f"actor={france.id}", f"size={size}", f"state={state}" if state else ""):
            assert part in url
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.text)
        url = _rel(response.text, "next")
    assert [i for page in pages for i in _row_ids(page)] == expected
    assert len(pages) == -(-len(expected) // size)
    total = len(expected)
    assert f"Showing 1–{size} of {total}," in _text(pages[0])
    assert f"Showing {size + 1}–{min(total, 2 * size)} of {total}," in _text(pages[1])
    # Back from the last page to the first: the same rows, in the same order.
    backward: list[int] = []
    text = pages[-1]
    while True:
        backward[:0] = _row_ids(text)
        back = _rel(text, "prev")
        if back is None:
            break
        text = client.get(back).text
    assert backward == expected
    # The CSV has every row, whatever the page size.
    rows = _csv(client.get(f"/reviews/due.csv?{query}&size={size}").text)
    assert [int(r["commitment_id"]) for r in rows] == expected


def test_queue_count_and_state_links_keep_the_page_size(client: TestClient, demo: Session) -> None:
    made = _queue_rows(demo, 7)
    page = client.get("/reviews/due?size=3").text
    # 7 made, the demo's 2 and the other actor's: 10 rows due or overdue on 1 June.
    assert "Showing 1–3 of 10, most urgent first, 3 a page; the CSV has them all." in _text(page)
    assert 'href="/reviews/due?size=3&amp;state=overdue"' in page
    assert 'rel="prev"' not in page
    assert "First page" not in page
    second = client.get(_rel(page, "next") or "").text
    assert "Showing 4–6 of 10" in _text(second)
    assert "First page" in second
    assert made[0].title in page


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("size=0", "size"),
        ("size=501", "size"),
        ("size=lots", "size"),
        ("after=garbage", "after: page token is not valid"),
        ("before=" + "A" * 40, "before: page token is not valid"),
        ("after=x&before=y", "give either after or before, not both"),
        ("after=" + "x" * 301, "after"),
    ],
)
def test_bad_queue_paging_is_400(client: TestClient, demo: Session, query: str, words: str) -> None:
    response = client.get(f"/reviews/due?{query}")
    assert response.status_code == 400
    assert words in html.unescape(response.text)


def test_tampered_or_foreign_queue_tokens_are_400(
    client: TestClient, demo: Session, settings: Settings
) -> None:
    _queue_rows(demo, 4)
    url = _rel(client.get("/reviews/due?size=2").text, "next")
    assert url is not None
    assert client.get(url).status_code == 200
    token = url.split("after=", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    response = client.get(f"/reviews/due?size=2&after={flipped}")
    assert response.status_code == 400
    assert "page token is not valid" in response.text
    # A validly signed token of another list, or holding nonsense, is refused too.
    secret = settings.pledges_secret_key
    for cursor in (
        browse.Cursor("-announced", "2021-01-01", 1),
        browse.Cursor("reviews-due", "not a date", 1),
        browse.Cursor("reviews-due", None, 1),
    ):
        response = client.get(f"/reviews/due?after={browse.encode_cursor(cursor, secret)}")
        assert response.status_code == 400, cursor
        assert "page token" in response.text
