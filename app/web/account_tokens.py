"""The account page (`/account`): an editor's API tokens, created and revoked in the browser.

The same service as `pledges token create|list|revoke` (app.services.tokens).
A new token's secret is shown once, in the response to the form that made it
(never in a URL or a redirect), with `Cache-Control: no-store`; only its hash
is kept. An account sees and revokes only its own tokens.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app import errors
from app.http.deps import RecordId, SessionDep
from app.models import Account, ApiToken
from app.services import tokens
from app.vocab import TokenScope
from app.web.auth import EditorDep
from app.web.templating import TemplatesDep

router = APIRouter()

# The CLI's default; a browser-made token lives at most a year: a longer-lived
# secret is better made deliberately on the command line (up to 10 years).
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
NAME_MAX = 100


@dataclass
class TokenForm:
    """What was typed into the form, and what is wrong with it."""

    name: str = ""
    scope: str = TokenScope.read.value
    expires_days: str = str(DEFAULT_EXPIRY_DAYS)
    errors: dict[str, str] = field(default_factory=dict)

    def check(self) -> tuple[str, TokenScope, int] | None:
        # NUL never means anything in a form, and PostgreSQL refuses it in text.
        name = self.name.replace("\x00", "").strip()
        if not name:
            self.errors["name"] = "Give the token a name, e.g. “nightly import”."
        elif len(name) > NAME_MAX:
            self.errors["name"] = f"At most {NAME_MAX} characters."
        scope = None
        try:
            scope = TokenScope(self.scope)
        except ValueError:
            self.errors["scope"] = "Choose read or write."
        days = None
        # Left blank: the default, as the form's hint says.
        text = self.expires_days.strip() or str(DEFAULT_EXPIRY_DAYS)
        if text.isascii() and text.isdigit() and len(text) <= 6:
            days = int(text)
        if days is None or not 1 <= days <= MAX_EXPIRY_DAYS:
            self.errors["expires_days"] = (
                f"A whole number of days from 1 to {MAX_EXPIRY_DAYS} "
                f"(for longer, use `pledges token create --expires-days`)."
            )
            days = None
        if self.errors or scope is None or days is None:
            return None
        return name, scope, days


def _status(token: ApiToken, now: dt.datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def _page(
    request: Request,
    session: Session,
    templates: Any,
    account: Account,
    *,
    form: TokenForm | None = None,
    issued: tokens.IssuedToken | None = None,
    revoked: ApiToken | None = None,
    status_code: int = 200,
) -> Response:
    now = request.app.state.clock.now()
    rows = [(t, _status(t, now)) for t in reversed(tokens.list_tokens(session, account))]
    response: Response = templates.TemplateResponse(
        request,
        "account/tokens.html",
        {
            "account": account,
            "rows": rows,
            "form": form or TokenForm(),
            "issued": issued,
            "revoked": revoked,
            "scopes": list(TokenScope),
            "max_days": MAX_EXPIRY_DAYS,
            "default_days": DEFAULT_EXPIRY_DAYS,
        },
        status_code=status_code,
    )
    # The page may carry a secret (once) and always lists the account's tokens.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/account", response_class=HTMLResponse, summary="Your account and API tokens")
def account_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    revoked: Annotated[
        int | None, Query(ge=1, le=2_147_483_647, description="A token just revoked.")
    ] = None,
) -> Response:
    """Your API tokens (name, scope, created, expires, last used, revoked) and a form for one."""
    shown = None
    if revoked is not None:
        record = session.get(ApiToken, revoked)
        shown = record if record is not None and record.account_id == account.id else None
    return _page(request, session, templates, account, revoked=shown)


@router.post("/account/tokens", response_class=HTMLResponse, summary="Create an API token")
def create_token(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: EditorDep,
    name: Annotated[str, Form(max_length=10_000)] = "",
    scope: Annotated[str, Form(max_length=100)] = "",
    expires_days: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create a token for your account; its secret is shown on the answer, once.

    A bad name, scope or expiry re-shows the form (422) with the reason, and
    nothing is written.
    """
    form = TokenForm(name=name, scope=scope, expires_days=expires_days)
    checked = form.check()
    if checked is None:
        return _page(request, session, templates, account, form=form, status_code=422)
    token_name, token_scope, days = checked
    try:
        issued = tokens.create_token(
            session,
            account,
            name=token_name,
            scope=token_scope,
            now=request.app.state.clock.now(),
            expires_in_days=days,
        )
    except tokens.TokenError as exc:
        form.errors["name"] = str(exc)
        return _page(request, session, templates, account, form=form, status_code=422)
    return _page(request, session, templates, account, issued=issued)


@router.post(
    "/account/tokens/{token_id}/revoke", response_class=HTMLResponse, summary="Revoke a token"
)
def revoke_token(
    token_id: RecordId, request: Request, session: SessionDep, account: EditorDep
) -> Response:
    """Revoke one of your tokens at once: requests using it get 401 from now on.

    Another account's token is a 404, as if it did not exist.
    """
    try:
        tokens.revoke_token(session, token_id, account=account, now=request.app.state.clock.now())
    except tokens.TokenError:
        raise errors.NotFound(f"You have no token {token_id}.") from None
    return RedirectResponse(f"/account?revoked={token_id}", status_code=303)
