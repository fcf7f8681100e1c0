"""Sign in, sign out, and the admin page for accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.http.deps import RecordId, SessionDep
from app.services import accounts
from app.vocab import Role
from app.web.auth import (
    AdminDep,
    OptionalAccountDep,
    clear_session_cookie,
    client_address,
    safe_next,
    set_session_cookie,
)
from app.web.templating import TemplatesDep

router = APIRouter()


@router.get("/login", response_class=HTMLResponse, summary="Sign-in page")
def login_page(
    request: Request, templates: TemplatesDep, account: OptionalAccountDep, next: str = "/"
) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(
        request,
        "edit/login.html",
        {"next": safe_next(next), "email": "", "error": None, "account": account},
    )


@router.post("/login", response_class=HTMLResponse, summary="Sign in")
def login(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the e-mail and password; repeated failures are slowed down."""
    now = request.app.state.clock.now()
    try:
        account = accounts.authenticate(
            session, email, password, address=client_address(request), now=now
        )
    except accounts.TooManyAttempts as exc:
        return templates.TemplateResponse(
            request,
            "edit/login.html",
            {"next": safe_next(next), "email": email, "error": str(exc), "account": None},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except accounts.AccountError as exc:
        # The failure count must be saved: the request still commits.
        return templates.TemplateResponse(
            request,
            "edit/login.html",
            {"next": safe_next(next), "email": email, "error": exc.message, "account": None},
            status_code=401,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, account)
    return response


@router.post("/logout", summary="Sign out")
def logout(request: Request) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/admin/accounts", response_class=HTMLResponse, summary="Accounts")
def account_admin(
    request: Request, session: SessionDep, templates: TemplatesDep, admin: AdminDep
) -> Response:
    """Every account, with forms to add, change role, disable and reset passwords."""
    return _admin_page(request, session, templates, admin, None, {})


def _admin_page(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    admin: AdminDep,
    error: accounts.AccountError | None,
    typed: dict[str, str],
    status_code: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "edit/accounts.html",
        {
            "accounts": accounts.list_accounts(session),
            "roles": list(Role),
            "error": error,
            "typed": typed,
            "account": admin,
        },
        status_code=status_code,
    )


@router.post("/admin/accounts", response_class=HTMLResponse, summary="Add an account")
def account_add(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    admin: AdminDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=16)] = "editor",
    display_name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Create an account with a first password."""
    try:
        accounts.create_account(
            session,
            email,
            password,
            role=role,
            display_name=display_name,
            by_account_id=admin.id,
        )
    except accounts.AccountError as exc:
        typed = {"email": email, "role": role, "display_name": display_name}
        return _admin_page(request, session, templates, admin, exc, typed, 422)
    return RedirectResponse("/admin/accounts", status_code=303)


@router.post("/admin/accounts/{account_id}", response_class=HTMLResponse, summary="Change one")
def account_change(
    account_id: RecordId,
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    admin: AdminDep,
    action: Annotated[str, Form(max_length=20)],
    role: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change an account's role, disable or enable it, or reset its password."""
    from app.models import Account

    target = session.get(Account, account_id)
    if target is None:
        return _admin_page(
            request,
            session,
            templates,
            admin,
            accounts.AccountError("account", f"there is no account {account_id}"),
            {},
            404,
        )
    now = request.app.state.clock.now()
    try:
        if target.id == admin.id and action in ("disable", "role"):
            raise accounts.AccountError("account", "you cannot demote or disable yourself")
        if action == "role":
            accounts.set_role(session, target, role, by_account_id=admin.id)
        elif action == "disable":
            accounts.set_disabled(session, target, True, now=now, by_account_id=admin.id)
        elif action == "enable":
            accounts.set_disabled(session, target, False, now=now, by_account_id=admin.id)
        elif action == "password":
            accounts.reset_password(session, target, password, by_account_id=admin.id)
        else:
            raise accounts.AccountError("action", f"unknown action {action!r}")
    except accounts.AccountError as exc:
        return _admin_page(request, session, templates, admin, exc, {}, 422)
    return RedirectResponse("/admin/accounts", status_code=303)
