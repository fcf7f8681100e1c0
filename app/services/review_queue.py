"""What is due: the review queue, its counts, and the dated events of the calendar feed.

One query path serves every rendering: `/reviews/due` (HTML), `/reviews/due.csv`
and the dashboard panel read `queue_query`; `/reviews.ics` reads `dated_query`
with the same filters. Review states come only from `app.services.derived`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import Actor, Commitment, CommitmentActor, CommitmentTag, Tag
from app.services import derived
from app.services.commitments import visible
from app.services.derived import ReviewState
from app.vocab import PublicationState

ROLES = ("maker", "recipient")


class FilterError(LookupError):
    """A filter names something readers cannot see (an unknown actor or tag)."""


@dataclass(frozen=True)
class DueFilters:
    """Filters shared by the queue, its CSV and the calendar feed."""

    actor_id: int | None = None
    # "maker" or "recipient"; None matches the actor in either role.
    role: str | None = None
    tag: str | None = None  # a tag's slug

    def query_string(self) -> str:
        pairs = {"actor": self.actor_id, "role": self.role, "tag": self.tag}
        return urlencode({key: value for key, value in pairs.items() if value is not None})


@dataclass(frozen=True)
class FilterLabels:
    """What the filters name, for headings ("Reviews due: UK Home Office, tag funding")."""

    actor: Actor | None
    tag: Tag | None


def resolve_filters(session: Session, filters: DueFilters) -> FilterLabels:
    """Load what the filters name, or raise FilterError with a readable message."""
    actor = None
    if filters.actor_id is not None:
        actor = session.scalars(
            select(Actor).where(
                Actor.id == filters.actor_id,
                Actor.deleted_at.is_(None),
                Actor.state == PublicationState.published,
            )
        ).one_or_none()
        if actor is None:
            raise FilterError(f"There is no published actor {filters.actor_id}.")
    tag = None
    if filters.tag is not None:
        tag = session.scalars(select(Tag).where(Tag.slug == filters.tag)).one_or_none()
        if tag is None:
            raise FilterError(f"There is no tag “{filters.tag}”.")
    return FilterLabels(actor=actor, tag=tag)


def filter_conditions(filters: DueFilters) -> list[ColumnElement[bool]]:
    """Published, not deleted, and matching the actor/role/tag filters."""
    conditions = visible(include_drafts=False)
    if filters.actor_id is not None:
        roles = (filters.role,) if filters.role else ROLES
        conditions.append(
            exists().where(
                CommitmentActor.commitment_id == Commitment.id,
                CommitmentActor.actor_id == filters.actor_id,
                CommitmentActor.role.in_(roles),
            )
        )
    if filters.tag is not None:
        conditions.append(
            exists().where(
                CommitmentTag.commitment_id == Commitment.id,
                CommitmentTag.tag_id == Tag.id,
                Tag.slug == filters.tag,
            )
        )
    return conditions


_ROW_LOADS = (
    selectinload(Commitment.actor_links).selectinload(CommitmentActor.actor),
    selectinload(Commitment.tags),
)


# ------------------------------------------------------------------ queue


@dataclass(frozen=True)
class QueueItem:
    commitment: Commitment
    state: ReviewState  # overdue or due
    due_on: dt.date
    # Days past the review date (overdue) or left until it (due, 0 = today).
    days: int
    deadline_overdue: bool


QUEUE_STATES = (ReviewState.overdue, ReviewState.due)


def queue_query(
    today: dt.date, window_days: int, filters: DueFilters, state: ReviewState | None = None
) -> Select[Commitment]:
    """Reviews due or overdue (or only one of the two), most urgent (longest overdue) first."""
    if state is None:
        condition = derived.due_or_overdue_sql(today, window_days)
    elif state in QUEUE_STATES:
        condition = derived.review_state_sql(state, today, window_days)
    else:
        raise ValueError(f"the queue holds reviews due or overdue, not {state}")
    return (
        select(Commitment)
        .where(*filter_conditions(filters), condition)
        .order_by(Commitment.next_review_on, Commitment.id)
    )


def _item(commitment: Commitment, today: dt.date, window_days: int) -> QueueItem:
    due_on = commitment.next_review_on
    assert due_on is not None  # the query only returns scheduled reviews
    state = derived.review_state(commitment, today, window_days)
    return QueueItem(
        commitment=commitment,
        state=state,
        due_on=due_on,
        days=abs((today - due_on).days),
        deadline_overdue=derived.is_overdue(commitment, today),
    )


def review_queue(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    filters: DueFilters = DueFilters(),
    state: ReviewState | None = None,
    limit: int | None = 500,
) -> list[QueueItem]:
    query = queue_query(today, window_days, filters, state).options(*_ROW_LOADS)
    if limit is not None:
        query = query.limit(limit)
    return [_item(c, today, window_days) for c in session.scalars(query)]


def iter_review_queue(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    filters: DueFilters = DueFilters(),
    state: ReviewState | None = None,
) -> Iterator[QueueItem]:
    """Every queue row, streamed in batches (for the CSV)."""
    query = (
        queue_query(today, window_days, filters, state)
        .options(*_ROW_LOADS)
        .execution_options(yield_per=500)
    )
    for commitment in session.scalars(query):
        yield _item(commitment, today, window_days)


QUEUE_CSV_HEADER = (
    "commitment_id",
    "title",
    "review_state",
    "next_review_on",
    "next_review_text",
    "days_overdue",
    "status",
    "last_reviewed_on",
    "deadline_text",
    "deadline_start_on",
    "deadline_end_on",
    "deadline_precision",
    "deadline_overdue",
    "makers",
    "recipients",
    "tags",
    "url",
)


def queue_csv_row(item: QueueItem, base_url: str) -> tuple[object, ...]:
    c = item.commitment
    return (
        c.id,
        c.title,
        item.state.value,
        item.due_on,
        c.next_review_text,
        item.days if item.state is ReviewState.overdue else 0,
        c.status,
        c.last_reviewed_on,
        c.deadline_text,
        c.deadline_start_on,
        c.deadline_end_on,
        c.deadline_precision,
        item.deadline_overdue,
        "; ".join(a.name for a in c.makers),
        "; ".join(a.name for a in c.recipients),
        "; ".join(t.slug for t in c.tags),
        f"{base_url}/commitments/{c.id}",
    )


# ----------------------------------------------------------------- counts


@dataclass(frozen=True)
class QueueCounts:
    review_overdue: int
    review_due: int
    never_reviewed: int
    deadline_overdue: int
    window_days: int

    @property
    def needing_attention(self) -> int:
        return self.review_overdue + self.review_due


def queue_counts(
    session: Session, *, today: dt.date, window_days: int, filters: DueFilters = DueFilters()
) -> QueueCounts:
    """The dashboard panel's counts, in one query, from the derived-state SQL."""

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        # COUNT of a CASE without ELSE counts the rows where the condition holds;
        # an integer on both databases (SUM would be a Decimal on PostgreSQL).
        return func.count(case((condition, 1)))

    row = session.execute(
        select(
            count(derived.review_state_sql(ReviewState.overdue, today, window_days)),
            count(derived.review_state_sql(ReviewState.due, today, window_days)),
            count(derived.review_state_sql(ReviewState.never_reviewed, today, window_days)),
            count(derived.overdue_sql(today)),
        ).where(*filter_conditions(filters))
    ).one()
    return QueueCounts(
        review_overdue=row[0],
        review_due=row[1],
        never_reviewed=row[2],
        deadline_overdue=row[3],
        window_days=window_days,
    )


# --------------------------------------------------------------- calendar


def dated_query(filters: DueFilters) -> Select[Commitment]:
    """Commitments with a next review date or a deadline: the calendar's events."""
    return (
        select(Commitment)
        .where(
            *filter_conditions(filters),
            or_(Commitment.next_review_on.is_not(None), Commitment.deadline_end_on.is_not(None)),
        )
        .order_by(Commitment.id)
        .options(*_ROW_LOADS)
    )


def dated_commitments(session: Session, filters: DueFilters) -> list[Commitment]:
    return list(session.scalars(dated_query(filters)))
