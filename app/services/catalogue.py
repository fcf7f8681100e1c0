"""Reading sources, actors and indicators for their list and detail pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

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
from app.services import actors, totals, visibility
from app.services.commitments import visible

LIST_LIMIT = 500
DETAIL_LIMIT = 200


def _published(
    model: type[Source] | type[Actor] | type[Indicator], include_drafts: bool
) -> list[ColumnElement[bool]]:
    return visibility.visible_sql(model, include_drafts=include_drafts)


# ---------------------------------------------------------------- sources


def visible_citation(include_drafts: bool) -> ColumnElement[bool]:
    """A citation of a record readers may see.

    The commitment quoted — or the commitment of the money flow or review, or
    the indicator of the observation — must itself be visible: a quote must
    not reveal a draft's title, an indicator's name, or that they exist.
    """
    visible_commitments = select(Commitment.id).where(*visible(include_drafts))
    visible_indicators = select(Indicator.id).where(*_published(Indicator, include_drafts))
    flow_commitment = select(MoneyFlow.commitment_id).where(MoneyFlow.id == Citation.money_flow_id)
    review_commitment = select(Review.commitment_id).where(Review.id == Citation.review_id)
    observed = select(Observation.indicator_id).where(Observation.id == Citation.observation_id)
    return (
        Citation.commitment_id.in_(visible_commitments)
        | flow_commitment.scalar_subquery().in_(visible_commitments)
        | review_commitment.scalar_subquery().in_(visible_commitments)
        | observed.scalar_subquery().in_(visible_indicators)
    )


@dataclass(frozen=True)
class SourceRow:
    source: Source
    citation_count: int


def list_sources(session: Session, *, include_drafts: bool = False) -> tuple[list[SourceRow], int]:
    """Sources, newest publication first (at most LIST_LIMIT), and how many there are."""
    counts = (
        select(Citation.source_id, func.count().label("n"))
        .where(visible_citation(include_drafts))
        .group_by(Citation.source_id)
        .subquery()
    )
    query = (
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .where(*_published(Source, include_drafts))
        # As on a source's page: a draft or deleted publisher is not named.
        .options(selectinload(Source.publisher_actor.and_(*_published(Actor, include_drafts))))
        .order_by(Source.published_on.desc().nulls_last(), Source.id.desc())
        .limit(LIST_LIMIT)
    )
    rows = [SourceRow(s, n) for s, n in session.execute(query)]
    total = session.scalar(
        select(func.count()).select_from(Source).where(*_published(Source, include_drafts))
    )
    return rows, total or 0


@dataclass(frozen=True)
class SourceDetail:
    source: Source
    citations: list[Citation]
    citation_count: int


def get_source(
    session: Session, source_id: int, *, include_drafts: bool = False
) -> SourceDetail | None:
    """A source and the citations quoting it, each with the record it supports."""
    source = session.scalars(
        select(Source)
        .where(Source.id == source_id, *_published(Source, include_drafts))
        # A draft or deleted publisher is not named (the page shows the
        # publisher as written, if any, without a link).
        .options(selectinload(Source.publisher_actor.and_(*_published(Actor, include_drafts))))
    ).one_or_none()
    if source is None:
        return None
    citation_where = [Citation.source_id == source_id, visible_citation(include_drafts)]
    citations = list(
        session.scalars(
            select(Citation)
            .where(*citation_where)
            .order_by(Citation.id)
            .limit(DETAIL_LIMIT)
            .options(
                selectinload(Citation.commitment),
                selectinload(Citation.money_flow).selectinload(MoneyFlow.commitment),
                selectinload(Citation.review).selectinload(Review.commitment),
                selectinload(Citation.observation).selectinload(Observation.indicator),
            )
        )
    )
    count = session.scalar(select(func.count()).select_from(Citation).where(*citation_where))
    return SourceDetail(source, citations, count or 0)


# ----------------------------------------------------------------- actors


@dataclass(frozen=True)
class ActorRow:
    actor: Actor
    made: int
    received: int


def published_actors(session: Session) -> list[Actor]:
    """Every actor a reader may see, by name (the funding report's choices)."""
    return list(
        session.scalars(select(Actor).where(*visibility.visible_sql(Actor)).order_by(Actor.name))
    )


def list_actors(session: Session, *, include_drafts: bool = False) -> list[ActorRow]:
    """Actors by name, with how many visible commitments each made and received."""
    visible_ids = select(Commitment.id).where(*visible(include_drafts))
    counts = {
        (actor_id, role): n
        for actor_id, role, n in session.execute(
            select(CommitmentActor.actor_id, CommitmentActor.role, func.count())
            .where(CommitmentActor.commitment_id.in_(visible_ids))
            .group_by(CommitmentActor.actor_id, CommitmentActor.role)
        )
    }
    actors = session.scalars(
        select(Actor)
        .where(*_published(Actor, include_drafts))
        # A draft or deleted parent is not shown to readers, not even its id.
        .options(selectinload(Actor.parent.and_(*_published(Actor, include_drafts))))
        .order_by(Actor.name)
        .limit(LIST_LIMIT)
    )
    return [
        ActorRow(a, counts.get((a.id, "maker"), 0), counts.get((a.id, "recipient"), 0))
        for a in actors
    ]


@dataclass(frozen=True)
class ActorDetail:
    actor: Actor
    children: list[Actor]
    made: list[Commitment]
    made_count: int
    received: list[Commitment]
    received_count: int
    # Counted as /funding?provider= (and receiver=) counts them: with the
    # actor's sub-units (`included`), by the one totals query.
    included: list[Actor]
    provided_totals: list[totals.Total]
    received_totals: list[totals.Total]


def get_actor(
    session: Session, actor_id: int, *, include_drafts: bool = False
) -> ActorDetail | None:
    """An actor, what it pledged and received, and money totals per currency and stage."""
    actor = session.scalars(
        select(Actor)
        .where(Actor.id == actor_id, *_published(Actor, include_drafts))
        .options(selectinload(Actor.parent.and_(*_published(Actor, include_drafts))))
    ).one_or_none()
    if actor is None:
        return None
    children = list(
        session.scalars(
            select(Actor)
            .where(Actor.parent_id == actor_id, *_published(Actor, include_drafts))
            .order_by(Actor.name)
        )
    )

    def in_role(role: str) -> tuple[list[Commitment], int]:
        where = [
            *visible(include_drafts),
            Commitment.id.in_(
                select(CommitmentActor.commitment_id).where(
                    CommitmentActor.actor_id == actor_id, CommitmentActor.role == role
                )
            ),
        ]
        rows = list(
            session.scalars(
                select(Commitment)
                .where(*where)
                .order_by(Commitment.announced_on.desc(), Commitment.id.desc())
                .limit(DETAIL_LIMIT)
            )
        )
        count = session.scalar(select(func.count()).select_from(Commitment).where(*where))
        return rows, count or 0

    # The actor and every actor below it, as the funding report's filters
    # take them; the page names the sub-units it counts (those a reader may see).
    family = actors.actor_tree(session).with_descendants(actor_id)
    included = list(
        session.scalars(
            select(Actor)
            .where(Actor.id.in_(sorted(family - {actor_id})), *_published(Actor, include_drafts))
            .order_by(Actor.name)
        )
    )
    made, made_count = in_role("maker")
    received, received_count = in_role("recipient")
    return ActorDetail(
        actor=actor,
        children=children,
        made=made,
        made_count=made_count,
        received=received,
        received_count=received_count,
        included=included,
        provided_totals=totals.flow_totals(session, totals.FlowScope(provider_ids=family)),
        received_totals=totals.flow_totals(session, totals.FlowScope(receiver_ids=family)),
    )


# ------------------------------------------------------------- indicators


def get_indicator(
    session: Session, indicator_id: int, *, include_drafts: bool = False
) -> Indicator | None:
    """An indicator with its observations (and their quotes) and its commitments."""
    return session.scalars(
        select(Indicator)
        .where(Indicator.id == indicator_id, *_published(Indicator, include_drafts))
        .options(
            selectinload(Indicator.observations)
            .selectinload(Observation.citations)
            .selectinload(Citation.source),
            selectinload(Indicator.commitments),
        )
    ).one_or_none()


@dataclass(frozen=True)
class IndicatorRow:
    indicator: Indicator
    observation_count: int


def list_indicators(session: Session, *, include_drafts: bool = False) -> list[IndicatorRow]:
    """Indicators by name (at most 500), with how many observations each has."""
    counts = (
        select(Observation.indicator_id, func.count().label("n"))
        .group_by(Observation.indicator_id)
        .subquery()
    )
    rows = session.execute(
        select(Indicator, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.indicator_id == Indicator.id)
        .where(*_published(Indicator, include_drafts))
        .order_by(Indicator.name, Indicator.id)
        .limit(LIST_LIMIT)
    )
    return [IndicatorRow(indicator, count) for indicator, count in rows]


def visible_commitments(
    commitments: list[Commitment], *, include_drafts: bool = False
) -> list[Commitment]:
    """Filter loaded commitments the way `visible()` filters queries."""
    return [c for c in commitments if visibility.is_visible(c, include_drafts=include_drafts)]
