"""`pledges token …`: API tokens for scripts (created for an existing account)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app import db
from app.models import Account
from app.services import tokens

token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)


def _account(session: Session, email: str) -> Account:
    from app.cli import fail

    account = session.scalars(select(Account).where(Account.email == email.strip().lower())).first()
    if account is None:
        fail(f"there is no account {email!r}")
    return account


def _factory() -> sessionmaker[Session]:
    from app.cli import _engine, _settings

    return db.make_session_factory(_engine(_settings()))


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="The account the token acts for.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'nightly import'.")],
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
    expires_days: Annotated[
        int | None, typer.Option(help="Days until it expires (0: never).", min=0, max=3650)
    ] = 90,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from app.cli import fail

    try:
        with db.unit_of_work(_factory()) as session:
            issued = tokens.create_token(
                session,
                _account(session, email),
                name=name,
                scope=scope,
                now=dt.datetime.now(dt.UTC),
                expires_in_days=expires_days or None,
            )
    except tokens.TokenError as exc:
        fail(str(exc), code=2)
    typer.echo(issued.token)
    typer.echo(
        f"token {issued.record.id} ({issued.record.scope}) created; it is shown only once",
        err=True,
    )


@token_app.command("list")
def token_list(email: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """List an account's tokens (never the secrets)."""
    with db.unit_of_work(_factory()) as session:
        for t in tokens.list_tokens(session, _account(session, email)):
            state = "revoked" if t.revoked_at else "active"
            expires = t.expires_at.date().isoformat() if t.expires_at else "never"
            used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
            typer.echo(f"{t.id}\t{t.name}\t{t.scope}\t{state}\texpires {expires}\tlast used {used}")


@token_app.command("revoke")
def token_revoke(
    email: Annotated[str, typer.Argument(help="The account.")],
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
) -> None:
    """Revoke a token at once; requests using it get 401 from now on."""
    from app.cli import fail

    try:
        with db.unit_of_work(_factory()) as session:
            tokens.revoke_token(
                session, token_id, account=_account(session, email), now=dt.datetime.now(dt.UTC)
            )
    except tokens.TokenError as exc:
        fail(str(exc))
    typer.echo(f"token {token_id} revoked")
