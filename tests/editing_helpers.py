"""Helpers for the editing tests: accounts, signing in, CSRF tokens, posting forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from app.clock import FixedClock
from app.models import Account
from app.services import accounts, tokens

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with tiny costs: the same code path, a hundred times faster to test.

    Production uses pwdlib's recommended costs (64 MiB, 3 passes: about 0.8 s
    per hash on the 2-core test machine), which would dominate the suite.
    """
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)


HTML = {"accept": "text/html"}


def make_account(session: Session, email: str, role: str = "editor") -> Account:
    account = accounts.create_account(session, email, PASSWORD, role=role, actor_label="test")
    session.commit()
    return account


def csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path, headers=HTML)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def sign_in(client: TestClient, account: Account, password: str = PASSWORD) -> Response:
    token = csrf(client)
    response = client.post(
        "/login",
        data={"email": account.email, "password": password, "csrf_token": token, "next": "/edit"},
        headers=HTML,
        follow_redirects=False,
    )
    return response


def post(
    client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Response:
    """Post a form with this client's CSRF token, as a browser would."""
    token = csrf(client, "/login")
    body = dict(data or {})
    body["csrf_token"] = token
    headers = kwargs.pop("headers", HTML)
    return client.post(path, data=body, headers=headers, follow_redirects=False, **kwargs)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name}"
    return match.group(1)


def bearer(session: Session, account: Account, clock: FixedClock, scope: str = "write") -> dict:
    """`Authorization` headers with a new API token of this account."""
    issued = tokens.create_token(session, account, name=scope, scope=scope, now=clock.now())
    session.commit()
    return {"Authorization": f"Bearer {issued.token}"}


def api_headers(session: Session, clock: FixedClock, scope: str) -> dict[str, str]:
    """A token of the API test account (made on first use), as `Authorization` headers."""
    from sqlalchemy import select

    account = session.scalars(select(Account).where(Account.email == "api@example.org")).first()
    if account is None:
        account = Account(
            email="api@example.org", password_hash="x", role="editor", display_name="Ada"
        )
        session.add(account)
        session.flush()
    return bearer(session, account, clock, scope)
