"""API tokens on the account page: created (secret shown once), listed, revoked, own only."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import ApiToken
from app.services import tokens
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    cheap_hashing,  # noqa: F401
    make_account,
    post,
    sign_in,
    text_of,
)


def _secret(html: str) -> str:
    match = re.search(r'id="new-secret"[^>]*value="(pt_[^"]+)"', html)
    assert match, "no secret on the page"
    return match.group(1)


def _count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ApiToken)) or 0


@pytest.fixture
def editor_client(client: TestClient, session: Session) -> TestClient:
    account = make_account(session, "ed@example.org")
    assert sign_in(client, account).status_code == 303
    return client


def test_account_page_needs_sign_in(client: TestClient) -> None:
    response = client.get("/account", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Faccount")
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 403  # no CSRF


def test_create_shows_the_secret_once_and_it_authenticates(
    editor_client: TestClient, session: Session, clock: FixedClock
) -> None:
    client = editor_client
    page = client.get("/account", headers=HTML)
    assert page.status_code == 200
    assert "You have no API tokens" in page.text
    assert 'href="/account"' in page.text  # the account nav links here

    created = post(
        client, "/account/tokens", {"name": "nightly import", "scope": "read", "expires_days": "30"}
    )
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    secret = _secret(created.text)
    assert "it will not be shown again" in text_of(created.text)
    record = session.scalars(select(ApiToken)).one()
    assert record.name == "nightly import"
    assert record.scope == "read"
    assert record.token_hash == tokens.hash_token(secret)
    assert secret not in record.token_hash
    assert record.expires_at is not None
    assert (record.expires_at - clock.now()).days == 30

    # Never again: not on the account page, not in a redirect.
    again = client.get("/account", headers=HTML)
    assert secret not in again.text
    assert "nightly import" in again.text
    assert "never" in text_of(again.text)  # not used yet

    api = client.get("/api/v1/commitments", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    listed = client.get("/account", headers=HTML).text
    row = listed.split(f'id="token-{record.id}"', 1)[1].split("</tr>", 1)[0]
    assert clock.now().strftime("%Y-%m-%d %H:%M") in row  # last used


def test_write_scope_and_default_expiry(
    editor_client: TestClient, session: Session, clock: FixedClock
) -> None:
    created = post(editor_client, "/account/tokens", {"name": "writer", "scope": "write"})
    assert created.status_code == 200
    record = session.scalars(select(ApiToken)).one()
    assert record.scope == "write"
    assert record.expires_at is not None
    assert (record.expires_at - clock.now()).days == 90
    caller = tokens.authenticate(session, _secret(created.text), now=clock.now())
    assert caller is not None
    assert caller.can_write


def test_revoke_makes_the_token_401(
    editor_client: TestClient, session: Session, clock: FixedClock
) -> None:
    client = editor_client
    created = post(client, "/account/tokens", {"name": "soon gone", "scope": "read"})
    secret = _secret(created.text)
    record = session.scalars(select(ApiToken)).one()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/totals", headers=auth).status_code == 200

    revoked = post(client, f"/account/tokens/{record.id}/revoke")
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/account?revoked={record.id}"
    assert client.get("/api/v1/totals", headers=auth).status_code == 401
    page = client.get(revoked.headers["location"], headers=HTML).text
    assert "“soon gone” is revoked" in page
    row = page.split(f'id="token-{record.id}"', 1)[1].split("</tr>", 1)[0]
    assert "revoked" in row
    assert "Revoke</button>" not in row


def test_revoke_needs_the_csrf_token(
    editor_client: TestClient, session: Session, clock: FixedClock
) -> None:
    account = make_account(session, "owner@example.org")
    record = tokens.create_token(session, account, name="t", scope="read", now=clock.now()).record
    session.commit()
    response = editor_client.post(f"/account/tokens/{record.id}/revoke", headers=HTML)
    assert response.status_code == 403
    session.refresh(record)
    assert record.revoked_at is None


def test_another_account_cannot_see_or_revoke_it(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    owner = make_account(session, "owner@example.org")
    issued = tokens.create_token(session, owner, name="owner's", scope="write", now=clock.now())
    session.commit()

    other = make_account(session, "other@example.org")
    assert sign_in(client, other).status_code == 303
    page = client.get("/account", headers=HTML).text
    assert "owner&#39;s" not in page
    assert "owner's" not in page
    assert client.get(f"/account?revoked={issued.record.id}", headers=HTML).status_code == 200
    assert "is revoked" not in client.get(f"/account?revoked={issued.record.id}", headers=HTML).text

    response = post(client, f"/account/tokens/{issued.record.id}/revoke")
    assert response.status_code == 404
    session.refresh(issued.record)
    assert issued.record.revoked_at is None
    api = client.get("/api/v1/totals", headers={"Authorization": f"Bearer {issued.token}"})
    assert api.status_code == 200
    assert post(client, "/account/tokens/999999/revoke").status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "", "scope": "read", "expires_days": "30"}, "name", "Give the token a name"),
        ({"name": "   ", "scope": "read", "expires_days": "30"}, "name", "Give the token a name"),
        ({"name": "\x00", "scope": "read", "expires_days": "30"}, "name", "Give the token a name"),
        ({"name": "x" * 101, "scope": "read", "expires_days": "30"}, "name", "At most 100"),
        ({"name": "ok", "scope": "admin", "expires_days": "30"}, "scope", "Choose read or write"),
        ({"name": "ok", "scope": "", "expires_days": "30"}, "scope", "Choose read or write"),
        ({"name": "ok", "scope": "read", "expires_days": "0"}, "expires_days", "from 1 to 365"),
        ({"name": "ok", "scope": "read", "expires_days": "366"}, "expires_days", "from 1 to 365"),
        ({"name": "ok", "scope": "read", "expires_days": "99999999999999"}, "expires_days", "1"),
        ({"name": "ok", "scope": "read", "expires_days": "-5"}, "expires_days", "from 1 to 365"),
        ({"name": "ok", "scope": "read", "expires_days": "ten"}, "expires_days", "from 1"),
        ({"name": "ok", "scope": "read", "expires_days": "1e3"}, "expires_days", "from 1"),
        ({"name": "ok", "scope": "read", "expires_days": "٣"}, "expires_days", "from 1"),
    ],
)
def test_bad_input_is_422_with_a_message_and_nothing_written(
    editor_client: TestClient, session: Session, form: dict[str, str], field: str, message: str
) -> None:
    response = post(editor_client, "/account/tokens", form)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="t-{field}-err"' in response.text
    assert 'id="new-secret"' not in response.text
    assert _count(session) == 0
    # What was typed is kept (but a bad scope falls back to read).
    if field != "name":
        assert 'value="ok"' in response.text


def test_a_nul_in_the_token_name_is_dropped_not_a_server_error(
    editor_client: TestClient, session: Session
) -> None:
    """PostgreSQL refuses NUL in text: the form drops it, as every other form does."""
    response = post(editor_client, "/account/tokens", {"name": "a\x00b", "scope": "read"})
    assert response.status_code == 200
    assert _count(session) == 1
    assert "ab" in response.text


def test_the_page_is_labelled(editor_client: TestClient) -> None:
    page = post(editor_client, "/account/tokens", {"name": "a", "scope": "read"}).text
    for control in ("t-name", "t-scope-read", "t-scope-write", "t-expires_days", "new-secret"):
        assert f'<label for="{control}"' in page, control
    assert 'aria-label="Revoke token a"' in page
