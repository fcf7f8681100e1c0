"""JSON shapes of the report endpoints: review queue, changes, funding, dashboard totals.

Money is an exact decimal string beside its currency (`DecimalString` from
`app.api.schemas`); totals are per currency and stage, never added across them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas import (
    ActorRef,
    CitationRead,
    CommitmentRef,
    CurrencyCode,
    DecimalString,
    MoneyRead,
    PeriodRead,
    StageTotalRead,
)
from app.vocab import AmountQualifier, ChangeAction, DeliveryStatus, FlowStage

# ------------------------------------------------------------ pages


class PageRead(BaseModel):
    """Where the listed rows sit among every matching row, and the links to page on."""

    first: int = Field(description="1-based place of the first row listed; 0 when none is.")
    last: int = Field(description="Place of the last row listed; 0 when none is.")
    total: int = Field(description="Every matching row, on all pages.")
    size: int = Field(description="The most rows a page lists (the `size` parameter).")
    next_url: str | None = Field(
        description="The next page, with the same parameters; null on the last page."
    )
    previous_url: str | None = Field(
        description="The previous page, with the same parameters; null on the first page."
    )


# ------------------------------------------------------------ review queue


class TagRef(BaseModel):
    slug: str = Field(description="The tag's slug: what the `tag` filter takes.")
    name: str


class QueueCountsRead(BaseModel):
    """The counts the review queue and the dashboard panel show, for the current filters."""

    review_overdue: int = Field(description="Next review date before today.")
    review_due: int = Field(description="Next review date today or within the window.")
    needing_attention: int = Field(description="review_overdue + review_due.")
    never_reviewed: int = Field(description="No review recorded yet.")
    deadline_overdue: int = Field(
        description="Deadline passed and not delivered, broken or superseded."
    )
    window_days: int = Field(description="How many days ahead a review counts as due.")


class QueueCommitment(BaseModel):
    id: int
    title: str
    url: str = Field(description="The commitment's page.")
    api_url: str
    status: DeliveryStatus
    next_review_text: str | None = Field(description="The next review date as the source put it.")
    deadline_text: str | None = Field(description="The deadline in the source's words.")
    deadline: PeriodRead | None = Field(description="Our reading of the deadline.")
    makers: list[ActorRef]
    recipients: list[ActorRef]
    tags: list[TagRef]


class QueueItemRead(BaseModel):
    state: Literal["overdue", "due"]
    due_on: dt.date = Field(description="The next review date.")
    days: int = Field(
        description="Days past the review date (overdue) or left until it (due; 0 = today)."
    )
    deadline_overdue: bool = Field(description="The deadline passed without delivery.")
    commitment: QueueCommitment


class QueueFiltersRead(BaseModel):
    actor: ActorRef | None
    role: Literal["maker", "recipient"] | None
    tag: TagRef | None
    state: Literal["overdue", "due"] | None


class ReviewQueueRead(BaseModel):
    """The review queue of `/reviews/due`: the same filters, counts and rows."""

    today: dt.date
    filters: QueueFiltersRead
    counts: QueueCountsRead
    items: list[QueueItemRead] = Field(
        description="Most urgent (longest overdue) first: one page, at most `limit` rows."
    )
    limit: int = Field(
        description="The most rows a page lists (`size`); `counts` always count every row."
    )
    truncated: bool = Field(
        description="More rows match than this page lists: follow `page.next_url` "
        "(or `page.previous_url`), or take them all from `csv_url`."
    )
    page: PageRead
    csv_url: str = Field(description="Every matching row, as CSV.")


# ------------------------------------------------------------ changes


class FieldChangeRead(BaseModel):
    field: str
    before: Any = Field(description="The value before (null when it had none).")
    after: Any = Field(description="The value after (null when it has none).")


class ChangeRead(BaseModel):
    id: int
    occurred_at: dt.datetime = Field(description="When, in UTC.")
    action: ChangeAction
    entity_type: str = Field(description="The kind of record: commitments, money_flows, …")
    entity_id: int
    summary: str
    who: str = Field(description="The editor's display name or the tool's label, never an e-mail.")
    url: str | None = Field(description="The page of the record (or of the record it is part of).")
    fields: list[FieldChangeRead] = Field(description="Each field changed, before and after.")


class ChangePageRead(BaseModel):
    """One page of `/changes`: published changes, newest first."""

    items: list[ChangeRead]
    next: str | None = Field(description="URL of the next (older) page, or null on the last.")


class HistoryRead(BaseModel):
    """Every recorded change of one record (for a commitment, with its flows and quotes)."""

    entity_type: str
    entity_id: int
    url: str = Field(description="The record's history page.")
    items: list[ChangeRead] = Field(description="Newest first.")


# ------------------------------------------------------------ funding


class BucketRead(BaseModel):
    label: str = Field(description="2020, FY2020-21, or a span such as 2023–2024.")
    start: dt.date
    end: dt.date
    spans: bool = Field(description="A period covering several years: counted here, not split.")


class FundingCellRead(BaseModel):
    """One stage's total in one currency: exact, with what it is made of."""

    stage: FlowStage
    currency: CurrencyCode
    amount: DecimalString
    qualifier: Literal["exact", "approximately", "up_to", "at_least", "mixed"] = Field(
        description="up_to: a ceiling; at_least: a floor; mixed: ceilings and floors."
    )
    approximate: bool = Field(description="Includes an amount stated as approximate.")
    up_to_amount: DecimalString = Field(description="The part that is a ceiling.")
    approximately_amount: DecimalString
    at_least_amount: DecimalString
    flow_count: int
    flow_ids: list[int]


class FundingRowRead(BaseModel):
    period: BucketRead | None = Field(description="Null in the all-years totals.")
    currency: CurrencyCode
    cells: list[FundingCellRead] = Field(description="Only the stages that have money.")


class RateRead(BaseModel):
    rate_on: dt.date
    base: CurrencyCode
    quote: CurrencyCode
    rate: DecimalString = Field(description="1 base = rate quote.")
    source_name: str = Field(description="The rate table.")


class ConvertedCellRead(BaseModel):
    """One stage's approximate total in the reporting currency."""

    stage: FlowStage
    currency: CurrencyCode
    amount: DecimalString | None = Field(
        description="Summed exactly, rounded once half to even to the minor unit; "
        "null when no flow of the cell had a rate."
    )
    approximate: bool
    qualifier: Literal["exact", "approximately", "up_to", "at_least", "mixed"]
    flow_count: int
    flow_ids: list[int]
    converted_count: int = Field(description="Flows converted and summed in `amount`.")
    missing_rate_count: int = Field(
        description="Flows without a usable rate: left out of `amount`."
    )
    rates: list[RateRead]


class ConvertedRowRead(BaseModel):
    period: BucketRead | None = Field(description="Null in the all-years total.")
    cells: list[ConvertedCellRead]


class ConversionRead(BaseModel):
    amount: DecimalString
    currency: CurrencyCode
    approximate: bool
    rates: list[RateRead]


class FundingFlowRead(BaseModel):
    """A flow behind the figures, with its quotes."""

    id: int
    commitment: CommitmentRef
    is_additional: bool = Field(description="The commitment is further / additional money.")
    is_top_up: bool
    stage: FlowStage
    amount: DecimalString
    currency: CurrencyCode
    qualifier: AmountQualifier
    amount_text: str | None = Field(description="The amount as the source wrote it.")
    value_on: dt.date | None
    period: PeriodRead | None
    counted_in: BucketRead = Field(description="The year (or span) the flow counts in.")
    counted_by: str = Field(description="What decided the year: period, value date, …")
    provider: ActorRef | None
    receiver: ActorRef | None
    stated_equivalent: MoneyRead | None = Field(
        description="The source's own equivalent: shown, never used in arithmetic."
    )
    stated_equivalent_text: str | None
    converted: ConversionRead | None = Field(
        description="Computed here, when converting and a rate was found."
    )
    citations: list[CitationRead]
    quoted_from: Literal["flow", "commitment", "none"] = Field(
        description="Whether the quotes are the flow's own or its commitment's."
    )
    superseded_by: CommitmentRef | None = Field(
        default=None, description="For superseded promises: what replaced them."
    )


class FundingQueryRead(BaseModel):
    provider: ActorRef | None
    receiver: ActorRef | None
    stage: FlowStage | None
    period: PeriodRead | None
    currency: CurrencyCode | None
    by: Literal["calendar-year", "fiscal-year"]
    convert_to: CurrencyCode | None
    rates: str | None


class FundingReportRead(BaseModel):
    """The figures of `/funding`, per currency, stage and year, and the flows behind them."""

    query: FundingQueryRead
    totals: list[FundingRowRead] = Field(description="All years, per currency.")
    rows: list[FundingRowRead] = Field(description="Per year (or span) and currency.")
    converted_rows: list[ConvertedRowRead] = Field(
        description="With convert_to: approximate totals per year in that currency."
    )
    converted_total: ConvertedRowRead | None
    flow_count: int = Field(description="Every counted flow.")
    flows: list[FundingFlowRead] = Field(
        description="The counted flows on this page, in the order of the figures."
    )
    excluded_count: int = Field(description="Superseded promises, left out of every total.")
    excluded: list[FundingFlowRead] = Field(
        description="The superseded promises on this page: they follow the counted flows."
    )
    rates_used: list[RateRead]
    limit: int = Field(
        description="The most flows a page lists (`size`); totals always count every flow."
    )
    page: PageRead = Field(
        description="Counted flows and then superseded ones, `size` a page: `total` is "
        "`flow_count` + `excluded_count`."
    )
    html_url: str
    csv_url: str


# ------------------------------------------------------------ dashboard


class StatusCountRead(BaseModel):
    status: DeliveryStatus
    label: str
    count: int


class ReviewDueRead(BaseModel):
    commitment: CommitmentRef
    due_on: dt.date
    overdue: bool


class RecentChangeRead(BaseModel):
    id: int
    occurred_at: dt.datetime
    summary: str
    who: str | None = Field(description="The tool's label, when no editor made it.")


class TotalsRead(BaseModel):
    """What the dashboard shows: exact totals per currency and stage, and the counts beside them."""

    totals: list[StageTotalRead] = Field(
        description="Published money flows per currency and stage; currencies never added."
    )
    statuses: list[StatusCountRead] = Field(
        description="Published commitments per delivery status."
    )
    review_queue: QueueCountsRead
    reviews_coming_due: list[ReviewDueRead] = Field(description="The 10 most urgent.")
    recent_changes: list[RecentChangeRead]
