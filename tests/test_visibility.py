"""Readers never see drafts or deleted records, however they are reached.

Drafts are never shown to readers (anonymous API callers, read tokens, and
people not signed in): not as records, and not as a title behind a link
from a published record, a quote on a source's page, an actor a report
names, or a change on the dashboard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account, Commitment
from app.services import tokens
from app.vocab import CommitmentKind, PublicationState
from tests.editing_helpers import HTML, cheap_hashing, make_account, sign_in  # noqa: F401

PUBLISHED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DELETED_AT = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


def _token(session: Session, clock: FixedClock, scope: str) -> dict[str, str]:
    account = session.scalars(select(Account).where(Account.email == "api@example.org")).first()
    if account is None:
        account = Account(
            email="api@example.org", password_hash="x", role="editor", display_name="Ada"
        )
        session.add(account)
        session.flush()
    issued = tokens.create_token(session, account, name=scope, scope=scope, now=clock.now())
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def _commitment(
    session: Session,
    title: str,
    *,
    published: bool = True,
    deleted: bool = False,
    **extra: object,
) -> Commitment:
    commitment = Commitment(
        kind=CommitmentKind.action,
        title=title,
        announced_on=dt.date(2020, 11, 28),
        state=PublicationState.published if published else PublicationState.draft,
        published_at=PUBLISHED_AT if published else None,
        deleted_at=DELETED_AT if deleted else None,
        **extra,
    )
    session.add(commitment)
    session.flush()
    return commitment


# ------------------------------------------------ 1. links to other commitments


@dataclass
class Links:
    public: Commitment
    draft_parent: Commitment
    deleted_top_up: Commitment
    draft_superseded: Commitment


@pytest.fixture
def links(session: Session) -> Links:
    draft_parent = _commitment(session, "Secret draft plan", published=False)
    deleted_top_up = _commitment(session, "Deleted earlier pledge", deleted=True)
    draft_superseded = _commitment(session, "Unannounced old pledge", published=False)
    public = _commitment(
        session,
        "Public measure",
        parent_id=draft_parent.id,
        tops_up_id=deleted_top_up.id,
        supersedes_id=draft_superseded.id,
    )
    session.commit()
    return Links(public, draft_parent, deleted_top_up, draft_superseded)


HIDDEN_TITLES = ("Secret draft plan", "Deleted earlier pledge", "Unannounced old pledge")


@pytest.mark.parametrize("scope", [None, "read"])
def test_api_readers_never_see_draft_or_deleted_links(
    client: TestClient, session: Session, clock: FixedClock, links: Links, scope: str | None
) -> None:
    headers = _token(session, clock, scope) if scope else {}
    response = client.get(f"/api/v1/commitments/{links.public.id}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["parent"], body["tops_up"], body["supersedes"]) == (None, None, None)
    for title in HIDDEN_TITLES:
        assert title not in response.text


def test_api_write_tokens_see_draft_links_but_not_deleted_ones(
    client: TestClient, session: Session, clock: FixedClock, links: Links
) -> None:
    body = client.get(
        f"/api/v1/commitments/{links.public.id}", headers=_token(session, clock, "write")
    ).json()
    assert body["parent"]["title"] == "Secret draft plan"
    assert body["supersedes"]["title"] == "Unannounced old pledge"
    # Deleted records are hidden from editors too: the link would lead to a 404.
    assert body["tops_up"] is None


def test_page_readers_never_see_draft_or_deleted_links(client: TestClient, links: Links) -> None:
    page = client.get(f"/commitments/{links.public.id}", headers=HTML)
    assert page.status_code == 200
    assert "Public measure" in page.text
    for title in HIDDEN_TITLES:
        assert title not in page.text
    for linked in (links.draft_parent, links.deleted_top_up, links.draft_superseded):
        assert f'href="/commitments/{linked.id}"' not in page.text


def test_page_editors_see_draft_links(client: TestClient, session: Session, links: Links) -> None:
    assert sign_in(client, make_account(session, "ed@example.org")).status_code == 303
    page = client.get(f"/commitments/{links.public.id}", headers=HTML)
    assert "Secret draft plan" in page.text
    assert "Unannounced old pledge" in page.text
    assert "Deleted earlier pledge" not in page.text


def test_published_links_still_show(client: TestClient, session: Session) -> None:
    plan = _commitment(session, "Joint operational plan")
    measure = _commitment(session, "A measure", parent_id=plan.id, supersedes_id=plan.id)
    session.commit()
    body = client.get(f"/api/v1/commitments/{measure.id}").json()
    assert body["parent"]["title"] == "Joint operational plan"
    assert body["supersedes"]["title"] == "Joint operational plan"
    assert "Joint operational plan" in client.get(f"/commitments/{measure.id}", headers=HTML).text
