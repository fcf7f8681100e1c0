"""Rules about actors that other rules build on: the tree of actors and financial years.

An actor's financial year starts in its own `fiscal_year_start_month`, else in
its parent's, else in its grandparent's…, else in January. Border Force under
the Home Office under HM Government (April) keeps April years. This is the one
place that walks the tree: the forms, the API, the CSV import and the funding
report all read a "2022-23" with `fiscal_start_month` (or an `ActorTree`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Actor


@dataclass(frozen=True)
class ActorTree:
    """Every actor's parent and own financial-year month, read once."""

    parent: dict[int, int | None]
    fy_month: dict[int, int | None]

    def fiscal_month(self, actor_id: int | None) -> int:
        """The actor's financial-year start month, else its parent's…, else January."""
        seen: set[int] = set()
        while actor_id is not None and actor_id not in seen:
            seen.add(actor_id)
            month = self.fy_month.get(actor_id)
            if month is not None:
                return month
            actor_id = self.parent.get(actor_id)
        return 1

    def with_descendants(self, actor_id: int) -> set[int]:
        """The actor and every actor below it (a government with its ministries…)."""
        children: dict[int, list[int]] = {}
        for child, parent in self.parent.items():
            if parent is not None:
                children.setdefault(parent, []).append(child)
        found = {actor_id}
        todo = [actor_id]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def ancestors(self, actor_id: int) -> list[int]:
        """The actor's parent, grandparent… (nearest first; a cycle stops the walk)."""
        found: list[int] = []
        current = self.parent.get(actor_id)
        while current is not None and current not in found and current != actor_id:
            found.append(current)
            current = self.parent.get(current)
        return found


def actor_tree(session: Session) -> ActorTree:
    rows = session.execute(select(Actor.id, Actor.parent_id, Actor.fiscal_year_start_month)).all()
    return ActorTree({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows})


def fiscal_start_month(session: Session, actor_id: int | None) -> int:
    """The month the actor's financial year starts in (inherited up the tree; else January)."""
    month = None
    seen: set[int] = set()
    while actor_id is not None and actor_id not in seen:
        seen.add(actor_id)
        row = session.execute(
            select(Actor.parent_id, Actor.fiscal_year_start_month).where(Actor.id == actor_id)
        ).one_or_none()
        if row is None:
            break
        actor_id, month = row
        if month is not None:
            return int(month)
    return 1


def with_descendants(session: Session, actor_ids: Iterable[int]) -> set[int]:
    tree = actor_tree(session)
    found: set[int] = set()
    for actor_id in actor_ids:
        found |= tree.with_descendants(actor_id)
    return found
