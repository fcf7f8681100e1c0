"""API tokens: shown once, stored hashed, scoped, expiring, revocable.

A token is `pt_` + 32 random bytes (URL-safe base64). Only its SHA-256 is
stored: the token has 256 bits of entropy, so a slow password hash adds
nothing, and a fast hash lets every API request be checked with one indexed
lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import errors
from app.models import Account, ApiToken
from app.vocab import TokenScope

PREFIX = "pt_"
# Don't write last_used_at on every request: once a minute is enough to show
# "last used" and keeps reads from turning into writes under load.
LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


class TokenError(errors.Invalid, ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    record: ApiToken
    token: str  # the only time the secret is available


def create_token(
    session: Session,
    account: Account,
    *,
    name: str,
    scope: TokenScope | str,
    now: dt.datetime,
    expires_in_days: int | None = 90,
) -> IssuedToken:
    try:
        scope = TokenScope(scope)
    except ValueError:
        raise TokenError(f"unknown scope {scope!r}: use 'read' or 'write'") from None
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise TokenError("expiry must be between 1 and 3650 days")
    if account.disabled_at is not None:
        raise TokenError("a disabled account cannot have tokens")
    token = PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        account_id=account.id,
        name=name,
        token_hash=hash_token(token),
        scope=scope,
        created_at=now,
        expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(record=record, token=token)


def list_tokens(session: Session, account: Account) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.id)
    return list(session.scalars(query))


def revoke_token(
    session: Session, token_id: int, *, account: Account, now: dt.datetime
) -> ApiToken:
    record = session.get(ApiToken, token_id)
    if record is None or record.account_id != account.id:
        raise TokenError(f"there is no token {token_id} for {account.email}")
    if record.revoked_at is None:
        record.revoked_at = now
        session.flush()
    return record


@dataclass(frozen=True)
class Caller:
    """Who is calling the API, and what their token allows."""

    account: Account
    token: ApiToken

    @property
    def can_write(self) -> bool:
        return self.token.scope == TokenScope.write


def authenticate(session: Session, token: str, *, now: dt.datetime) -> Caller | None:
    """The account and token for a presented secret, or None if invalid, expired or revoked."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None:
        return None
    record, account = row
    if record.revoked_at is not None or account.disabled_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_GRANULARITY:
        record.last_used_at = now
        session.flush()
    return Caller(account=account, token=record)
