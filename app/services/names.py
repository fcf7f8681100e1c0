"""Names of the records a change record points at, so a history can say "UK Home Office"
instead of "provider_id 1".

Change snapshots store ids (`provider_id`, `makers: [1, 2]`, …). `reference_table`
says which table such a field points into; `names_for` loads the names of the
referenced records in one query per table, and only those a reader may see
(published and not deleted) unless drafts are asked for: a history must never
reveal a draft's name to a reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor, ChangeRecord, Commitment, Indicator, Source
from app.services import visibility

# Field in a snapshot -> the table its ids point into. `parent_id` depends on the record.
_REFERENCES: dict[str, str] = {
    "provider_id": "actors",
    "receiver_id": "actors",
    "publisher_actor_id": "actors",
    "makers": "actors",
    "recipients": "actors",
    "commitment_id": "commitments",
    "tops_up_id": "commitments",
    "supersedes_id": "commitments",
    "commitments": "commitments",
    "source_id": "sources",
    "indicator_id": "indicators",
}
_SELF_REFERENCES = {"parent_id": ("actors", "commitments")}

_NAMED: dict[str, tuple[Any, Any]] = {
    "actors": (Actor, Actor.name),
    "commitments": (Commitment, Commitment.title),
    "sources": (Source, Source.title),
    "indicators": (Indicator, Indicator.name),
}

Names = dict[tuple[str, int], str]


def reference_table(entity_type: str, field: str) -> str | None:
    """The table `field` of a `entity_type` snapshot points into, or None."""
    if field in _SELF_REFERENCES:
        return entity_type if entity_type in _SELF_REFERENCES[field] else None
    return _REFERENCES.get(field)


def _ids(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    # bool is an int in Python; a flag is never an id.
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def referenced_ids(changes: Iterable[ChangeRecord]) -> dict[str, set[int]]:
    """Per table, every id the snapshots of these changes point at."""
    found: dict[str, set[int]] = {}
    for change in changes:
        for snapshot in (change.before or {}, change.after or {}):
            for field, value in snapshot.items():
                table = reference_table(change.entity_type, field)
                if table is not None:
                    found.setdefault(table, set()).update(_ids(value))
    return found


def names_for(session: Session, ids: dict[str, set[int]], *, include_drafts: bool) -> Names:
    """(table, id) -> name or title, for the records a reader (or editor) may see."""
    names: Names = {}
    for table, wanted in ids.items():
        if not wanted or table not in _NAMED:
            continue
        model, column = _NAMED[table]
        query = select(model.id, column).where(model.id.in_(sorted(wanted)))
        if not include_drafts:
            query = query.where(*visibility.visible_sql(model))
        for record_id, name in session.execute(query):
            names[(table, record_id)] = name
    return names
