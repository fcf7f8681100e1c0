"""Accounts, sign-in, sessions, throttling, CSRF, security headers, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.clock import FixedClock
from app.models import Account, ChangeRecord, LoginThrottle
from app.services import accounts
from app.web.auth import SESSION_COOKIE, read_session, session_cookie_value
from tests.editing_helpers import (  # cheap_hashing: an autouse fixture
    HTML,
    PASSWORD,
    cheap_hashing,  # noqa: F401
    csrf,
    make_account,
    post,
    sign_in,
)


def test_password_is_hashed_with_argon2(session: Session) -> None:
    account = make_account(session, "ed@example.org")
    assert account.password_hash.startswith("$argon2")
    assert PASSWORD not in account.password_hash
    record = session.scalars(
        select(ChangeRecord).where(ChangeRecord.entity_type == "accounts")
    ).one()
    assert "password_hash" not in (record.after or {})
    assert record.is_public is False


def test_account_rules(session: Session) -> None:
    with pytest.raises(accounts.AccountError, match="at least 12"):
        accounts.create_account(session, "a@example.org", "short")
    with pytest.raises(accounts.AccountError, match="not an e-mail"):
        accounts.create_account(session, "nobody", PASSWORD)
    with pytest.raises(accounts.AccountError, match="unknown role"):
        accounts.create_account(session, "a@example.org", PASSWORD, role="owner")
    make_account(session, "Ed@Example.org")
    with pytest.raises(accounts.AccountError, match="exists already"):
        accounts.create_account(session, "ed@example.org", PASSWORD)


def test_sign_in_sets_a_safe_cookie_and_sign_out_clears_it(
    client: TestClient, session: Session
) -> None:
    account = make_account(session, "ed@example.org")
    wrong = sign_in(client, account, "not the password at all")
    assert wrong.status_code == 401
    assert "wrong e-mail or password" in wrong.text
    assert 'value="ed@example.org"' in wrong.text  # what was typed is kept

    response = sign_in(client, account)
    assert response.status_code == 303
    assert response.headers["location"] == "/edit"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests; Secure over HTTPS (next test)
    assert client.get("/edit", headers=HTML).status_code == 200

    out = post(client, "/logout")
    assert out.status_code == 303
    assert client.get("/edit", headers=HTML, follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(app: FastAPI, session: Session) -> None:
    account = make_account(session, "ed@example.org")
    with TestClient(app, base_url="https://testserver") as https_client:
        response = sign_in(https_client, account)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_forged_or_expired_session_is_ignored(session: Session) -> None:
    account = make_account(session, "ed@example.org")
    good = session_cookie_value("secret-one", account, now=1_000_000)
    assert read_session("secret-one", good, now=1_000_100) is not None
    assert read_session("secret-two", good, now=1_000_100) is None
    assert read_session("secret-one", good, now=1_000_000 + 13 * 3600) is None
    tampered = good.replace(good[0], "A" if good[0] != "A" else "B", 1)
    assert read_session("secret-one", tampered, now=1_000_100) is None


def test_disabled_account_is_refused_on_the_next_request(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    account = make_account(session, "ed@example.org")
    assert sign_in(client, account).status_code == 303
    assert client.get("/edit", headers=HTML).status_code == 200
    session.refresh(account)  # signing in changed it (last sign-in time)
    accounts.set_disabled(session, account, True, now=clock.now(), actor_label="test")
    session.commit()
    assert client.get("/edit", headers={"accept": "application/json"}).status_code == 401
    assert sign_in(client, account).status_code == 401


def test_password_reset_ends_existing_sessions(client: TestClient, session: Session) -> None:
    account = make_account(session, "ed@example.org")
    assert sign_in(client, account).status_code == 303
    session.refresh(account)
    accounts.reset_password(session, account, "another long password!", actor_label="test")
    session.commit()
    assert client.get("/edit", headers={"accept": "application/json"}).status_code == 401


def test_failed_sign_ins_are_slowed_per_account_in_the_database(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    account = make_account(session, "ed@example.org")
    for _ in range(accounts.FREE_FAILURES):
        assert sign_in(client, account, "wrong password, again").status_code == 401
    # Even the right password waits now: the count lives in the database.
    blocked = sign_in(client, account)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    rows = session.scalars(select(LoginThrottle).order_by(LoginThrottle.kind)).all()
    assert [(r.kind, r.failures) for r in rows] == [("account", 5), ("address", 5)]
    clock.set(clock.now() + dt.timedelta(minutes=20))
    assert sign_in(client, account).status_code == 303


def test_failed_sign_ins_are_slowed_per_address(client: TestClient, session: Session) -> None:
    for n in range(accounts.FREE_FAILURES):
        fake = Account(email=f"nobody{n}@example.org", password_hash="x")
        assert sign_in(client, fake, "guess guess guess").status_code == 401
    real = make_account(session, "ed@example.org")
    assert sign_in(client, real).status_code == 429


def test_next_parameter_never_leaves_the_site(client: TestClient, session: Session) -> None:
    account = make_account(session, "ed@example.org")
    token = csrf(client)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={
                "email": account.email,
                "password": PASSWORD,
                "csrf_token": token,
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"


# ------------------------------------------------------------------- CSRF


def test_forms_without_a_valid_csrf_token_are_refused(client: TestClient, session: Session) -> None:
    account = make_account(session, "ed@example.org")
    assert sign_in(client, account).status_code == 303
    data = {"title": "x", "kind": "action", "announced": "2020", "makers": "1"}
    no_token = client.post("/edit/commitments/new", data=data, headers=HTML)
    assert no_token.status_code == 403
    assert "CSRF" in no_token.text
    wrong = client.post(
        "/edit/commitments/new", data={**data, "csrf_token": "0" * 64}, headers=HTML
    )
    assert wrong.status_code == 403
    # A token from another browser (another cookie) does not work either.
    other = TestClient(client.app)
    other_token = csrf(other)
    stolen = client.post(
        "/edit/commitments/new", data={**data, "csrf_token": other_token}, headers=HTML
    )
    assert stolen.status_code == 403
    # Sign-in itself is protected (login CSRF).
    fresh = TestClient(client.app)
    login = fresh.post("/login", data={"email": account.email, "password": PASSWORD})
    assert login.status_code == 403


def test_csrf_token_in_a_header_and_in_multipart_forms(client: TestClient) -> None:
    token = csrf(client)
    header = client.post("/logout", headers={"x-csrf-token": token}, follow_redirects=False)
    assert header.status_code == 303
    multipart = client.post("/logout", files={"csrf_token": (None, token)}, follow_redirects=False)
    assert multipart.status_code == 303


# ---------------------------------------------------------------- headers


def test_security_headers_on_every_page(client: TestClient) -> None:
    for path in ("/", "/login", "/commitments", "/no-such-page"):
        response = client.get(path, headers=HTML)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_script_or_style(client: TestClient, session: Session) -> None:
    account = make_account(session, "ed@example.org", role="admin")
    sign_in(client, account)
    for path in (
        "/login",
        "/edit",
        "/admin/accounts",
        "/edit/commitments/new",
        "/edit/exchange-rates",
    ):
        html = client.get(path, headers=HTML).text
        assert "<script>" not in html
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)


# ---------------------------------------------------------- authorisation


def _write_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every POST route, and every GET page of a form, from the app's own route table."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path in ("/login", "/logout") or path.startswith("/api/"):
            continue
        concrete = re.sub(r"\{[a-z_]+\}", "1", path)
        for method in operations:
            if method == "post" or (
                method == "get" and ("/edit" in path or path.startswith("/admin"))
            ):
                found.append((method.upper(), concrete))
    return sorted(found)


def test_there_are_write_routes_to_check(app: FastAPI) -> None:
    routes = _write_routes(app)
    assert ("POST", "/edit/commitments/new") in routes
    assert ("POST", "/commitments/1/publish") in routes
    assert ("POST", "/admin/accounts") in routes
    assert len(routes) > 40


def test_anonymous_writes_are_redirected_or_refused(app: FastAPI, client: TestClient) -> None:
    for method, path in _write_routes(app):
        if method == "GET":
            page = client.get(path, headers=HTML, follow_redirects=False)
            assert page.status_code == 303, path
            assert page.headers["location"].startswith("/login?next="), path
            continue
        token = csrf(client)
        api = client.post(
            path,
            data={"csrf_token": token},
            headers={"accept": "application/json"},
            follow_redirects=False,
        )
        assert api.status_code == 401, path
        browser = client.post(
            path, data={"csrf_token": token}, headers=HTML, follow_redirects=False
        )
        assert browser.status_code == 303, path
        assert browser.headers["location"].startswith("/login"), path


def test_editors_cannot_manage_accounts_delete_or_restore(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    editor = make_account(session, "ed@example.org")
    sign_in(client, editor)
    admin_only = [
        (m, p)
        for m, p in _write_routes(app)
        if p.startswith("/admin") or p.endswith(("/delete", "/restore"))
    ]
    assert len(admin_only) >= 10
    for method, path in admin_only:
        if method == "GET":
            response = client.get(path, headers=HTML)
        else:
            response = post(
                client,
                path,
                {
                    "action": "role",
                    "role": "admin",
                    "email": "new@example.org",
                    "password": PASSWORD,
                },
            )
        assert response.status_code == 403, path
    # The crafted request to promote oneself changed nothing.
    session.refresh(editor)
    assert editor.role == "editor"
    assert accounts.get_by_email(session, "new@example.org") is None


def test_admin_manages_accounts_in_the_browser(client: TestClient, session: Session) -> None:
    admin = make_account(session, "admin@example.org", role="admin")
    sign_in(client, admin)
    bad = post(
        client,
        "/admin/accounts",
        {"email": "ed@example.org", "password": "short", "role": "editor"},
    )
    assert bad.status_code == 422
    assert "at least 12 characters" in bad.text
    assert 'value="ed@example.org"' in bad.text
    added = post(
        client,
        "/admin/accounts",
        {"email": "ed@example.org", "password": PASSWORD, "role": "editor"},
    )
    assert added.status_code == 303
    ed = accounts.require_by_email(session, "ed@example.org")
    assert (
        post(client, f"/admin/accounts/{ed.id}", {"action": "role", "role": "admin"}).status_code
        == 303
    )
    assert post(client, f"/admin/accounts/{ed.id}", {"action": "disable"}).status_code == 303
    session.expire_all()
    ed = accounts.require_by_email(session, "ed@example.org")
    assert ed.role == "admin"
    assert ed.disabled_at is not None
    myself = post(client, f"/admin/accounts/{admin.id}", {"action": "disable"})
    assert myself.status_code == 422
    assert "yourself" in myself.text


# --------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PLEDGES_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PLEDGES_ENV", "development")


def test_user_commands(cli_env: None) -> None:
    from app.cli import app as cli

    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(
        cli, ["user", "add", "Ed@Example.org", "--role", "admin"], input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert "added ed@example.org (admin)" in added.output
    short = runner.invoke(cli, ["user", "add", "x@example.org"], input="short\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert runner.invoke(cli, ["user", "set-role", "ed@example.org", "editor"]).exit_code == 0
    assert runner.invoke(cli, ["user", "disable", "ed@example.org"]).exit_code == 0
    listing = runner.invoke(cli, ["user", "list"])
    assert "ed@example.org\teditor\tdisabled\tnever" in listing.output
    reset = runner.invoke(
        cli, ["user", "reset-password", "ed@example.org"], input="a brand new password\n"
    )
    assert reset.exit_code == 0
    missing = runner.invoke(cli, ["user", "disable", "nobody@example.org"])
    assert missing.exit_code == 1
    assert "there is no account" in missing.output
    # A password is never an argument.
    assert runner.invoke(cli, ["user", "add", "y@example.org", PASSWORD]).exit_code != 0


@pytest.mark.parametrize(
    "command",
    [
        ["user"],
        ["user", "add"],
        ["user", "list"],
        ["user", "set-role"],
        ["user", "disable"],
        ["user", "enable"],
        ["user", "reset-password"],
    ],
)
def test_user_commands_have_help(command: list[str]) -> None:
    from app.cli import app as cli

    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
