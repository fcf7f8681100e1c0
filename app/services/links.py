"""Choosing the commitment a commitment links to: part of, tops up, supersedes.

Editors name it by its number, by a pasted link to its page, or by words from
its title. Words go through the list page's own search (`browse.conditions`),
so "patrols" finds here what it finds on /commitments; when words match, the
form lists the matches to pick from and nothing is linked until the editor
has picked one — a match is never chosen silently.

Drafts may be linked (editors see them; readers do not see a link to a draft,
see `commitments._visible_link`). Deleted commitments are not offered and
cannot be newly linked; a link made before the deletion is kept, so the
commitment stays editable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.models import Commitment, CommitmentActor
from app.services import browse
from app.services.commitments import visible
from app.vocab import PublicationState

# A pick list longer than this is no help: the editor adds words instead.
MAX_CANDIDATES = 10
# The <datalist> offered while typing: related and recent commitments.
MAX_SUGGESTIONS = 100
MAX_RELATED = 50


@dataclass(frozen=True)
class Target:
    """A commitment as an editor recognises it: title, announcement date, number."""

    id: int
    title: str
    announced_on: dt.date
    announced_precision: str
    draft: bool


@dataclass(frozen=True)
class Found:
    """What some words matched: how many, and the most recently announced of them."""

    words: str
    total: int
    targets: list[Target]


_COLUMNS = (
    Commitment.id,
    Commitment.title,
    Commitment.announced_on,
    Commitment.announced_precision,
    Commitment.state,
)
_NEWEST_FIRST = (Commitment.announced_on.desc(), Commitment.id.desc())


def _targets(session: Session, where: Sequence[ColumnElement[bool]], limit: int) -> list[Target]:
    rows = session.execute(select(*_COLUMNS).where(*where).order_by(*_NEWEST_FIRST).limit(limit))
    return [
        Target(
            id=row.id,
            title=row.title,
            announced_on=row.announced_on,
            announced_precision=row.announced_precision,
            draft=row.state == PublicationState.draft,
        )
        for row in rows
    ]


def targets(session: Session, ids: Iterable[int]) -> dict[int, Target]:
    """The commitments with these ids that are not deleted (drafts included), by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = _targets(session, [*visible(True), Commitment.id.in_(wanted)], len(wanted))
    return {target.id: target for target in found}


def search(session: Session, text: str, *, exclude: int | None) -> Found:
    """Commitments whose title, summary or quotes have these words, newest first.

    `exclude` (the commitment being edited) is never offered as its own link.
    An empty word list (only punctuation) matches nothing.
    """
    query = browse.parse_query({"q": [text]})
    if not query.words:
        return Found(text, 0, [])
    dialect = session.get_bind().dialect.name
    # `today` only matters to the review and overdue filters, which a bare `q` does not set.
    where = browse.conditions(
        query, dialect=dialect, today=dt.date.min, window_days=0, include_drafts=True
    )
    if exclude is not None:
        where.append(Commitment.id != exclude)
    total = session.scalar(select(func.count()).select_from(Commitment).where(*where)) or 0
    return Found(text, total, _targets(session, where, MAX_CANDIDATES) if total else [])


def problem(
    session: Session, target_id: int, *, own_id: int | None, current_id: int | None
) -> str | None:
    """Why this commitment cannot be linked to, or None when it can.

    `current_id` is what the field links to now: a link to a commitment deleted
    since it was made may stay, so the rest of the form can still be saved.
    """
    if own_id is not None and target_id == own_id:
        return "a commitment cannot point at itself: choose another one"
    target = session.get(Commitment, target_id)
    if target is None:
        return f"there is no commitment {target_id}"
    if target.deleted_at is not None and target_id != current_id:
        return f"commitment {target_id} is deleted; an administrator can restore it first"
    return None


def suggestions(session: Session, *, own_id: int | None, maker_ids: Sequence[int]) -> list[Target]:
    """Commitments to offer while typing: those by the same makers first, then the newest."""
    where = list(visible(True))
    if own_id is not None:
        where.append(Commitment.id != own_id)
    related: list[Target] = []
    if maker_ids:
        by_same_makers = Commitment.id.in_(
            select(CommitmentActor.commitment_id).where(
                CommitmentActor.role == "maker", CommitmentActor.actor_id.in_(maker_ids)
            )
        )
        related = _targets(session, [*where, by_same_makers], MAX_RELATED)
    seen = {target.id for target in related}
    recent = _targets(session, where, MAX_SUGGESTIONS)
    return (related + [t for t in recent if t.id not in seen])[:MAX_SUGGESTIONS]
