"""Reading commitments: what each page loads, in as few queries as it takes."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    bindparam,
    exists,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.strategy_options import _AbstractLoad

from app.models import (
    Citation,
    Commitment,
    CommitmentActor,
    CommitmentTag,
    Indicator,
    IndicatorCommitment,
    MoneyFlow,
    Observation,
    Review,
    Tag,
)
from app.services import visibility
from app.vocab import DeliveryStatus


def visible(include_drafts: bool) -> list[ColumnElement[bool]]:
    """Conditions that hide deleted records, and drafts from readers."""
    return visibility.visible_sql(Commitment, include_drafts=include_drafts)


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


_ID: BindParameter[int] = bindparam("commitment_id", type_=Integer)


@functools.cache
def _detail_statement(include_drafts: bool) -> Select[Any]:
    """The commitment with its actors and linked commitments, and which collections it has.

    Statements on this page are built once and reused with a bound id:
    SQLAlchemy computes a cache key for a statement and its loader options on
    every new statement object, but memoises it on a reused one. The actor
    links (a handful of rows) and the many-to-one links are joined in; the
    EXISTS columns say which of the other collections are worth a query (most
    commitments lack several: no money, no review yet, no quote, no children).
    """
    child = aliased(Commitment)

    def has(column: Any) -> Any:
        return exists().where(column == Commitment.id)

    return (
        select(
            Commitment,
            has(CommitmentTag.commitment_id).label("has_tags"),
            has(Citation.commitment_id).label("has_citations"),
            has(MoneyFlow.commitment_id).label("has_money_flows"),
            has(Review.commitment_id).label("has_reviews"),
            has(child.parent_id).label("has_children"),
            has(IndicatorCommitment.commitment_id).label("has_indicators"),
        )
        .where(Commitment.id == _ID, *visible(include_drafts))
        .options(
            joinedload(Commitment.actor_links).joinedload(CommitmentActor.actor),
            _visible_link(Commitment.parent, include_drafts),
            _visible_link(Commitment.tops_up, include_drafts),
            _visible_link(Commitment.supersedes, include_drafts),
        )
    )


@functools.cache
def _collection_statements() -> dict[str, Select[Any]]:
    """One query per collection of a commitment, each with its own nested links joined in.

    The same rows, in the same order, as selectinload on the relationships
    would give (their order_by), at a third of the cost in Python: a reused
    statement and no per-load option processing.
    """
    return {
        "tags": select(Tag)
        .select_from(CommitmentTag)
        .join(Tag, Tag.id == CommitmentTag.tag_id)
        .where(CommitmentTag.commitment_id == _ID),
        "citations": select(Citation)
        .where(Citation.commitment_id == _ID)
        .order_by(Citation.id)
        .options(joinedload(Citation.source)),
        "money_flows": select(MoneyFlow)
        .where(MoneyFlow.commitment_id == _ID)
        .order_by(MoneyFlow.value_on, MoneyFlow.id)
        .options(
            joinedload(MoneyFlow.provider),
            joinedload(MoneyFlow.receiver),
            joinedload(MoneyFlow.citations).joinedload(Citation.source),
        ),
        "reviews": select(Review)
        .where(Review.commitment_id == _ID)
        .order_by(Review.reviewed_on, Review.id)
        .options(joinedload(Review.evidence).joinedload(Citation.source)),
    }


def get_commitment(
    session: Session, commitment_id: int, *, include_drafts: bool = False
) -> Commitment | None:
    """One commitment with everything its page shows, or None if readers may not see it.

    Loaded: actor links with their actors, tags, quotes with their sources,
    money flows (with provider, receiver and quotes), reviews (with evidence),
    parent, what it tops up and what it supersedes.
    """
    row = _load(session, commitment_id, include_drafts)
    return row[0] if row is not None else None


def _load(
    session: Session, commitment_id: int, include_drafts: bool
) -> tuple[Commitment, bool, bool] | None:
    params = {"commitment_id": commitment_id}
    # unique(): the joined actor links repeat the commitment once per link.
    row = session.execute(_detail_statement(include_drafts), params).unique().one_or_none()
    if row is None:
        return None
    commitment = row[0]
    flags = dict(zip(("tags", "citations", "money_flows", "reviews"), row[1:5], strict=True))
    loaded = inspect(commitment).dict
    for name, statement in _collection_statements().items():
        if name in loaded:
            # Already in this session (say, reloaded after a write): left as it
            # is, as an eager loader leaves an existing object's collections.
            continue
        # An empty collection is known from the EXISTS column: no query for it.
        items = list(session.scalars(statement, params).unique()) if flags[name] else []
        set_committed_value(commitment, name, items)
    return commitment, bool(row[5]), bool(row[6])


_IDS: BindParameter[list[int]] = bindparam("commitment_ids", expanding=True)


@functools.cache
def _list_statements() -> tuple[Select[CommitmentActor], Select[MoneyFlow], Select[int, Tag]]:
    """What a list row shows of each commitment: actor links (with actors), money
    flows, tags; one query each for a whole page, built once (see `load_for_list`)."""
    return (
        select(CommitmentActor)
        .where(CommitmentActor.commitment_id.in_(_IDS))
        .options(joinedload(CommitmentActor.actor)),
        select(MoneyFlow)
        .where(MoneyFlow.commitment_id.in_(_IDS))
        .order_by(MoneyFlow.commitment_id, MoneyFlow.value_on, MoneyFlow.id),
        select(CommitmentTag.commitment_id, Tag)
        .select_from(CommitmentTag)
        .join(Tag, Tag.id == CommitmentTag.tag_id)
        .where(CommitmentTag.commitment_id.in_(_IDS)),
    )


def load_for_list(session: Session, rows: list[Commitment]) -> None:
    """Load the actor links (with actors), money flows and tags of a page of commitments.

    The same rows, in the same order per commitment, as selectinload on those
    relationships, at a fraction of its cost in Python: SQLAlchemy's selectin
    loader processed its options and built cache keys again for every page,
    which took longer than the three queries.
    """
    if not rows:
        return
    params = {"commitment_ids": [c.id for c in rows]}
    links_q, flows_q, tags_q = _list_statements()
    links: dict[int, list[CommitmentActor]] = {}
    for link in session.scalars(links_q, params):
        links.setdefault(link.commitment_id, []).append(link)
    flows: dict[int, list[MoneyFlow]] = {}
    for flow in session.scalars(flows_q, params):
        flows.setdefault(flow.commitment_id, []).append(flow)
    tags: dict[int, list[Tag]] = {}
    for commitment_id, tag in session.execute(tags_q, params):
        tags.setdefault(commitment_id, []).append(tag)
    for c in rows:
        loaded = inspect(c).dict
        for name, found in (("actor_links", links), ("money_flows", flows), ("tags", tags)):
            if name not in loaded:  # as an eager loader: never over a loaded collection
                set_committed_value(c, name, found.get(c.id, []))


@dataclass(frozen=True)
class CommitmentPage:
    commitment: Commitment
    children: list[Commitment]
    indicators: list[Indicator]


def commitment_page(
    session: Session, commitment_id: int, *, include_drafts: bool = False
) -> CommitmentPage | None:
    """Everything the commitment page shows (as `get_commitment`, `children_of` and
    `indicators_of`), skipping the queries for children and indicators it has not got."""
    row = _load(session, commitment_id, include_drafts)
    if row is None:
        return None
    commitment, has_children, has_indicators = row
    return CommitmentPage(
        commitment=commitment,
        children=children_of(session, commitment, include_drafts=include_drafts)
        if has_children
        else [],
        indicators=indicators_of(session, commitment) if has_indicators else [],
    )


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
            *visibility.visible_sql(Indicator),
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
