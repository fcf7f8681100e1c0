"""Accounts, passwords, and the database-backed slowdown of failed sign-ins.

Passwords are hashed with Argon2 (pwdlib). Failed attempts are counted per
account and per client address in the `login_throttles` table, so several web
processes share one count. Services flush; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import errors
from app.models import Account, LoginThrottle
from app.services import changes
from app.vocab import ChangeAction, Role

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# Failures allowed before each further attempt must wait; the wait doubles
# with every failure, capped, so a guesser gets a handful of tries per hour.
FREE_FAILURES = 5
MAX_DELAY = dt.timedelta(minutes=15)

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AccountError(errors.Invalid, ValueError):
    """A refused account operation; `field` names the form field or CLI argument."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, fields={field: message})
        self.field = field


class TooManyAttempts(errors.DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed sign-ins; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


@functools.cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bool(_hasher().verify(password, password_hash))
    except Exception:  # a malformed stored hash must mean "no", never a 500
        return False


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL_RE.fullmatch(cleaned) or len(cleaned) > 320:
        raise AccountError("email", f"{email.strip()!r} is not an e-mail address")
    return cleaned


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "password", f"the password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password", "the password is too long")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError("role", f"unknown role {role!r}: use editor or admin") from None


def get_by_email(session: Session, email: str) -> Account | None:
    return session.scalars(
        select(Account).where(Account.email == email.strip().lower())
    ).one_or_none()


def require_by_email(session: Session, email: str) -> Account:
    account = get_by_email(session, email)
    if account is None:
        raise AccountError("email", f"there is no account {email.strip().lower()!r}")
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.email)))


def create_account(
    session: Session,
    email: str,
    password: str,
    *,
    role: str = Role.editor,
    display_name: str | None = None,
    by_account_id: int | None = None,
    actor_label: str | None = None,
) -> Account:
    address = normalise_email(email)
    check_password_rules(password)
    chosen = _role(role)
    if get_by_email(session, address) is not None:
        raise AccountError("email", f"an account {address!r} exists already")
    account = Account(
        email=address,
        display_name=(display_name or "").strip() or None,
        password_hash=hash_password(password),
        role=chosen,
    )
    session.add(account)
    session.flush()
    _record(
        session,
        account,
        ChangeAction.create,
        f"Account {address} created ({chosen})",
        None,
        by_account_id,
        actor_label,
    )
    return account


def _record(
    session: Session,
    account: Account,
    action: ChangeAction,
    summary: str,
    before: dict[str, object] | None,
    by_account_id: int | None,
    actor_label: str | None,
) -> None:
    # Account records never go public; the hash is left out of the snapshot.
    if before is not None:
        before.pop("password_hash", None)
    change = changes.record(
        session,
        action=action,
        entity=account,
        summary=summary,
        before=before,
        account_id=by_account_id,
        actor_label=actor_label,
        public=False,
    )
    if change.after is not None:
        change.after = {k: v for k, v in change.after.items() if k != "password_hash"}


def set_role(
    session: Session,
    account: Account,
    role: str,
    *,
    by_account_id: int | None = None,
    actor_label: str | None = None,
) -> None:
    chosen = _role(role)
    before = changes.snapshot(account)
    account.role = chosen
    session.flush()
    _record(
        session,
        account,
        ChangeAction.update,
        f"Account {account.email} is now {chosen}",
        before,
        by_account_id,
        actor_label,
    )


def set_disabled(
    session: Session,
    account: Account,
    disabled: bool,
    *,
    now: dt.datetime,
    by_account_id: int | None = None,
    actor_label: str | None = None,
) -> None:
    before = changes.snapshot(account)
    account.disabled_at = now if disabled else None
    session.flush()
    word = "disabled" if disabled else "enabled"
    _record(
        session,
        account,
        ChangeAction.update,
        f"Account {account.email} {word}",
        before,
        by_account_id,
        actor_label,
    )


def reset_password(
    session: Session,
    account: Account,
    password: str,
    *,
    by_account_id: int | None = None,
    actor_label: str | None = None,
) -> None:
    """Set a new password; existing sessions of the account stop working."""
    check_password_rules(password)
    before = changes.snapshot(account)
    account.password_hash = hash_password(password)
    session.flush()
    _record(
        session,
        account,
        ChangeAction.update,
        f"Password of {account.email} reset",
        before,
        by_account_id,
        actor_label,
    )


# ------------------------------------------------------------ signing in


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    message: str


def _throttle(session: Session, kind: str, key: str) -> LoginThrottle | None:
    return session.scalars(
        select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
    ).one_or_none()


def _wait(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> int:
    longest = 0
    for kind, key in keys:
        row = _throttle(session, kind, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            longest = max(longest, int((row.blocked_until - now).total_seconds()) + 1)
    return longest


def _fail(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> None:
    for kind, key in keys:
        row = _throttle(session, kind, key)
        if row is None:
            row = LoginThrottle(kind=kind, key=key, failures=0, last_failed_at=now)
            session.add(row)
        # A quiet day forgives old failures.
        if now - row.last_failed_at > dt.timedelta(days=1):
            row.failures = 0
        row.failures += 1
        row.last_failed_at = now
        if row.failures >= FREE_FAILURES:
            delay = min(dt.timedelta(seconds=2 ** (row.failures - FREE_FAILURES + 1)), MAX_DELAY)
            row.blocked_until = now + delay
    session.flush()


def authenticate(
    session: Session, email: str, password: str, *, address: str, now: dt.datetime
) -> Account:
    """Return the account for a correct e-mail and password.

    Raises TooManyAttempts while the account or the address is slowed down
    (nothing is checked then), and AccountError("password", …) otherwise,
    with the same message whether the e-mail or the password was wrong.
    """
    key = email.replace("\x00", "").strip().lower()[:320]
    password = password.replace("\x00", "")
    keys = [("account", key), ("address", address[:320])]
    wait = _wait(session, keys, now)
    if wait:
        raise TooManyAttempts(wait)
    account = get_by_email(session, key)
    # Hash even for unknown e-mails so timing does not reveal which exist.
    ok = verify_password(password, account.password_hash if account else _dummy_hash())
    if account is None or not ok or account.disabled_at is not None:
        _fail(session, keys, now)
        raise AccountError("password", "wrong e-mail or password, or the account is disabled")
    row = _throttle(session, "account", key)
    if row is not None:
        session.delete(row)
    account.last_login_at = now
    session.flush()
    return account


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not a real password, only for equal timing")
