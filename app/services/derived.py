"""Derived states — overdue, review due, review overdue, never reviewed, superseded, unsourced.

Computed, never stored, and computed in one place: the same rule gives the
SQL used to filter lists and the Python used on a single loaded record, so a
commitment is "overdue" on its page exactly when the list filter finds it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from enum import StrEnum
from typing import Final

from sqlalchemy import ColumnElement, Connection, and_, exists, not_, or_, select, union
from sqlalchemy.orm import Session, aliased

from app.models import Citation, Commitment, MoneyFlow
from app.services import visibility
from app.vocab import CLOSED_STATUSES, DeliveryStatus, FlowStage


class ReviewState(StrEnum):
    overdue = "overdue"  # the next review date has passed
    due = "due"  # the next review date is within the due window
    scheduled = "scheduled"  # a review date beyond the window
    unscheduled = "unscheduled"  # no next review date
    never_reviewed = "never_reviewed"  # no review recorded yet (filter only; overlaps others)


_CLOSED = sorted(status.value for status in CLOSED_STATUSES)


def overdue_sql(today: dt.date) -> ColumnElement[bool]:
    """Deadline passed and the commitment is not delivered, broken or superseded."""
    return and_(
        Commitment.deadline_end_on.is_not(None),
        Commitment.deadline_end_on < today,
        Commitment.status.not_in(_CLOSED),
    )


def is_overdue(commitment: Commitment, today: dt.date) -> bool:
    return (
        commitment.deadline_end_on is not None
        and commitment.deadline_end_on < today
        and commitment.status not in _CLOSED
    )


def review_state_sql(state: ReviewState, today: dt.date, window_days: int) -> ColumnElement[bool]:
    horizon = today + dt.timedelta(days=window_days)
    column = Commitment.next_review_on
    match state:
        case ReviewState.overdue:
            return and_(column.is_not(None), column < today)
        case ReviewState.due:
            return and_(column.is_not(None), column >= today, column <= horizon)
        case ReviewState.scheduled:
            return and_(column.is_not(None), column > horizon)
        case ReviewState.unscheduled:
            return column.is_(None)
        case ReviewState.never_reviewed:
            return Commitment.last_reviewed_on.is_(None)


def due_or_overdue_sql(today: dt.date, window_days: int) -> ColumnElement[bool]:
    return or_(
        review_state_sql(ReviewState.overdue, today, window_days),
        review_state_sql(ReviewState.due, today, window_days),
    )


def review_state(commitment: Commitment, today: dt.date, window_days: int) -> ReviewState:
    """The one review state a commitment's page shows (never_reviewed is a filter only)."""
    due_on = commitment.next_review_on
    if due_on is None:
        return ReviewState.unscheduled
    if due_on < today:
        return ReviewState.overdue
    if due_on <= today + dt.timedelta(days=window_days):
        return ReviewState.due
    return ReviewState.scheduled


# ------------------------------------------------------------- superseded

# Stages that are promises: a superseded commitment's promises are replaced by
# its successor's. Money paid or spent stays paid and spent.
PROMISE_STAGES: Final = frozenset({FlowStage.pledge, FlowStage.commitment})


def superseded_sql() -> ColumnElement[bool]:
    """The commitment was replaced: its status is superseded, or a published,
    undeleted commitment says it supersedes it (a draft successor does not count).

    Applies to `Commitment` in the enclosing query.
    """
    successor = aliased(Commitment)
    # Uncorrelated: the database builds the set of replaced ids once per query.
    replaced = select(successor.supersedes_id).where(
        successor.supersedes_id.is_not(None),
        *visibility.visible_sql(successor),
    )
    return or_(Commitment.status == DeliveryStatus.superseded, Commitment.id.in_(replaced))


def counted_in_totals_sql() -> ColumnElement[bool]:
    """Whether a money flow counts in money totals (README, "Counting rules").

    A pledge or binding commitment of a superseded commitment is left out, so
    re-announced money is never counted twice; payments and spending stay
    counted. The funding report, the dashboard, actor pages and
    /api/v1/totals all decide with this one rule. Needs `MoneyFlow` and its
    `Commitment` in the query.
    """
    promise = MoneyFlow.stage.in_(sorted(stage.value for stage in PROMISE_STAGES))
    return not_(and_(promise, superseded_sql()))


# -------------------------------------------------------------- unsourced
# A commitment is unsourced when neither it nor any of its money flows has a
# quote. A quote on a flow ("a further €31.4 million") supports the pledge as
# much as one on the commitment. (Review evidence does not count: it supports
# a verdict, not the commitment.) The page badge, the list filter and its
# badge, the CSV column and the API all use the rule below.


def unsourced_sql() -> ColumnElement[bool]:
    """Correlates with `Commitment` in the enclosing query."""
    flow = aliased(MoneyFlow)
    return and_(
        ~exists().where(Citation.commitment_id == Commitment.id),
        ~exists().where(flow.commitment_id == Commitment.id, Citation.money_flow_id == flow.id),
    )


def sourced_ids(db: Session | Connection, ids: Collection[int]) -> set[int]:
    """Which of these commitments are sourced (the complement of `unsourced_sql`), in one query."""
    if not ids:
        return set()
    own = select(Citation.commitment_id).where(Citation.commitment_id.in_(ids))
    via_flows = (
        select(MoneyFlow.commitment_id)
        .join(Citation, Citation.money_flow_id == MoneyFlow.id)
        .where(MoneyFlow.commitment_id.in_(ids))
    )
    return {cid for cid in db.execute(union(own, via_flows)).scalars() if cid is not None}


def is_unsourced(commitment: Commitment) -> bool:
    """The same rule on a loaded commitment (its citations and flows' citations loaded)."""
    return not commitment.citations and not any(f.citations for f in commitment.money_flows)
