"""The demo dataset: the UK–France joint statement of 28 November 2020, entered faithfully.

Every quote below is an exact substring of the shipped statement
(`app/data/…txt`), with the paragraph it comes from. Paragraphs are counted
from the first after "Published …"; bullet lists belong to the paragraph
that introduces them. A test checks both, and that no amount, date or figure
appears that the statement does not contain.

Judgements an expert would make, and where the data records them:
* "effective in the coming days" has no date: it is a *fuzzy* deadline read
  as early December 2020 (precision `fuzzy`, wording kept in deadline_text).
* "Within the next 6 months" of 28 November 2020 is a review due by
  28 May 2021 (wording kept in next_review_text).
* "around 140" and "approximately 1,100" are *approximately* qualifiers; "since it
  opened in July" is a range from July 2020 to the statement's date.
* The statement gives no period for the €31.4 million; none is invented. It
  is valued on the announcement date, which puts it in UK fiscal year 2020-21.
* The four "recent efforts" were already under way on the day: each has a
  review dated 28 November 2020 finding `in_progress`, with the statement's
  words as evidence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import money, periods
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
    Tag,
)
from app.services import changes
from app.vocab import (
    ActorKind,
    AmountQualifier,
    ChangeAction,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
    SourceKind,
)

STATEMENT_FILE = "uk-france-joint-statement-2020-11-28.txt"
LOADER = "demo loader"
STATEMENT_DATE = dt.date(2020, 11, 28)
REVIEW_DUE = periods.add_months(STATEMENT_DATE, 6)  # "Within the next 6 months"


def statement_text() -> str:
    return resources.files("app.data").joinpath(STATEMENT_FILE).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Quote:
    text: str
    locator: str


@dataclass(frozen=True)
class MeasureSpec:
    key: str
    kind: CommitmentKind
    title: str
    summary: str
    quotes: tuple[Quote, ...]
    makers: tuple[str, ...]
    recipients: tuple[str, ...] = ()
    parent: str | None = None
    tags: tuple[str, ...] = ()
    deadline: tuple[str, periods.Period] | None = None
    next_review: tuple[str, dt.date] | None = None
    already_under_way: bool = False
    is_additional: bool = False


@dataclass(frozen=True)
class ObservationSpec:
    value: Decimal
    value_text: str
    qualifier: AmountQualifier
    period_text: str
    period: periods.Period
    quote: Quote


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    unit: str
    description: str
    commitments: tuple[str, ...]
    observations: tuple[ObservationSpec, ...] = field(default_factory=tuple)


HOME_OFFICE = "UK Home Office"
FRENCH_INTERIOR = "French Ministry of the Interior"
JIC = "Joint intelligence cell (JIC)"

ACTORS = (
    # (name, kind, country, fiscal-year start month, description)
    (HOME_OFFICE, ActorKind.ministry, "GB", 4, "The Home Secretary's department."),
    (FRENCH_INTERIOR, ActorKind.ministry, "FR", 1, "The Interior Minister's department."),
    (
        JIC,
        ActorKind.joint_body,
        None,
        None,
        "The UK–France joint intelligence cell targeting migrant trafficking, opened July 2020.",
    ),
)

COMING_DAYS = (
    "This plan will be effective in the coming days",
    # Read as the fortnight after the statement; flagged fuzzy, not a date.
    periods.Period.fuzzy(STATEMENT_DATE, dt.date(2020, 12, 12)),
)
SIX_MONTHS = ("Within the next 6 months", REVIEW_DUE)

PLAN_QUOTE = Quote(
    "the UK and France have agreed a new joint operational plan to optimise the use of "
    "human resources and equipment with the aim of completely stopping the crossings",
    "para 6",
)
PLAN_EFFECTIVE_QUOTE = Quote(
    "This plan will be effective in the coming days and includes:", "para 7"
)
REVIEW_QUOTE = Quote(
    "Within the next 6 months, the results will be reviewed to evaluate the effectiveness "
    "and impact of these additional measures",
    "para 9",
)
PLEDGE_QUOTE = Quote(
    "The UK has pledged to make a further financial investment of €31.4 million to support "
    "France’s significant efforts against small boats in the above areas.",
    "para 8",
)
JIC_QUOTE = Quote(
    "since it opened in July the JIC has helped secure around 140 arrests and prevented "
    "approximately 1,100 crossings",
    "para 5, bullet 4",
)
SUCCESS_RATE_QUOTE = Quote(
    "the intervention success rate increasing from 41% in 2019 rising to 60% in recent weeks",
    "para 4",
)

BOTH = (HOME_OFFICE, FRENCH_INTERIOR)

MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec(
        key="plan",
        kind=CommitmentKind.action,
        title="New UK–France joint operational plan to stop small-boat crossings",
        summary=(
            "A joint operational plan to optimise the use of human resources and equipment, "
            "with the aim of completely stopping the crossings; four measures, effective in "
            "the coming days; results reviewed within six months."
        ),
        quotes=(PLAN_QUOTE, PLAN_EFFECTIVE_QUOTE, REVIEW_QUOTE),
        makers=BOTH,
        tags=("small boats", "joint operational plan"),
        deadline=COMING_DAYS,
        next_review=SIX_MONTHS,
    ),
    MeasureSpec(
        key="funding",
        kind=CommitmentKind.funding,
        title="UK funding of €31.4 million for France’s efforts against small boats",
        summary=(
            "A further financial investment by the UK in support of France’s efforts against "
            "small boats in the areas of the joint operational plan."
        ),
        quotes=(PLEDGE_QUOTE, REVIEW_QUOTE),
        makers=(HOME_OFFICE,),
        recipients=(FRENCH_INTERIOR,),
        parent="plan",
        tags=("small boats", "funding"),
        next_review=SIX_MONTHS,
        is_additional=True,
    ),
    MeasureSpec(
        key="deployments",
        kind=CommitmentKind.action,
        title="Significant increase in law enforcement deployments",
        summary="More law enforcement deployments to investigate, deter and prevent crossings.",
        quotes=(
            Quote(
                "a significant increase in law enforcement deployments to investigate, deter "
                "and prevent crossings",
                "para 7, bullet 1",
            ),
        ),
        makers=BOTH,
        parent="plan",
        tags=("small boats", "joint operational plan", "law enforcement"),
        deadline=COMING_DAYS,
    ),
    MeasureSpec(
        key="surveillance",
        kind=CommitmentKind.action,
        title="New wave of surveillance and detection technology",
        summary="Cutting-edge surveillance and detection technology to detect and disrupt "
        "crossing attempts before they happen.",
        quotes=(
            Quote(
                "rolling out a new wave of cutting-edge surveillance and detection technology "
                "to detect and disrupt crossing attempts before they happen",
                "para 7, bullet 2",
            ),
        ),
        makers=BOTH,
        parent="plan",
        tags=("small boats", "joint operational plan", "technology"),
        deadline=COMING_DAYS,
    ),
    MeasureSpec(
        key="accommodation",
        kind=CommitmentKind.action,
        title="Support migrants into appropriate accommodation",
        summary="Steps to take migrants out of the hands of criminal gangs by supporting them "
        "into appropriate accommodation.",
        quotes=(
            Quote(
                "steps to support migrants into appropriate accommodation in order to take "
                "them out of the hands of criminal gangs",
                "para 7, bullet 3",
            ),
        ),
        makers=BOTH,
        parent="plan",
        tags=("small boats", "joint operational plan", "accommodation"),
        deadline=COMING_DAYS,
    ),
    MeasureSpec(
        key="border",
        kind=CommitmentKind.action,
        title="Increase border security, including against smuggling through freight",
        summary="Measures to reduce opportunities for smuggling and avoid illegal migration "
        "through freight traffic.",
        quotes=(
            Quote(
                "measures to increase border security to reduce opportunities for smuggling "
                "and ensure that we also avoid illegal migration through freight traffic",
                "para 7, bullet 4",
            ),
        ),
        makers=BOTH,
        parent="plan",
        tags=("small boats", "joint operational plan", "border security", "freight"),
        deadline=COMING_DAYS,
    ),
    MeasureSpec(
        key="objective",
        kind=CommitmentKind.target,
        title="Objective: prevent small-boat crossings completely",
        summary="New measures with the objective of preventing the crossings completely and "
        "deterring journeys to the Calais area and the formation of illegal camps.",
        quotes=(
            Quote(
                "today jointly announce new measures with the objective of preventing the "
                "crossings completely and deterring journeys to the Calais area and the "
                "formation of illegal camps",
                "para 3",
            ),
        ),
        makers=BOTH,
        tags=("small boats",),
    ),
    MeasureSpec(
        key="coast",
        kind=CommitmentKind.action,
        title="Increased law enforcement presence on the coast between Boulogne and Dunkirk",
        summary="Recognised in the statement as a recent effort already under way.",
        quotes=(
            Quote(
                "an increased law enforcement presence on the coast between Boulogne and Dunkirk",
                "para 5, bullet 1",
            ),
        ),
        makers=BOTH,
        tags=("small boats", "recent efforts", "law enforcement"),
        already_under_way=True,
    ),
    MeasureSpec(
        key="patrols",
        kind=CommitmentKind.action,
        title="Increase in the number of land patrols",
        summary="Recognised in the statement as a recent effort already under way.",
        quotes=(Quote("an increase in the number of land patrols", "para 5, bullet 2"),),
        makers=BOTH,
        tags=("small boats", "recent efforts", "law enforcement"),
        already_under_way=True,
    ),
    MeasureSpec(
        key="detection",
        kind=CommitmentKind.action,
        title="Better use of detection equipment",
        summary="Recognised in the statement as a recent effort already under way.",
        quotes=(Quote("better use of detection equipment", "para 5, bullet 3"),),
        makers=BOTH,
        tags=("small boats", "recent efforts", "technology"),
        already_under_way=True,
    ),
    MeasureSpec(
        key="jic",
        kind=CommitmentKind.action,
        title="Renewed focus on criminal smuggling networks through the joint intelligence cell",
        summary="Recognised in the statement as a recent effort already under way; the JIC "
        "opened in July.",
        quotes=(
            Quote(
                "a renewed focus on tackling criminal smuggling networks where the new joint "
                "intelligence cell (JIC) targeting migrant trafficking has begun to demonstrate "
                "real tangible results",
                "para 5, bullet 4",
            ),
        ),
        makers=(JIC,),
        tags=("small boats", "recent efforts", "smuggling networks"),
        already_under_way=True,
    ),
)

SINCE_JULY = periods.Period.range(dt.date(2020, 7, 1), STATEMENT_DATE)

INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        name="Intervention success rate",
        unit="%",
        description="Share of crossing attempts in which law enforcement intervened successfully.",
        commitments=("plan", "objective"),
        observations=(
            ObservationSpec(
                Decimal(41),
                "41% in 2019",
                AmountQualifier.exact,
                "in 2019",
                periods.Period.year(2019),
                SUCCESS_RATE_QUOTE,
            ),
            ObservationSpec(
                Decimal(60),
                "60% in recent weeks",
                AmountQualifier.exact,
                "in recent weeks",
                # "recent weeks" before the statement: the start is unknown.
                periods.Period.fuzzy(None, STATEMENT_DATE),
                SUCCESS_RATE_QUOTE,
            ),
        ),
    ),
    IndicatorSpec(
        name="Arrests secured with the help of the joint intelligence cell",
        unit="arrests",
        description="Arrests the JIC has helped secure since it opened in July 2020.",
        commitments=("jic",),
        observations=(
            ObservationSpec(
                Decimal(140),
                "around 140 arrests",
                AmountQualifier.approximately,
                "since it opened in July",
                SINCE_JULY,
                JIC_QUOTE,
            ),
        ),
    ),
    IndicatorSpec(
        name="Crossings prevented by the joint intelligence cell",
        unit="crossings",
        description="Crossings the JIC has prevented since it opened in July 2020.",
        commitments=("jic",),
        observations=(
            ObservationSpec(
                Decimal(1100),
                "approximately 1,100 crossings",
                AmountQualifier.approximately,
                "since it opened in July",
                SINCE_JULY,
                JIC_QUOTE,
            ),
        ),
    ),
)

PLEDGE = {
    "amount": "31400000",
    "currency": "EUR",
    "amount_text": "a further financial investment of €31.4 million",
}


@dataclass(frozen=True)
class DemoResult:
    loaded: bool
    commitments: int = 0
    message: str = ""


def load_demo(session: Session, *, now: dt.datetime | None = None) -> DemoResult:
    """Enter the demo statement. Does nothing if it is already there."""
    text = statement_text()
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if session.scalar(select(Source.id).where(Source.content_hash == content_hash)) is not None:
        return DemoResult(loaded=False, message="the demo data is already loaded")
    published_at = now or dt.datetime.now(dt.UTC)

    def publish(record: Actor | Source | Commitment | Indicator) -> None:
        record.state = PublicationState.published
        record.published_at = published_at

    actors: dict[str, Actor] = {}
    for name, kind, country, fy_month, description in ACTORS:
        actor = Actor(
            name=name,
            kind=kind,
            country_code=country,
            fiscal_year_start_month=fy_month,
            description=description,
        )
        publish(actor)
        session.add(actor)
        actors[name] = actor
    session.flush()
    for actor in actors.values():
        changes.record(
            session,
            action=ChangeAction.create,
            entity=actor,
            summary=f"Added actor {actor.name}",
            actor_label=LOADER,
        )

    source = Source(
        title="UK-France joint statement: next phase of collaboration on tackling illegal "
        "migration - 28 November 2020",
        publisher="Home Office",
        kind=SourceKind.joint_statement,
        published_on=STATEMENT_DATE,
        licence="Open Government Licence v3.0",
        full_text=text,
        content_hash=content_hash,
    )
    publish(source)
    session.add(source)
    session.flush()
    changes.record(
        session,
        action=ChangeAction.create,
        entity=source,
        summary=f"Added source {source.title}",
        actor_label=LOADER,
    )

    tags: dict[str, Tag] = {}
    commitments: dict[str, Commitment] = {}
    for spec in MEASURES:
        commitment = Commitment(
            kind=spec.kind,
            title=spec.title,
            summary=spec.summary,
            announced_on=STATEMENT_DATE,
            announced_precision=periods.Precision.DAY,
            is_additional=spec.is_additional,
            parent=commitments[spec.parent] if spec.parent else None,
            status=DeliveryStatus.not_yet_assessed,
        )
        if spec.deadline:
            words, period = spec.deadline
            commitment.deadline_text = words
            commitment.deadline_start_on = period.start
            commitment.deadline_end_on = period.end
            commitment.deadline_precision = period.precision
        if spec.next_review:
            commitment.next_review_text, commitment.next_review_on = spec.next_review
        commitment.actor_links = [
            CommitmentActor(actor=actors[name], role="maker") for name in spec.makers
        ] + [CommitmentActor(actor=actors[name], role="recipient") for name in spec.recipients]
        for tag_name in spec.tags:
            if tag_name not in tags:
                tags[tag_name] = Tag(slug=tag_name.replace(" ", "-"), name=tag_name)
        commitment.tags = [tags[name] for name in spec.tags]
        commitment.citations = [
            Citation(source=source, quote=q.text, locator=q.locator) for q in spec.quotes
        ]
        publish(commitment)
        session.add(commitment)
        session.flush()
        if spec.already_under_way:
            review = Review(
                commitment=commitment,
                reviewed_on=STATEMENT_DATE,
                status_found=DeliveryStatus.in_progress,
                rationale="The joint statement recognises this as a recent effort already "
                "under way.",
                reviewer_name="UK–France joint statement",
                evidence=[
                    Citation(source=source, quote=q.text, locator=q.locator) for q in spec.quotes
                ],
            )
            session.add(review)
            commitment.status = DeliveryStatus.in_progress
            commitment.last_reviewed_on = STATEMENT_DATE
        if spec.key == "funding":
            flow = MoneyFlow(
                commitment=commitment,
                stage=FlowStage.pledge,
                amount_minor=money.to_minor_units(PLEDGE["amount"], PLEDGE["currency"]),
                currency=PLEDGE["currency"],
                amount_text=PLEDGE["amount_text"],
                qualifier=AmountQualifier.exact,
                value_on=STATEMENT_DATE,
                provider=actors[HOME_OFFICE],
                receiver=actors[FRENCH_INTERIOR],
                citations=[
                    Citation(source=source, quote=PLEDGE_QUOTE.text, locator=PLEDGE_QUOTE.locator)
                ],
            )
            session.add(flow)
        commitments[spec.key] = commitment
        session.flush()
        changes.record(
            session,
            action=ChangeAction.create,
            entity=commitment,
            summary=f"Added commitment {commitment.title}",
            actor_label=LOADER,
        )

    for ispec in INDICATORS:
        indicator = Indicator(name=ispec.name, unit=ispec.unit, description=ispec.description)
        indicator.commitments = [commitments[key] for key in ispec.commitments]
        for ospec in ispec.observations:
            indicator.observations.append(
                Observation(
                    value=ospec.value,
                    value_text=ospec.value_text,
                    qualifier=ospec.qualifier,
                    period_text=ospec.period_text,
                    period_start_on=ospec.period.start,
                    period_end_on=ospec.period.end,
                    period_precision=ospec.period.precision,
                    citations=[
                        Citation(source=source, quote=ospec.quote.text, locator=ospec.quote.locator)
                    ],
                )
            )
        publish(indicator)
        session.add(indicator)
        session.flush()
        changes.record(
            session,
            action=ChangeAction.create,
            entity=indicator,
            summary=f"Added indicator {indicator.name}",
            actor_label=LOADER,
        )
    return DemoResult(
        loaded=True,
        commitments=len(commitments),
        message=f"loaded the demo statement: {len(commitments)} commitments, "
        f"{len(INDICATORS)} indicators, {len(actors)} actors",
    )
