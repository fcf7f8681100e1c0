"""JSON shapes of the API (`XRead` for responses). Money is an exact decimal string."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from app.models import MAX_ID
from app.vocab import (
    AmountQualifier,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
)

# Decimals go out as strings ("31400000.00"): exact, and never a float in
# anyone's JSON parser.
DecimalString = Annotated[
    Decimal,
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["31400000.00"]},
        mode="serialization",
    ),
]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class Problem(BaseModel):
    """RFC 9457 problem details: every API error has this shape."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ActorRef(ORM):
    id: int
    name: str
    url: str


class SourceRef(ORM):
    id: int
    title: str
    publisher: str | None
    published_on: dt.date | None
    url: str


class CitationRead(ORM):
    id: int
    quote: str = Field(description="Verbatim text from the source.")
    locator: str | None = Field(description="Where in the source: 'para 8', 'p. 12'.")
    source: SourceRef


class PeriodRead(BaseModel):
    start: dt.date | None
    end: dt.date | None
    precision: str
    label: str
    text: str | None = Field(default=None, description="The period as the source wrote it.")


class MoneyRead(BaseModel):
    amount: DecimalString
    currency: CurrencyCode


class MoneyFlowRead(ORM):
    id: int
    stage: FlowStage
    amount: DecimalString = Field(description="Exact amount in `currency`.")
    currency: CurrencyCode
    amount_text: str | None = Field(description="The amount exactly as written in the source.")
    qualifier: AmountQualifier
    value_on: dt.date | None = Field(description="The date the money is valued at.")
    period: PeriodRead | None
    provider: ActorRef | None
    receiver: ActorRef | None
    stated_equivalent: MoneyRead | None = Field(
        description="The source's own equivalent in another currency, never computed."
    )
    stated_equivalent_text: str | None
    notes: str | None
    version: int = Field(description="Send it back as If-Match to change the flow.")
    citations: list[CitationRead]


class ReviewRead(ORM):
    id: int
    reviewed_on: dt.date
    status_found: DeliveryStatus
    progress_percent: int | None
    rationale: str | None
    reviewer_name: str | None
    next_review_on: dt.date | None
    evidence: list[CitationRead]


class CommitmentRef(ORM):
    id: int
    title: str
    url: str


class IndicatorRef(BaseModel):
    id: int
    name: str
    unit: str
    url: str
    api_url: str


class CommitmentRead(ORM):
    id: int
    url: str = Field(description="The commitment's permalink (HTML page).")
    api_url: str
    kind: CommitmentKind
    title: str
    summary: str | None
    state: PublicationState
    status: DeliveryStatus
    announced_on: dt.date
    announced_precision: str
    deadline_text: str | None
    deadline: PeriodRead | None
    next_review_on: dt.date | None
    next_review_text: str | None
    last_reviewed_on: dt.date | None
    is_additional: bool
    version: int = Field(description="Send it back in If-Match to update without losing edits.")
    makers: list[ActorRef]
    recipients: list[ActorRef]
    tags: list[str]
    parent: CommitmentRef | None
    tops_up: CommitmentRef | None
    supersedes: CommitmentRef | None
    children: list[CommitmentRef] = Field(description="Commitments that are part of this one.")
    indicators: list[IndicatorRef] = Field(description="Indicators that measure it.")
    money_flows: list[MoneyFlowRead]
    citations: list[CitationRead]
    reviews: list[ReviewRead]
    unsourced: bool


class CommitmentSummary(ORM):
    id: int
    url: str
    api_url: str
    kind: CommitmentKind
    title: str
    state: PublicationState
    status: DeliveryStatus
    announced_on: dt.date
    next_review_on: dt.date | None
    deadline_end_on: dt.date | None
    makers: list[ActorRef]
    recipients: list[ActorRef]
    tags: list[str]
    money: list[MoneyFlowBrief]
    unsourced: bool


class MoneyFlowBrief(BaseModel):
    stage: FlowStage
    amount: DecimalString
    currency: CurrencyCode
    qualifier: AmountQualifier
    amount_text: str | None


class FacetValueRead(BaseModel):
    value: str
    label: str
    count: int


class FacetRead(BaseModel):
    name: str
    values: list[FacetValueRead]


class CommitmentPage(BaseModel):
    """One page of a commitments query, with the links to the next and previous pages."""

    items: list[CommitmentSummary]
    total: int = Field(description="All commitments matching the filters, on every page.")
    facets: list[FacetRead]
    ignored: list[str] = Field(description="Parameters that were not understood and ignored.")
    next: str | None = Field(description="URL of the next page, or null on the last.")
    previous: str | None


class ReviewCreate(BaseModel):
    """A review to record. Any verdict but not_yet_assessed needs evidence."""

    model_config = ConfigDict(extra="forbid")

    reviewed_on: dt.date
    status_found: DeliveryStatus
    progress_percent: int | None = Field(default=None, ge=0, le=100)
    rationale: str | None = Field(default=None, max_length=20_000)
    next_review_on: dt.date | None = None
    evidence: list[EvidenceCreate] = Field(default_factory=list, max_length=50)


class EvidenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_id: int = Field(ge=1, le=MAX_ID)
    quote: str = Field(min_length=1, max_length=20_000)
    locator: str | None = Field(default=None, max_length=100)


AMOUNT = r"^\d{1,25}(\.\d{1,6})?$"
Words = Annotated[str, Field(max_length=500, pattern=r"^[^\x00]*$")]
ActorId = Annotated[int, Field(ge=1, le=MAX_ID, description="An actor's id (/api/v1/actors).")]
PeriodText = Annotated[
    str,
    Field(
        max_length=60,
        pattern=r"^[^\x00]*$",
        description="2021, 2021-Q1, 2021-03, a date, or the provider's financial year: 2022-23.",
    ),
]


class MoneyFlowCreate(BaseModel):
    """A new stage of money. Amounts are exact decimal strings, never numbers.

    The same checks as the money form: at most the currency's decimals, a
    stated equivalent needs its currency, the period is read with the
    provider's financial year.
    """

    model_config = ConfigDict(extra="forbid")

    stage: FlowStage
    amount: str = Field(
        pattern=AMOUNT,
        description="Exact decimal, e.g. '28100000.00'; at most the currency's decimals.",
        examples=["28100000.00"],
    )
    currency: CurrencyCode
    amount_text: Words | None = Field(
        default=None, description="The amount as the source wrote it."
    )
    qualifier: AmountQualifier = AmountQualifier.exact
    value_on: dt.date | None = None
    period: PeriodText | None = None
    period_text: Words | None = Field(default=None, description="The period as written.")
    provider_id: ActorId | None = None
    receiver_id: ActorId | None = None
    stated_equivalent_amount: str | None = Field(default=None, pattern=AMOUNT)
    stated_equivalent_currency: CurrencyCode | None = None
    stated_equivalent_text: Words | None = None
    notes: str | None = Field(default=None, max_length=20_000, pattern=r"^[^\x00]*$")


class MoneyFlowChanges(BaseModel):
    """The fields of a money flow to change; a field left out keeps its value, null clears it."""

    model_config = ConfigDict(extra="forbid")

    stage: FlowStage | None = None
    amount: str | None = Field(default=None, pattern=AMOUNT, examples=["28100000.00"])
    currency: CurrencyCode | None = None
    amount_text: Words | None = None
    qualifier: AmountQualifier | None = None
    value_on: dt.date | None = None
    period: PeriodText | None = None
    period_text: Words | None = None
    provider_id: ActorId | None = None
    receiver_id: ActorId | None = None
    stated_equivalent_amount: str | None = Field(default=None, pattern=AMOUNT)
    stated_equivalent_currency: CurrencyCode | None = None
    stated_equivalent_text: Words | None = None
    notes: str | None = Field(default=None, max_length=20_000, pattern=r"^[^\x00]*$")


CommitmentSummary.model_rebuild()
ReviewCreate.model_rebuild()


class SourceRead(ORM):
    id: int
    url: str
    title: str
    publisher: str | None
    kind: str
    published_on: dt.date | None
    source_url: str | None = Field(description="Where the document is published.")
    accessed_on: dt.date | None
    licence: str | None
    content_hash: str | None = Field(description="SHA-256 of the stored full text.")
    citation_count: int
    publisher_actor_id: int | None = Field(description="The publisher as an actor, if known.")
    state: PublicationState = Field(description="draft (write tokens only) or published")
    version: int = Field(description="Changes on every edit; send it back as If-Match.")


class QuoteSupport(BaseModel):
    id: int
    quote: str
    locator: str | None
    supports: str = Field(description="commitment, money_flow, review or observation")
    commitment: CommitmentRef | None = Field(description="The commitment it bears on, if any.")


class SourceDetailRead(BaseModel):
    source: SourceRead
    quotes: list[QuoteSupport]


class ActorRead(ORM):
    id: int
    url: str
    name: str
    kind: str
    country_code: str | None
    short_name: str | None
    parent_id: int | None
    fiscal_year_start_month: int | None
    description: str | None
    state: PublicationState = Field(description="draft (write tokens only) or published")
    version: int = Field(description="Changes on every edit; send it back as If-Match.")


class StageTotalRead(BaseModel):
    """One stage's total in one currency, exact, counted as `/funding` counts it."""

    currency: CurrencyCode
    stage: FlowStage
    amount: DecimalString
    flow_count: int
    qualifier: Literal["exact", "approximately", "up_to", "at_least", "mixed"] = Field(
        description="What the total is: up_to a ceiling (it includes an 'up to' amount), "
        "at_least a floor, mixed both, approximately approximate; as on /funding."
    )
    approximate: bool = Field(description="Includes an amount stated as approximate.")
    up_to_amount: DecimalString = Field(description="The part stated as 'up to' (a ceiling).")
    approximately_amount: DecimalString = Field(description="The part stated as approximate.")
    at_least_amount: DecimalString = Field(description="The part stated as 'at least'.")


class ActorDetailRead(BaseModel):
    actor: ActorRead
    made: list[CommitmentRef]
    made_count: int
    received: list[CommitmentRef]
    received_count: int
    includes: list[ActorRef] = Field(
        description="The actor's sub-units whose money the totals include, as "
        "/funding?provider= (and receiver=) counts them."
    )
    provided_totals: list[StageTotalRead] = Field(
        description="Per currency and stage, exact: the money the actor and its sub-units "
        "provided, as /funding?provider={id} counts it."
    )
    received_totals: list[StageTotalRead] = Field(
        description="As provided_totals, for money received (/funding?receiver={id})."
    )


class ObservationRead(BaseModel):
    id: int
    value: DecimalString
    unit: str
    qualifier: AmountQualifier
    value_text: str | None
    period: PeriodRead | None
    citations: list[CitationRead]


class IndicatorRead(BaseModel):
    id: int
    url: str
    name: str
    description: str | None
    unit: str
    state: PublicationState = Field(description="draft (write tokens only) or published")
    version: int = Field(description="Changes on every edit; send it back as If-Match.")
    observations: list[ObservationRead]
    commitments: list[CommitmentRef]


class IndicatorBrief(BaseModel):
    id: int
    url: str
    api_url: str
    name: str
    unit: str
    state: PublicationState
    version: int
    observation_count: int


class ExchangeRateRead(BaseModel):
    rate_on: dt.date
    base_currency: CurrencyCode
    quote_currency: CurrencyCode
    rate: DecimalString = Field(description="Units of quote_currency one base_currency bought.")
    source_name: str
    source_url: str | None


class ExchangeRatePage(BaseModel):
    rates: list[ExchangeRateRead] = Field(description="Newest first.")
    total: int
    page: int
    pages: int
    next: str | None = Field(description="The next page, if any.")
