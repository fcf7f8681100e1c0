"""What readers see, and what a published record may point at: one rule each, one place.

**Visible to a reader**: a publishable record (commitment, actor, source,
indicator) that is published and not deleted. `visible_sql` gives the SQL
condition, `is_visible` the same rule on a loaded record.

**Published records never point at hidden ones.** A published record is shown
to readers with what it names: a commitment with its makers and recipients,
the providers and receivers of its money, the sources its quotes (and its
flows', and its reviews' evidence) come from, and the commitments it is part
of, tops up or supersedes; an actor with its parent; a source with its
publishing actor; an indicator with the sources of its observations. If one of
those were a draft or deleted, a reader would see a name they cannot open, and
every export would have to write an empty id for something that exists.

So every write path checks the same thing after it has written (the form, the
API, the CSV import, publish, withdraw and delete): `hidden_references` lists
what published records now point at that readers cannot see, and
`shown_by_published` lists the published records that show a record about to
be withdrawn or deleted. Both are computed from one table of references,
`REFERENCES`, in SQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from sqlalchemy import ColumnElement, and_, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from app.models import (
    Actor,
    Citation,
    Commitment,
    CommitmentActor,
    Indicator,
    MoneyFlow,
    Observation,
    Review,
    Source,
)
from app.vocab import PublicationState

Publishable: TypeAlias = Commitment | Actor | Source | Indicator
PublishableModel: TypeAlias = type[Commitment] | type[Actor] | type[Source] | type[Indicator]
PUBLISHABLE: Final = (Commitment, Actor, Source, Indicator)

TABLE_OF: Final[dict[type[Any], str]] = {
    Commitment: "commitments",
    Actor: "actors",
    Source: "sources",
    Indicator: "indicators",
}
MODEL_OF: Final[dict[str, PublishableModel]] = {v: k for k, v in TABLE_OF.items()}
NOUN: Final = {"commitments": "commitment", "actors": "actor", "sources": "source",
               "indicators": "indicator"}  # fmt: skip


# ------------------------------------------------------------- visible


def visible_sql(model: Any, *, include_drafts: bool = False) -> list[ColumnElement[bool]]:
    """Conditions on `model` in the enclosing query: not deleted, and published unless
    `include_drafts` (editors see drafts; nobody sees deleted records in lists).

    `model` is a publishable model, an alias of one, or a table's columns (`table.c`).
    """
    conditions: list[ColumnElement[bool]] = [model.deleted_at.is_(None)]
    if not include_drafts:
        conditions.append(model.state == PublicationState.published)
    return conditions


def is_visible(entity: Publishable, *, include_drafts: bool = False) -> bool:
    """The rule of `visible_sql` on a loaded record."""
    if entity.deleted_at is not None:
        return False
    return include_drafts or entity.state == PublicationState.published


def hidden_sql(model: Any) -> ColumnElement[bool]:
    """Readers cannot see it: a draft, or deleted."""
    return or_(model.state != PublicationState.published, model.deleted_at.is_not(None))


# ---------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    """One way a record of `owner` shows a record of `target` to readers."""

    owner: str  # table of the record that shows (commitments, actors, sources, indicators)
    target: str  # table of the record shown
    via: str  # the owner's field, as a person would name it ("makers", "quote source")
    # SELECT owner_id, target_id over every such pair.
    pairs: Any  # Select of (owner id, target id)


def _references() -> tuple[Reference, ...]:
    flow_quote = select(MoneyFlow.commitment_id, Citation.source_id).join(
        Citation, Citation.money_flow_id == MoneyFlow.id
    )
    evidence = select(Review.commitment_id, Citation.source_id).join(
        Citation, Citation.review_id == Review.id
    )
    observation_quote = select(Observation.indicator_id, Citation.source_id).join(
        Citation, Citation.observation_id == Observation.id
    )
    return (
        Reference("commitments", "actors", "made by or for",
                  select(CommitmentActor.commitment_id, CommitmentActor.actor_id)),
        Reference("commitments", "actors", "money from",
                  select(MoneyFlow.commitment_id, MoneyFlow.provider_id)
                  .where(MoneyFlow.provider_id.is_not(None))),
        Reference("commitments", "actors", "money to",
                  select(MoneyFlow.commitment_id, MoneyFlow.receiver_id)
                  .where(MoneyFlow.receiver_id.is_not(None))),
        Reference("commitments", "sources", "quote source",
                  select(Citation.commitment_id, Citation.source_id)
                  .where(Citation.commitment_id.is_not(None))),
        Reference("commitments", "sources", "money quote source", flow_quote),
        Reference("commitments", "sources", "review evidence source", evidence),
        Reference("commitments", "commitments", "part of",
                  select(Commitment.id, Commitment.parent_id)
                  .where(Commitment.parent_id.is_not(None))),
        Reference("commitments", "commitments", "tops up",
                  select(Commitment.id, Commitment.tops_up_id)
                  .where(Commitment.tops_up_id.is_not(None))),
        Reference("commitments", "commitments", "supersedes",
                  select(Commitment.id, Commitment.supersedes_id)
                  .where(Commitment.supersedes_id.is_not(None))),
        Reference("actors", "actors", "part of",
                  select(Actor.id, Actor.parent_id).where(Actor.parent_id.is_not(None))),
        Reference("sources", "actors", "publisher",
                  select(Source.id, Source.publisher_actor_id)
                  .where(Source.publisher_actor_id.is_not(None))),
        Reference("indicators", "sources", "observation source", observation_quote),
    )  # fmt: skip


REFERENCES: Final = _references()


@dataclass(frozen=True)
class HiddenReference:
    """A published record that shows a record readers cannot see (or would not, after a change)."""

    owner: str
    owner_id: int
    owner_name: str
    via: str
    target: str
    target_id: int
    target_name: str
    target_deleted: bool

    @property
    def target_label(self) -> str:
        return f"“{self.target_name}” ({NOUN[self.target]} {self.target_id})"

    @property
    def owner_label(self) -> str:
        return f"“{self.owner_name}” ({NOUN[self.owner]} {self.owner_id})"

    def describe(self) -> str:
        what = "deleted" if self.target_deleted else "a draft"
        return (
            f"{self.target_label} is {what}; the published {self.owner_label} shows it ({self.via})"
        )


Ids: TypeAlias = Mapping[str, Collection[int]]


_NAME_COLUMN: Final = {"commitments": "title", "actors": "name", "sources": "title",
                       "indicators": "name"}  # fmt: skip


def _scan(
    session: Session, *, owners: Ids | None, targets: Ids | None, hidden: Ids | None
) -> list[HiddenReference]:
    """References from published, undeleted owners to targets that are hidden.

    `owners`/`targets` narrow the scan to those ids per table (None: all).
    `hidden` names targets to treat as hidden although they are not yet (a
    record about to be withdrawn); without it, hidden means draft or deleted.
    """
    parts = []
    for ref in REFERENCES:
        if owners is not None and not owners.get(ref.owner):
            continue
        if targets is not None and not targets.get(ref.target):
            continue
        pairs = ref.pairs.subquery()
        owner_id, target_id = pairs.c[0], pairs.c[1]
        # Aliased: an owner and its target may be of one table (an actor's parent).
        owner_model: Any = aliased(MODEL_OF[ref.owner])
        target_model: Any = aliased(MODEL_OF[ref.target])
        conditions: list[ColumnElement[bool]] = [*visible_sql(owner_model)]
        if owners is not None:
            conditions.append(owner_id.in_(sorted(owners[ref.owner])))
        if targets is not None:
            conditions.append(target_id.in_(sorted(targets[ref.target])))
        if hidden is not None:
            wanted = sorted(hidden.get(ref.target, ()))
            if not wanted:
                continue
            conditions.append(target_model.id.in_(wanted))
        else:
            conditions.append(hidden_sql(target_model))
        parts.append(
            select(
                literal(ref.owner).label("owner"),
                owner_id.label("owner_id"),
                getattr(owner_model, _NAME_COLUMN[ref.owner]).label("owner_name"),
                literal(ref.via).label("via"),
                literal(ref.target).label("target"),
                target_model.id.label("target_id"),
                getattr(target_model, _NAME_COLUMN[ref.target]).label("target_name"),
                target_model.deleted_at.is_not(None).label("target_deleted"),
            )
            .select_from(pairs)
            .join(owner_model, owner_model.id == owner_id)
            .join(target_model, target_model.id == target_id)
            .where(and_(*conditions))
        )
    if not parts:
        return []
    rows = session.execute(union_all(*parts)).all()
    found = {
        HiddenReference(r.owner, r.owner_id, r.owner_name, r.via, r.target, r.target_id,
                        r.target_name, bool(r.target_deleted))
        for r in rows
    }  # fmt: skip
    return sorted(found, key=lambda h: (h.owner, h.owner_id, h.target, h.target_id, h.via))


def hidden_references(session: Session, owners: Ids | None = None) -> list[HiddenReference]:
    """What published records (those in `owners`, or all) show that readers cannot see."""
    session.flush()
    return _scan(session, owners=owners, targets=None, hidden=None)


def shown_by_published(session: Session, targets: Ids) -> list[HiddenReference]:
    """The published records that show these records (which are about to be hidden)."""
    session.flush()
    return _scan(session, owners=None, targets=targets, hidden=targets)


def ids_of(records: Iterable[Publishable]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for record in records:
        found.setdefault(TABLE_OF[type(record)], set()).add(record.id)
    return found


def describe(hidden: list[HiddenReference], limit: int = 5) -> str:
    shown = "; ".join(h.describe() for h in hidden[:limit])
    more = f" (and {len(hidden) - limit} more)" if len(hidden) > limit else ""
    return shown + more
