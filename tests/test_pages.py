"""The first pages: correct, escaped, and showing only what readers may see."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Commitment, MoneyFlow
from app.vocab import PublicationState
from tests.sql_helpers import selects


def _funding_pledge(session: Session) -> Commitment:
    return session.scalars(select(Commitment).where(Commitment.kind == "funding")).one()


def _text(html: str) -> str:
    """The page's visible text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_funding_pledge_page_shows_amount_quote_source_and_review(
    client: TestClient, demo: Session
) -> None:
    pledge = _funding_pledge(demo)
    response = client.get(f"/commitments/{pledge.id}")
    assert response.status_code == 200
    page = _text(response.text)
    assert "€31.4 million" in page
    assert "“a further financial investment of €31.4 million”" in page
    assert "€31,400,000.00" in page  # the exact value beside the wording
    assert (
        "The UK has pledged to make a further financial investment of €31.4 million to support "
        "France’s significant efforts against small boats in the above areas." in page
    )
    assert "Home Office, 28 November 2020 — para 8" in page  # publisher, date, locator
    assert "due by 28 May 2021" in page
    assert "€31.4 million promised; no payment recorded" in page


def test_commitment_list_shows_published_commitments(client: TestClient, demo: Session) -> None:
    response = client.get("/commitments")
    assert response.status_code == 200
    assert "11 commitments published" in _text(response.text)
    assert "Joint intelligence cell (JIC)" in response.text


def test_dashboard_totals_by_currency_and_reviews_due(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = _text(response.text)
    assert "EUR pledge €31.4 million 1" in page
    # 15 January 2021: the review of 28 May 2021 is more than 30 days away.
    assert "No reviews due" in page
    assert "Due 28 May 2021" not in page
    # Within 30 days of it, it is coming due (not yet overdue).
    clock.set(dt.date(2021, 5, 10))
    page = _text(client.get("/").text)
    assert "Due 28 May 2021" in page
    assert "No reviews due" not in page


def test_overdue_review_is_flagged_after_its_date(
    client: TestClient, demo: Session, clock: FixedClock
) -> None:
    clock.set(dt.date(2021, 6, 1))
    page = _text(client.get("/").text)
    assert "Overdue since 28 May 2021" in page


def test_drafts_are_invisible_to_readers(client: TestClient, session: Session) -> None:
    draft = Commitment(kind="action", title="Secret draft", announced_on=dt.date(2024, 1, 1))
    session.add(draft)
    session.commit()
    assert draft.state == PublicationState.draft
    assert client.get(f"/commitments/{draft.id}").status_code == 404
    assert "Secret draft" not in client.get("/commitments").text


def test_user_text_is_escaped(client: TestClient, session: Session) -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    commitment = Commitment(
        kind="action",
        title=hostile,
        summary=hostile,
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    session.add(commitment)
    session.flush()
    session.add(
        MoneyFlow(
            commitment=commitment,
            stage="pledge",
            amount_minor=100,
            currency="GBP",
            amount_text=hostile,
        )
    )
    session.commit()
    for url in (f"/commitments/{commitment.id}", "/commitments"):
        body = client.get(url).text
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_unsourced_commitment_is_marked(client: TestClient, session: Session) -> None:
    commitment = Commitment(
        kind="target",
        title="No quote",
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    session.add(commitment)
    session.commit()
    assert "No source quoted" in client.get(f"/commitments/{commitment.id}").text
    assert "unsourced" in client.get("/commitments").text


def test_missing_and_malformed_ids_get_clear_answers(client: TestClient) -> None:
    missing = client.get("/commitments/987654")
    assert missing.status_code == 404
    assert "no published commitment 987654" in missing.text
    malformed = client.get("/commitments/abc")
    assert malformed.status_code == 400
    assert "commitment_id" in malformed.text
    huge = client.get("/commitments/" + "9" * 40)
    assert huge.status_code == 400
    assert client.get("/commitments/0").status_code == 400


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_pages_never_lazy_load(client: TestClient, demo: Session) -> None:
    """Relationships raise on lazy load, so a page that rendered loaded everything up front."""
    for commitment in demo.scalars(select(Commitment)).all():
        assert client.get(f"/commitments/{commitment.id}").status_code == 200


def test_commitment_page_queries_only_the_collections_it_has(
    client: TestClient, demo: Session, engine: Engine
) -> None:
    """One query for a bare commitment; one more per collection it has, never per row."""
    bare = Commitment(
        kind="target",
        title="Nothing attached",
        announced_on=dt.date(2024, 1, 1),
        state=PublicationState.published,
    )
    demo.add(bare)
    demo.commit()
    with selects(engine) as statements:
        response = client.get(f"/commitments/{bare.id}")
    assert response.status_code == 200
    assert "No source quoted" in response.text
    assert "Not reviewed yet" in response.text
    assert len(statements) == 1, statements

    pledge = _funding_pledge(demo)
    with selects(engine) as statements:
        response = client.get(f"/commitments/{pledge.id}")
    assert "€31.4 million promised; no payment recorded" in response.text
    # The commitment, then its tags, quotes, money flows and reviews: one query each
    # however many rows (their quotes and sources are joined into the same query);
    # and the money's totals per currency and stage, from the one totals query.
    assert 2 <= len(statements) <= 6, statements
    assert sum("GROUP BY" in s for s in statements) == 1


def test_a_payment_in_another_currency_is_not_shown_as_paid_of_nothing(
    client: TestClient, demo: Session
) -> None:
    pledge = _funding_pledge(demo)
    demo.add(
        MoneyFlow(
            commitment_id=pledge.id,
            stage="disbursement",
            amount_minor=2_810_000_000,
            currency="GBP",
            stated_equivalent_minor=3_140_000_000,
            stated_equivalent_currency="EUR",
        )
    )
    demo.commit()
    page = _text(client.get(f"/commitments/{pledge.id}").text)
    assert "£28.1 million paid; no pledge or commitment recorded in GBP" in page
    assert "of £0.00 promised" not in page
    assert "€31.4 million promised; no payment recorded" in page


def test_reloading_a_commitment_keeps_its_collections_in_memory(demo: Session) -> None:
    """Loading again in the same session (as the API does after a write) never replaces
    a collection already loaded, just as selectinload would not."""
    from app.services import commitments

    pledge = commitments.get_commitment(demo, _funding_pledge(demo).id)
    assert pledge is not None
    extra = MoneyFlow(stage="disbursement", amount_minor=5, currency="EUR")
    pledge.money_flows.append(extra)  # pending: not flushed (autoflush is off)
    again = commitments.get_commitment(demo, pledge.id)
    assert again is pledge
    assert extra in again.money_flows
