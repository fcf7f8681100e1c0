"""JSON shapes of the API (`XRead` for responses). Money is an exact decimal string."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

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
    money_flows: list[MoneyFlowRead]
    citations: list[CitationRead]
    reviews: list[ReviewRead]
    unsourced: bool
