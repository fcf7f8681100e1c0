"""The public change list: one query for `/changes`, `/changes.csv` and `/changes.atom`.

Readers see a change only when all of these hold:
* it was recorded as public (`is_public`: changes made while a record was a
  draft never become public);
* its kind of record is one readers can see (never accounts or API tokens);
* the record — and, for a money flow, review, observation or citation, the
  record it belongs to (for a quote of a flow, review or observation: that
  record's commitment or indicator) — is published and not deleted *now*.
  A commitment that was published and later unpublished takes its history
  out of the feeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, select
from sqlalchemy.orm import Session

from app import errors
from app.models import (
    Account,
    ChangeRecord,
    Commitment,
    Indicator,
    MoneyFlow,
    Observation,
    Publishable,
    Review,
    Source,
)
from app.models import Actor as ActorModel
from app.services import visibility
from app.vocab import ChangeAction

# Kinds of record whose changes readers may see, and the page each links to.
PUBLIC_ENTITY_TYPES = (
    "commitments",
    "actors",
    "sources",
    "indicators",
    "money_flows",
    "reviews",
    "observations",
    "citations",
    "exchange_rates",
    "tags",
)
_PAGES = {
    "commitments": "commitments",
    "actors": "actors",
    "sources": "sources",
    "indicators": "indicators",
}
_PUBLISHABLE: dict[str, type[Publishable]] = {
    "commitments": Commitment,
    "actors": ActorModel,
    "sources": Source,
    "indicators": Indicator,
}
# Child records and the snapshot key naming the publishable record they belong to.
_PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "money_flows": (("commitment_id", "commitments"),),
    "reviews": (("commitment_id", "commitments"),),
    "observations": (("indicator_id", "indicators"),),
    "citations": (
        ("commitment_id", "commitments"),
        ("source_id", "sources"),
    ),
}
# Quotes of a money flow, review or observation: the snapshot key naming that
# record, its id and owner columns, and the publishable kind that owns it.
_OWNED_VIA: tuple[tuple[str, Any, Any, str], ...] = (
    ("money_flow_id", MoneyFlow.id, MoneyFlow.commitment_id, "commitments"),
    ("review_id", Review.id, Review.commitment_id, "commitments"),
    ("observation_id", Observation.id, Observation.indicator_id, "indicators"),
)
# Never shown in a diff, whatever the record.
_HIDDEN_FIELDS = frozenset({"password_hash", "token_hash", "full_text", "content_hash", "email"})

PAGE_SIZE = 50


class ChangeFilterError(errors.BadRequest, ValueError):
    pass


@dataclass(frozen=True)
class ChangeFilters:
    entity_type: str | None = None
    action: str | None = None
    entity_id: int | None = None

    def validate(self) -> ChangeFilters:
        if self.entity_type is not None and self.entity_type not in PUBLIC_ENTITY_TYPES:
            raise ChangeFilterError(
                f"unknown type {self.entity_type!r}; one of: {', '.join(PUBLIC_ENTITY_TYPES)}"
            )
        if self.action is not None and self.action not in {a.value for a in ChangeAction}:
            raise ChangeFilterError(
                f"unknown action {self.action!r}; one of: "
                + ", ".join(a.value for a in ChangeAction)
            )
        if self.entity_id is not None and self.entity_type is None:
            raise ChangeFilterError("id needs a type (e.g. type=commitments&id=3)")
        return self

    def query_string(self) -> str:
        pairs = {"type": self.entity_type, "id": self.entity_id, "action": self.action}
        return urlencode({key: value for key, value in pairs.items() if value is not None})


def _hidden(model: type[Publishable], id_column: Any) -> ColumnElement[bool]:
    """A record of `model` with this id exists and readers may not see it."""
    return exists().where(
        model.id == id_column,  # type: ignore[attr-defined]
        visibility.hidden_sql(model),
    )


def public_conditions(filters: ChangeFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        ChangeRecord.is_public.is_(True),
        ChangeRecord.entity_type.in_(PUBLIC_ENTITY_TYPES),
    ]
    for type_name, model in _PUBLISHABLE.items():
        conditions.append(
            not_(
                and_(
                    ChangeRecord.entity_type == type_name,
                    _hidden(model, ChangeRecord.entity_id),
                )
            )
        )
    for type_name, parents in _PARENTS.items():
        for key, parent_type in parents:
            parent_id = func.coalesce(
                ChangeRecord.after[key].as_integer(), ChangeRecord.before[key].as_integer()
            )
            conditions.append(
                not_(
                    and_(
                        ChangeRecord.entity_type == type_name,
                        _hidden(_PUBLISHABLE[parent_type], parent_id),
                    )
                )
            )
    # A quote of a flow, review or observation names the commitment or
    # indicator it belongs to: hidden when that record is hidden now.
    for key, id_column, owner_column, owner_type in _OWNED_VIA:
        child_id = func.coalesce(
            ChangeRecord.after[key].as_integer(), ChangeRecord.before[key].as_integer()
        )
        owner_id = select(owner_column).where(id_column == child_id).scalar_subquery()
        conditions.append(
            not_(
                and_(
                    ChangeRecord.entity_type == "citations",
                    _hidden(_PUBLISHABLE[owner_type], owner_id),
                )
            )
        )
    if filters.entity_type is not None:
        conditions.append(ChangeRecord.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        conditions.append(ChangeRecord.entity_id == filters.entity_id)
    if filters.action is not None:
        conditions.append(ChangeRecord.action == filters.action)
    return conditions


def changes_query(
    filters: ChangeFilters, before_id: int | None = None
) -> Select[ChangeRecord, str | None]:
    """Public changes newest first (by id: keyset pagination), with the editor's name."""
    query = (
        select(ChangeRecord, Account.display_name)
        .outerjoin(Account, Account.id == ChangeRecord.account_id)
        .where(*public_conditions(filters))
        .order_by(ChangeRecord.id.desc())
    )
    if before_id is not None:
        query = query.where(ChangeRecord.id < before_id)
    return query


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ChangeItem:
    record: ChangeRecord
    who: str
    path: str | None  # the page of the record changed, when it has one
    fields: list[FieldChange]

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def occurred_at(self) -> dt.datetime:
        return self.record.occurred_at


@dataclass(frozen=True)
class ChangePage:
    items: list[ChangeItem]
    # Pass as ?before= for the next (older) page; None on the last page.
    next_before: int | None


def page_of(record: ChangeRecord) -> str | None:
    """The page of the record a change is about (or of its parent), when it has one."""
    return _path(record)


def _path(record: ChangeRecord) -> str | None:
    if record.entity_type in _PAGES:
        return f"/{_PAGES[record.entity_type]}/{record.entity_id}"
    snapshot = record.after or record.before or {}
    for key, parent_type in _PARENTS.get(record.entity_type, ()):
        parent_id = snapshot.get(key)
        if isinstance(parent_id, int):
            return f"/{_PAGES[parent_type]}/{parent_id}"
    return None


def _fields(record: ChangeRecord) -> list[FieldChange]:
    if record.before is None or record.after is None:
        return []
    keys = sorted((set(record.before) | set(record.after)) - _HIDDEN_FIELDS)
    return [
        FieldChange(key, record.before.get(key), record.after.get(key))
        for key in keys
        if record.before.get(key) != record.after.get(key)
    ]


def _item(record: ChangeRecord, display_name: str | None) -> ChangeItem:
    # An editor's name, never their e-mail address.
    who = record.actor_label or display_name or ("an editor" if record.account_id else "unknown")
    return ChangeItem(record=record, who=who, path=_path(record), fields=_fields(record))


def list_changes(
    session: Session,
    filters: ChangeFilters = ChangeFilters(),
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> ChangePage:
    rows = session.execute(changes_query(filters, before_id).limit(limit + 1)).all()
    items = [_item(record, name) for record, name in rows[:limit]]
    next_before = items[-1].id if len(rows) > limit and items else None
    return ChangePage(items=items, next_before=next_before)


def iter_changes(
    session: Session, filters: ChangeFilters = ChangeFilters()
) -> Iterator[ChangeItem]:
    """Every public change matching the filters, streamed (for the CSV)."""
    query = changes_query(filters).execution_options(yield_per=1000)
    for record, name in session.execute(query):
        yield _item(record, name)


CHANGES_CSV_HEADER = (
    "id",
    "occurred_at",
    "action",
    "entity_type",
    "entity_id",
    "summary",
    "who",
    "changed_fields",
    "url",
)


def changes_csv_row(item: ChangeItem, base_url: str) -> tuple[object, ...]:
    r = item.record
    return (
        r.id,
        r.occurred_at,
        r.action,
        r.entity_type,
        r.entity_id,
        r.summary,
        item.who,
        "; ".join(f.field for f in item.fields),
        f"{base_url}{item.path}" if item.path else "",
    )
