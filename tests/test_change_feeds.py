"""The public change list, its Atom feed and CSV: published changes only, filterable, paged."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Account, ChangeRecord, Commitment, MoneyFlow
from app.services import changes, feeds
from app.services.feeds import ChangeFilters
from app.vocab import ChangeAction, PublicationState


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _atom(client: TestClient, query: str = "") -> feedparser.FeedParserDict:
    response = client.get(f"/changes.atom{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def _csv(client: TestClient, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/changes.csv{query}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


def _draft_with_changes(session: Session) -> Commitment:
    draft = Commitment(
        kind="action",
        title="Secret draft measure",
        announced_on=dt.date(2021, 1, 1),
        state=PublicationState.draft,
    )
    session.add(draft)
    session.flush()
    changes.record(
        session, action=ChangeAction.create, entity=draft, summary="Added Secret draft measure"
    )
    session.add(MoneyFlow(commitment_id=draft.id, stage="pledge", amount_minor=100, currency="EUR"))
    session.flush()
    flow = session.scalars(select(MoneyFlow).where(MoneyFlow.commitment_id == draft.id)).one()
    # A money flow has no state of its own: core marks its change public. The
    # feed still hides it, because the commitment it belongs to is a draft.
    changes.record(
        session, action=ChangeAction.create, entity=flow, summary="Secret flow of €1", public=True
    )
    session.commit()
    return draft


def test_atom_feed_is_valid_and_lists_published_changes(client: TestClient, demo: Session) -> None:
    feed = _atom(client)
    public = demo.scalar(
        select(func.count()).select_from(ChangeRecord).where(ChangeRecord.is_public.is_(True))
    )
    assert len(feed.entries) == public == 18  # 3 actors, 1 source, 11 commitments, 3 indicators
    assert feed.feed.title == "Pledge Tracker: changes"
    assert feed.feed.id == "http://testserver/changes.atom"
    newest = feed.entries[0]
    assert newest.title.startswith("Added indicator")
    assert newest.author == "demo loader"
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == len(ids)
    commitment = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    entry = next(e for e in feed.entries if e.title == f"Added commitment {commitment.title}")
    assert entry.link == f"http://testserver/commitments/{commitment.id}"
    assert {t.term for t in entry.tags} == {"create", "commitments"}


def test_drafts_and_their_changes_never_appear(client: TestClient, demo: Session) -> None:
    draft = _draft_with_changes(demo)
    assert "Secret" not in client.get("/changes.atom").text
    assert "Secret" not in client.get("/changes").text
    assert "Secret" not in client.get("/changes.csv").text
    assert "Secret" not in client.get("/changes.atom?type=money_flows").text
    # Published, then taken back to draft: its earlier public history leaves the feeds too.
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    assert pledge.title in client.get("/changes.atom").text
    pledge.state = PublicationState.draft
    demo.commit()
    assert pledge.title not in client.get("/changes.atom").text
    assert pledge.title not in client.get("/changes.csv").text
    assert draft.id  # the draft itself was never visible


def test_account_changes_never_appear_even_if_marked_public(
    client: TestClient, demo: Session
) -> None:
    account = Account(email="editor@example.org", password_hash="x" * 40, display_name="Ed")
    demo.add(account)
    demo.flush()
    changes.record(demo, action=ChangeAction.create, entity=account, summary="Account for Ed")
    demo.commit()
    assert demo.scalars(select(ChangeRecord).where(ChangeRecord.entity_type == "accounts")).one()
    for path in ("/changes", "/changes.atom", "/changes.csv"):
        body = client.get(path).text
        assert "Account for Ed" not in body
        assert "editor@example.org" not in body


def test_filters_by_type_action_and_record(client: TestClient, demo: Session) -> None:
    feed = _atom(client, "?type=actors")
    assert len(feed.entries) == 3
    assert feed.feed.id == "http://testserver/changes.atom?type=actors"
    assert all(e.title.startswith("Added actor") for e in feed.entries)
    assert _atom(client, "?action=review").entries == []
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    rows = _csv(client, f"?type=commitments&id={pledge.id}")
    assert [r["summary"] for r in rows] == [f"Added commitment {pledge.title}"]
    assert rows[0]["url"] == f"http://testserver/commitments/{pledge.id}"
    page = _text(client.get("/changes?type=actors").text)
    assert "Added actor UK Home Office" in page
    assert "Added commitment" not in page


BAD_FILTERS = ["?type=accounts", "?type=nope", "?action=explode", "?id=3", "?id=x"]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        *(
            (path, query)
            for path in ("/changes", "/changes.atom", "/changes.csv")
            for query in BAD_FILTERS
        ),
        ("/changes", "?before=0"),
        ("/changes", "?before=abc"),
    ],
)
def test_bad_filters_are_400(client: TestClient, demo: Session, path: str, query: str) -> None:
    assert client.get(f"{path}{query}").status_code == 400


def test_keyset_pages_cover_everything_once(client: TestClient, demo: Session) -> None:
    everything = [item.id for item in feeds.iter_changes(demo)]
    assert everything == sorted(everything, reverse=True)
    seen: list[int] = []
    before = None
    while True:
        page = feeds.list_changes(demo, ChangeFilters(), before_id=before, limit=5)
        seen.extend(item.id for item in page.items)
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == everything
    # Over HTTP, 50 a page: add enough public changes to need a second page.
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    for n in range(40):
        changes.record(demo, action=ChangeAction.update, entity=pledge, summary=f"Edit number {n}")
    demo.commit()
    first = client.get("/changes").text
    match = re.search(r'href="/changes\?before=(\d+)"', first)
    assert match is not None
    second = client.get(f"/changes?before={match.group(1)}").text
    first_ids = set(re.findall(r'id="change-(\d+)"', first))
    second_ids = set(re.findall(r'id="change-(\d+)"', second))
    assert len(first_ids) == 50
    assert len(second_ids) == 58 - 50
    assert not first_ids & second_ids
    assert "Newest changes" in second


def test_change_list_page_shows_who_and_what_changed(client: TestClient, demo: Session) -> None:
    pledge = demo.scalars(select(Commitment).where(Commitment.kind == "funding")).one()
    before = changes.snapshot(pledge)
    pledge.summary = "<script>alert(1)</script>"
    demo.flush()
    changes.record(
        demo,
        action=ChangeAction.update,
        entity=pledge,
        summary="Edited the summary",
        before=before,
        actor_label="A researcher",
    )
    demo.commit()
    response = client.get("/changes")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    page = _text(response.text)
    assert "Edited the summary" in page
    assert "A researcher" in page
    entry = _atom(client).entries[0]
    assert entry.title == "Edited the summary"
    assert "summary:" in entry.content[0].value
    assert "<script>alert(1)</script>" in entry.content[0].value  # text content, escaped in XML
