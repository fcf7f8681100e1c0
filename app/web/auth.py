"""Who is asking: signed session cookies and the typed dependencies routes use.

The session is a cookie signed with the secret key (HMAC-SHA256), holding the
account id, a fingerprint of its password hash and the time it was issued —
no server-side state, so any web process can check it. The account is read
from the database on every request that needs it, so a disabled account or a
reset password stops working on the next request.

Dependencies for routes (keep these names; other modules import them):

* ``OptionalAccountDep`` — the signed-in ``Account`` or None.
* ``EditorDep`` — an editor or admin; anonymous HTML requests are redirected to
  /login?next=…, other requests get 401.
* ``AdminDep`` — an admin; editors get 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app import errors
from app.http.deps import SessionDep
from app.models import Account
from app.vocab import Role
from app.web import security

SESSION_COOKIE = "pt_session"
SESSION_MAX_AGE = 12 * 3600


class LoginRequired(Exception):
    """Raised by EditorDep/AdminDep for anonymous requests."""


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), b"session:" + payload, hashlib.sha256).hexdigest()


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def session_cookie_value(secret: str, account: Account, now: float | None = None) -> str:
    payload = json.dumps(
        {
            "a": account.id,
            "e": account.email,
            "f": _fingerprint(account.password_hash),
            "t": int(now if now is not None else time.time()),
        },
        separators=(",", ":"),
    ).encode()
    encoded = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{encoded}.{_sign(secret, payload)}"


def read_session(secret: str, value: str | None, now: float | None = None) -> dict[str, Any] | None:
    """The cookie's payload if its signature is right and it has not expired."""
    if not value or "." not in value or len(value) > 2000:
        return None
    encoded, _, signature = value.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        return None
    current = now if now is not None else time.time()
    if current - data["t"] > SESSION_MAX_AGE or data["t"] - current > 60:
        return None
    return data


def set_session_cookie(request: Request, response: Response, account: Account) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(request.app.state.settings.pledges_secret_key, account),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def signed_in_email(request: Request) -> str | None:
    """For templates (no database): the e-mail in a valid session cookie."""
    data = read_session(
        request.app.state.settings.pledges_secret_key, request.cookies.get(SESSION_COOKIE)
    )
    email = data.get("e") if data else None
    return email if isinstance(email, str) else None


async def get_optional_account(request: Request, session: SessionDep) -> Account | None:
    # Async, so an anonymous request (no cookie, or a bad one) is answered on
    # the event loop without a thread-pool round trip; only reading the
    # account from the database goes to a worker thread.
    data = read_session(
        request.app.state.settings.pledges_secret_key, request.cookies.get(SESSION_COOKIE)
    )
    if data is None or not isinstance(data.get("a"), int):
        return None
    return await run_in_threadpool(_signed_in_account, session, data)


def _signed_in_account(session: Session, data: dict[str, Any]) -> Account | None:
    account = session.get(Account, data["a"])
    if (
        account is None
        or account.disabled_at is not None
        or not hmac.compare_digest(str(data.get("f", "")), _fingerprint(account.password_hash))
    ):
        return None
    return account


OptionalAccountDep = Annotated[Account | None, Depends(get_optional_account)]


async def get_editor(account: OptionalAccountDep) -> Account:
    if account is None:
        raise LoginRequired()
    if account.role not in (Role.editor, Role.admin):
        raise errors.Forbidden("Your account may not change data.")
    return account


EditorDep = Annotated[Account, Depends(get_editor)]


async def get_admin(account: EditorDep) -> Account:
    if account.role != Role.admin:
        raise errors.Forbidden("Only administrators may do this.")
    return account


AdminDep = Annotated[Account, Depends(get_admin)]


def is_admin(account: Account | None) -> bool:
    return account is not None and account.role == Role.admin


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a signed-in user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def install(app: FastAPI) -> None:
    """Security middleware, the login redirect, and template helpers."""
    app.add_middleware(
        security.SecurityMiddleware,
        secret=app.state.settings.pledges_secret_key,
    )

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        accept = request.headers.get("accept", "")
        if "text/html" in accept:
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            else:
                # After signing in, go back to the page the form was on.
                referer = urlsplit(request.headers.get("referer", ""))
                target = safe_next(referer.path if referer.netloc == request.url.netloc else "/")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Sign-in required",
                "status": 401,
                "detail": "Sign in as an editor to change data.",
            },
            status_code=401,
            media_type="application/problem+json",
            headers={"WWW-Authenticate": 'Cookie realm="pledges"'},
        )

    env = app.state.templates.env
    env.globals["csrf_field"] = security.csrf_field
    env.globals["signed_in_email"] = signed_in_email
