"""What is due: the review queue, its counts, and the dated events of the calendar feed.

One query path serves every rendering: `/reviews/due` (HTML, a page at a
time), `/reviews/due.csv` (every row) and the dashboard panel read
`queue_query`; `/reviews.ics` reads `dated_query` with the same filters.
Review states come only from `app.services.derived`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from app import errors
from app.models import Actor, Commitment, CommitmentActor, CommitmentTag, Tag
from app.services import derived, visibility
from app.services.browse import BadQuery, Cursor, decode_cursor, encode_cursor
from app.services.commitments import visible
from app.services.derived import ReviewState

ROLES = ("maker", "recipient")


class FilterError(errors.BadRequest, LookupError):
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
                *visibility.visible_sql(Actor),
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


# ------------------------------------------------------------------ pages

QUEUE_PAGE_SIZE = 100
MAX_QUEUE_PAGE_SIZE = 500
# What a page token says it orders; a token of another list is refused.
_QUEUE_ORDER = "reviews-due"

# A row's place in the queue's order: (next review date, commitment id).
QueueKey = tuple[dt.date, int]


class PagingError(errors.BadRequest, ValueError):
    """A page token that was altered or belongs elsewhere; the message says which."""


@dataclass(frozen=True)
class QueuePaging:
    """Which rows to list: `size` of them, after (or before) a place in the queue."""

    size: int = QUEUE_PAGE_SIZE
    after: QueueKey | None = None
    before: QueueKey | None = None


def page_token(key: QueueKey, secret: str) -> str:
    """A signed, URL-safe token for a place in the queue (what `after`/`before` carry)."""
    return encode_cursor(Cursor(_QUEUE_ORDER, key[0].isoformat(), key[1]), secret)


def read_token(name: str, token: str, secret: str) -> QueueKey:
    """The place a page token names; PagingError naming the parameter if it was altered."""
    try:
        cursor = decode_cursor(token, secret, _QUEUE_ORDER)
    except BadQuery as exc:
        raise PagingError(f"{name}: {exc}") from None
    try:
        return dt.date.fromisoformat(cursor.value), cursor.id
    except (TypeError, ValueError):
        raise PagingError(f"{name}: page token is not valid; start again from page one") from None


def parse_paging(
    *, size: int | None, after: str | None, before: str | None, secret: str
) -> QueuePaging:
    """Check the page size and read the page tokens; PagingError if either is bad."""
    if size is not None and not 1 <= size <= MAX_QUEUE_PAGE_SIZE:
        raise PagingError(f"size: use a number from 1 to {MAX_QUEUE_PAGE_SIZE} (rows a page)")
    if after and before:
        raise PagingError("after: give either after or before, not both")
    return QueuePaging(
        size=size or QUEUE_PAGE_SIZE,
        after=read_token("after", after, secret) if after else None,
        before=read_token("before", before, secret) if before else None,
    )


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue: rows `first`–`last` of `total`, most urgent first."""

    items: list[QueueItem]
    size: int
    first: int  # 1-based place of the first row listed; 0 when none is
    last: int
    total: int
    next_key: QueueKey | None  # `after` of the next page
    previous_key: QueueKey | None  # `before` of the previous page


def _before(key: QueueKey) -> ColumnElement[bool]:
    """Rows ahead of `key` in the queue's order (next review date, then id)."""
    day, row_id = key
    return or_(
        Commitment.next_review_on < day,
        and_(Commitment.next_review_on == day, Commitment.id < row_id),
    )


def _after(key: QueueKey) -> ColumnElement[bool]:
    day, row_id = key
    return or_(
        Commitment.next_review_on > day,
        and_(Commitment.next_review_on == day, Commitment.id > row_id),
    )


def queue_page(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    filters: DueFilters = DueFilters(),
    state: ReviewState | None = None,
    paging: QueuePaging = QueuePaging(),
) -> QueuePage:
    """One page of `queue_query`'s rows, by key: pages never skip or repeat a row.

    Queue rows always have a next review date (due or overdue needs one), so
    the key (next_review_on, id) is never NULL.
    """
    query = queue_query(today, window_days, filters, state).options(*_ROW_LOADS)
    if paging.before is not None:
        query = query.where(_before(paging.before)).order_by(None)
        query = query.order_by(Commitment.next_review_on.desc(), Commitment.id.desc())
    elif paging.after is not None:
        query = query.where(_after(paging.after))
    rows = list(session.scalars(query.limit(paging.size)))
    if paging.before is not None:
        rows.reverse()
    # Where the page sits: every matching row, and those ahead of the page, in one count.
    ahead = func.count(case((_before(_key(rows[0])), 1))) if rows else literal(0)
    total, above = session.execute(
        queue_query(today, window_days, filters, state)
        .order_by(None)
        .with_only_columns(func.count(), ahead, maintain_column_froms=True)
    ).one()
    if not rows:
        return QueuePage([], paging.size, 0, 0, total, None, None)
    first = above + 1
    last = above + len(rows)
    return QueuePage(
        items=[_item(c, today, window_days) for c in rows],
        size=paging.size,
        first=first,
        last=last,
        total=total,
        next_key=_key(rows[-1]) if last < total else None,
        previous_key=_key(rows[0]) if first > 1 else None,
    )


def _key(commitment: Commitment) -> QueueKey:
    assert commitment.next_review_on is not None
    return commitment.next_review_on, commitment.id


def review_queue(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    filters: DueFilters = DueFilters(),
    state: ReviewState | None = None,
    limit: int | None = None,
) -> list[QueueItem]:
    """Every row of the queue (or the first `limit`), most urgent first, in one list.

    The pages and the API page with `queue_page`; this loads every row's
    commitment, so it suits small queues (tests, scripts), not a page.
    """
    query = queue_query(today, window_days, filters, state).options(*_ROW_LOADS)
    if limit is not None:
        query = query.limit(limit)
    return [_item(c, today, window_days) for c in session.scalars(query)]


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


def _names_by_commitment(
    session: Session, ids: list[int]
) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """Makers, recipients and tag slugs of these commitments, each as 'A; B' in name order."""
    makers: dict[int, list[str]] = defaultdict(list)
    recipients: dict[int, list[str]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    actor_rows = session.execute(
        select(CommitmentActor.commitment_id, CommitmentActor.role, Actor.name)
        .join(Actor, Actor.id == CommitmentActor.actor_id)
        .where(CommitmentActor.commitment_id.in_(ids))
        .order_by(Actor.name)
    )
    for cid, role, name in actor_rows:
        (makers if role == "maker" else recipients)[cid].append(name)
    tag_rows = session.execute(
        select(CommitmentTag.commitment_id, Tag.slug)
        .join(Tag, Tag.id == CommitmentTag.tag_id)
        .where(CommitmentTag.commitment_id.in_(ids))
        .order_by(Tag.slug)
    )
    for cid, slug in tag_rows:
        tags[cid].append(slug)

    def joined(names: dict[int, list[str]]) -> dict[int, str]:
        return {cid: "; ".join(values) for cid, values in names.items()}

    return joined(makers), joined(recipients), joined(tags)


def iter_queue_csv(
    session: Session,
    *,
    today: dt.date,
    window_days: int,
    base_url: str,
    filters: DueFilters = DueFilters(),
    state: ReviewState | None = None,
) -> Iterator[tuple[object, ...]]:
    """The queue's rows for the CSV: plain columns, no ORM objects, streamed.

    Same query (`queue_query`) and same state rules (`derived`) as the page,
    computed in SQL so that tens of thousands of rows stream quickly.
    """
    query = queue_query(today, window_days, filters, state).with_only_columns(
        Commitment.id,
        Commitment.title,
        case(
            (derived.review_state_sql(ReviewState.overdue, today, window_days), "overdue"),
            else_="due",
        ),
        Commitment.next_review_on,
        Commitment.next_review_text,
        Commitment.status,
        Commitment.last_reviewed_on,
        Commitment.deadline_text,
        Commitment.deadline_start_on,
        Commitment.deadline_end_on,
        Commitment.deadline_precision,
        case((derived.overdue_sql(today), True), else_=False),
    )
    result = session.execute(query.execution_options(yield_per=1000))
    # A batch at a time: the batch's names in one query each (no per-row queries).
    for batch in result.partitions():
        makers, recipients, tags = _names_by_commitment(session, [row[0] for row in batch])
        for row in batch:
            cid, title, state_found, due_on, due_text, status, last, *deadline, overdue = row
            yield (
                cid,
                title,
                state_found,
                due_on,
                due_text,
                (today - due_on).days if state_found == "overdue" else 0,
                status,
                last,
                *deadline,
                bool(overdue),
                makers.get(cid, ""),
                recipients.get(cid, ""),
                tags.get(cid, ""),
                f"{base_url}/commitments/{cid}",
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
    )


def iter_dated_commitments(session: Session, filters: DueFilters) -> Iterator[Commitment]:
    """The calendar's commitments, streamed in batches."""
    yield from session.scalars(dated_query(filters).execution_options(yield_per=500))
