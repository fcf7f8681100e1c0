"""The change record: every write leaves who, when, what, before and after.

Records are added to the caller's session, so they commit (or roll back)
together with the change they describe.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, object_session

from app.models import (
    Base,
    ChangeRecord,
    Commitment,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
)
from app.services import feeds, visibility
from app.vocab import ChangeAction

# Columns that change on every write and say nothing a reader needs.
_NOISE = frozenset({"created_at", "updated_at", "version", "full_text"})


def snapshot(entity: Base) -> dict[str, Any]:
    """The entity's column values as JSON-safe data (dates as ISO strings)."""
    mapper = inspect(entity).mapper
    values: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        if attr.key in _NOISE:
            continue
        values[attr.key] = _json_safe(getattr(entity, attr.key))
    return values


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def entity_type(entity: Base) -> str:
    return str(entity.__tablename__)


# Never shown to readers, whatever else holds: these hold e-mail addresses,
# password and token hashes, and sign-in attempts.
PRIVATE_TABLES = frozenset({"accounts", "api_tokens", "login_throttles"})

# Records without a publication state of their own follow their parent's.
_PARENTS: dict[str, tuple[tuple[str, type[Base]], ...]] = {
    "money_flows": (("commitment_id", Commitment),),
    "reviews": (("commitment_id", Commitment),),
    "observations": (("indicator_id", Indicator),),
    "citations": (
        ("commitment_id", Commitment),
        ("money_flow_id", MoneyFlow),
        ("review_id", Review),
        ("observation_id", Observation),
    ),
}


def is_public(entity: Base) -> bool:
    """Whether readers may see changes to `entity`.

    Published, undeleted records are public; drafts are not; accounts and
    tokens never are; a money flow, review, observation or citation is public
    exactly when the record it belongs to is.
    """
    table = entity_type(entity)
    if table in PRIVATE_TABLES:
        return False
    if isinstance(entity, visibility.PUBLISHABLE):
        return visibility.is_visible(entity)
    if getattr(entity, "deleted_at", None) is not None:
        return False
    parents = _PARENTS.get(table)
    if parents is None:
        return True  # tags, exchange rates: public reference data
    session = object_session(entity)
    for column, model in parents:
        parent_id = getattr(entity, column, None)
        if parent_id is not None and session is not None:
            parent = session.get(model, parent_id)
            return parent is not None and is_public(parent)
    return False


def record(
    session: Session,
    *,
    action: ChangeAction,
    entity: Base,
    summary: str,
    before: dict[str, Any] | None = None,
    account_id: int | None = None,
    actor_label: str | None = None,
    public: bool | None = None,
    flush: bool = True,
) -> ChangeRecord:
    """Add a change record for `entity` (flushed first so it has an id).

    Bulk writers whose entities are already flushed (the CSV import) pass
    `flush=False`, so that the records are inserted together at the next flush.
    """
    if flush:
        session.flush()
    identity = inspect(entity).identity
    if identity is None:
        raise ValueError("record() needs an entity that has been added to the session")
    change = ChangeRecord(
        account_id=account_id,
        actor_label=actor_label,
        action=action,
        entity_type=entity_type(entity),
        entity_id=identity[0],
        summary=summary[:500],
        before=before,
        after=None if action is ChangeAction.delete else snapshot(entity),
        is_public=is_public(entity) if public is None else public,
    )
    session.add(change)
    return change


def recent_public(session: Session, limit: int = 10) -> list[ChangeRecord]:
    """The latest changes readers may see, for the dashboard and /api/v1/totals.

    The same rule as /changes and its feeds (`feeds.public_conditions`): a
    change recorded as public whose record — or the commitment, indicator or
    source it belongs to — is published and not deleted *now*. Checking only
    `is_public` kept "Published commitment X" on the dashboard after X was
    withdrawn to draft.
    """
    query = (
        select(ChangeRecord)
        .where(*feeds.public_conditions(feeds.ChangeFilters()))
        .order_by(ChangeRecord.occurred_at.desc(), ChangeRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
