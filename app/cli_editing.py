"""`pledges user …`: account management from the command line.

Passwords are read from a hidden prompt, or from standard input when it is
not a terminal (`printf '%s\\n' "$PW" | pledges user add …`) — never from an
argument, where they would land in shell history and process listings.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from app import db
from app.services import accounts

user_app = typer.Typer(
    help="Accounts: add, list, set-role, disable, enable, reset-password.", no_args_is_help=True
)
CLI_LABEL = "command line"


def _read_password() -> str:
    if sys.stdin.isatty():
        first: str = typer.prompt("Password", hide_input=True)
        second: str = typer.prompt("Repeat the password", hide_input=True)
        if first != second:
            _fail("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _fail(message: str, code: int = 1) -> None:
    from app.cli import fail

    fail(message, code)


def _factory() -> sessionmaker[Session]:
    from app.cli import _engine, _settings

    return db.make_session_factory(_engine(_settings()))


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Option(help="editor or admin.")] = "editor",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Add an account; the password is read from a prompt or standard input."""
    password = _read_password()
    try:
        with db.unit_of_work(_factory()) as session:
            account = accounts.create_account(
                session, email, password, role=role, display_name=name, actor_label=CLI_LABEL
            )
            typer.echo(f"added {account.email} ({account.role})")
    except accounts.AccountError as exc:
        _fail(exc.message)


@user_app.command("list")
def user_list() -> None:
    """List accounts: e-mail, role, state, last sign-in."""
    with db.unit_of_work(_factory()) as session:
        for account in accounts.list_accounts(session):
            state = "disabled" if account.disabled_at else "active"
            last = (
                account.last_login_at.isoformat(timespec="seconds")
                if account.last_login_at
                else "never"
            )
            typer.echo(f"{account.email}\t{account.role}\t{state}\t{last}")


@user_app.command("set-role")
def user_set_role(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
    role: Annotated[str, typer.Argument(help="editor or admin.")],
) -> None:
    """Change an account's role."""
    try:
        with db.unit_of_work(_factory()) as session:
            account = accounts.require_by_email(session, email)
            accounts.set_role(session, account, role, actor_label=CLI_LABEL)
            typer.echo(f"{account.email} is now {account.role}")
    except accounts.AccountError as exc:
        _fail(exc.message)


def _set_disabled(email: str, disabled: bool) -> None:
    try:
        with db.unit_of_work(_factory()) as session:
            account = accounts.require_by_email(session, email)
            accounts.set_disabled(
                session, account, disabled, now=dt.datetime.now(dt.UTC), actor_label=CLI_LABEL
            )
            typer.echo(f"{account.email} {'disabled' if disabled else 'enabled'}")
    except accounts.AccountError as exc:
        _fail(exc.message)


@user_app.command("disable")
def user_disable(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Disable an account: its sessions stop working on the next request."""
    _set_disabled(email, True)


@user_app.command("enable")
def user_enable(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Enable a disabled account again."""
    _set_disabled(email, False)


@user_app.command("reset-password")
def user_reset_password(
    email: Annotated[str, typer.Argument(help="The account's e-mail address.")],
) -> None:
    """Set a new password (prompt or standard input); old sessions stop working."""
    password = _read_password()
    try:
        with db.unit_of_work(_factory()) as session:
            account = accounts.require_by_email(session, email)
            accounts.reset_password(session, account, password, actor_label=CLI_LABEL)
            typer.echo(f"password of {account.email} reset")
    except accounts.AccountError as exc:
        _fail(exc.message)
