"""Reading commitments: what each page loads, in as few queries as it takes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload, selectinload
from sqlalchemy.orm.strategy_options import _AbstractLoad

from app.models import (
    Citation,
    Commitment,
    CommitmentActor,
    Indicator,
    IndicatorCommitment,
    MoneyFlow,
    Observation,
    Review,
)
from app.vocab import DeliveryStatus, PublicationState


def visible(include_drafts: bool) -> list[ColumnElement[bool]]:
    """Conditions that hide deleted records, and drafts from readers."""
    conditions: list[ColumnElement[bool]] = [Commitment.deleted_at.is_(None)]
    if not include_drafts:
        conditions.append(Commitment.state == PublicationState.published)
    return conditions


def _visible_link(
    link: InstrumentedAttribute[Commitment | None], include_drafts: bool
) -> _AbstractLoad:
    """Load a link to another commitment only when the reader may see that commitment.

    A published commitment may name a draft or deleted one as its parent, or
    as what it tops up or supersedes; readers must not learn that record's
    title. With the condition in the loader the attribute is simply None, so
    the page, the API and anything else reading `c.parent` show nothing.
    """
    return joinedload(link.and_(*visible(include_drafts)))


_LIST_LOADS = (
    selectinload(Commitment.actor_links).selectinload(CommitmentActor.actor),
    selectinload(Commitment.money_flows),
    selectinload(Commitment.tags),
    selectinload(Commitment.citations),
)


def list_commitments(
    session: Session, *, include_drafts: bool = False, limit: int = 500
) -> list[Commitment]:
    """Commitments newest first, with what a list row shows."""
    query = (
        select(Commitment)
        .where(*visible(include_drafts))
        .order_by(Commitment.announced_on.desc(), Commitment.id)
        .limit(limit)
        .options(*_LIST_LOADS)
    )
    return list(session.scalars(query))


def get_commitment(
    session: Session, commitment_id: int, *, include_drafts: bool = False
) -> Commitment | None:
    """One commitment with everything its page shows, or None if readers may not see it."""
    query = (
        select(Commitment)
        .where(Commitment.id == commitment_id, *visible(include_drafts))
        # Many-to-one links are joined into the query that loads their parent
        # (one round trip instead of one each); collections use selectinload.
        .options(
            selectinload(Commitment.actor_links).joinedload(CommitmentActor.actor),
            selectinload(Commitment.tags),
            selectinload(Commitment.citations).joinedload(Citation.source),
            selectinload(Commitment.money_flows).options(
                joinedload(MoneyFlow.provider),
                joinedload(MoneyFlow.receiver),
                selectinload(MoneyFlow.citations).joinedload(Citation.source),
            ),
            selectinload(Commitment.reviews)
            .selectinload(Review.evidence)
            .joinedload(Citation.source),
            _visible_link(Commitment.parent, include_drafts),
            _visible_link(Commitment.tops_up, include_drafts),
            _visible_link(Commitment.supersedes, include_drafts),
        )
    )
    return session.scalars(query).one_or_none()


def children_of(
    session: Session, commitment: Commitment, *, include_drafts: bool
) -> list[Commitment]:
    query = (
        select(Commitment)
        .where(Commitment.parent_id == commitment.id, *visible(include_drafts))
        .order_by(Commitment.id)
    )
    return list(session.scalars(query))


def indicators_of(session: Session, commitment: Commitment) -> list[Indicator]:
    query = (
        select(Indicator)
        .join(IndicatorCommitment, IndicatorCommitment.indicator_id == Indicator.id)
        .where(
            IndicatorCommitment.commitment_id == commitment.id,
            Indicator.deleted_at.is_(None),
            Indicator.state == PublicationState.published,
        )
        .order_by(Indicator.id)
        .options(
            selectinload(Indicator.observations)
            .selectinload(Observation.citations)
            .joinedload(Citation.source)
        )
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class ReviewDue:
    commitment: Commitment
    due_on: dt.date
    overdue: bool


def reviews_coming_due(
    session: Session, *, today: dt.date, window_days: int, limit: int = 10
) -> list[ReviewDue]:
    """Published commitments whose next review is overdue or within the window."""
    horizon = today + dt.timedelta(days=window_days)
    query = (
        select(Commitment)
        .where(
            *visible(include_drafts=False),
            Commitment.next_review_on.is_not(None),
            Commitment.next_review_on <= horizon,
        )
        .order_by(Commitment.next_review_on, Commitment.id)
        .limit(limit)
    )
    return [
        ReviewDue(
            commitment=c,
            due_on=c.next_review_on,
            overdue=c.next_review_on < today,
        )
        for c in session.scalars(query)
        if c.next_review_on is not None
    ]


def status_breakdown(session: Session) -> list[tuple[DeliveryStatus, int]]:
    """How many published commitments are in each status, in vocabulary order."""
    query = (
        select(Commitment.status, func.count())
        .where(*visible(include_drafts=False))
        .group_by(Commitment.status)
    )
    counts = Counter({DeliveryStatus(status): count for status, count in session.execute(query)})
    return [(status, counts[status]) for status in DeliveryStatus if counts[status]]
