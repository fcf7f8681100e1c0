"""The funding report: who gave how much to whom, per currency, stage and year.

One function, `funding_report`, computes everything the page, its CSV and
the `pledges report funding` command show. The counting rules are in the
README ("Counting rules for funding totals") and in the docstrings below.

Totals are summed in Python over integer minor units, exactly: each flow's
year depends on its provider's fiscal-year convention (inherited from parent
actors) and on its period, which is simpler to state and test here than in
SQL, and the page lists the flows behind every figure anyway. The list
comes a page at a time (`FlowPaging`, `FlowPage`): the totals, counts and
charts always cover every matching flow, whatever the page.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from operator import itemgetter
from typing import Final, TypeAlias
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from app import errors, money, periods
from app.models import MAX_ID, Actor, Citation, Commitment, MoneyFlow
from app.services import actors, derived, visibility
from app.services.browse import BadQuery, Cursor, decode_cursor, encode_cursor
from app.services.commitments import visible
from app.services.conversion import Conversion, RateBook, RateUsed, round_to_minor
from app.vocab import AmountQualifier, FlowStage, combined_qualifier

STAGE_LABELS: Final = {
    FlowStage.pledge: "pledged",
    FlowStage.commitment: "committed",
    FlowStage.disbursement: "disbursed",
    FlowStage.expenditure: "spent",
}
# Stages that are promises: a superseded commitment's promises are replaced by
# its successor's (the rule lives in derived, shared with the dashboard's totals).
PROMISE_STAGES: Final = derived.PROMISE_STAGES
# The flows behind the figures are listed a page at a time: the page shows
# FLOW_PAGE_SIZE unless asked for another size, and never more than
# MAX_FLOW_PAGE_SIZE (each listed flow loads its quotes).
FLOW_PAGE_SIZE: Final = 100
MAX_FLOW_PAGE_SIZE: Final = 500


class Basis(StrEnum):
    calendar_year = "calendar-year"
    fiscal_year = "fiscal-year"


class FundingQueryError(errors.BadRequest, ValueError):
    """A report parameter was refused; the message names it."""


@dataclass(frozen=True)
class FundingQuery:
    provider: Actor | None = None
    receiver: Actor | None = None
    stage: FlowStage | None = None
    period: periods.Period | None = None
    currency: str | None = None
    basis: Basis = Basis.calendar_year
    convert_to: str | None = None
    rate_source: str | None = None

    def params(self) -> dict[str, str]:
        """The query as URL parameters (what the page, its CSV and its links share)."""
        values = {
            "provider": str(self.provider.id) if self.provider else "",
            "receiver": str(self.receiver.id) if self.receiver else "",
            "stage": self.stage.value if self.stage else "",
            "period": self.period.label if self.period else "",
            "currency": self.currency or "",
            "by": self.basis.value,
            "convert_to": self.convert_to or "",
            "rates": self.rate_source or "",
        }
        return {k: v for k, v in values.items() if v and not (k == "by" and v == "calendar-year")}

    @property
    def query_string(self) -> str:
        return urlencode(self.params())

    def link(self, **overrides: str) -> str:
        """The report's URL with some parameters replaced (e.g. one currency and stage)."""
        return "/funding?" + urlencode({**self.params(), **overrides})


def _find_actor(session: Session, text: str, what: str, *, include_drafts: bool) -> Actor:
    """The actor named by id or exact name (or short name).

    Readers may only name published actors: a draft is answered exactly like
    an actor that does not exist, so the report never confirms that it does.
    """
    text = text.strip()
    allowed = visibility.visible_sql(Actor, include_drafts=include_drafts)
    if text.isascii() and text.isdigit():
        actor = (
            session.scalars(select(Actor).where(Actor.id == int(text), *allowed)).one_or_none()
            if int(text) <= MAX_ID
            else None
        )
        if actor is None:
            raise FundingQueryError(f"{what}: there is no actor {text}")
        return actor
    lowered = text.lower()
    candidates = [
        a
        for a in session.scalars(select(Actor).where(*allowed))
        if lowered in {a.name.lower(), (a.short_name or "").lower()}
    ]
    if not candidates:
        raise FundingQueryError(f"{what}: no actor is named {text!r}")
    if len(candidates) > 1:
        raise FundingQueryError(f"{what}: {text!r} names several actors; use an id")
    return candidates[0]


def parse_query(
    session: Session, raw: Mapping[str, str | None], *, include_drafts: bool = False
) -> FundingQuery:
    """Read report parameters (from a URL or the command line); FundingQueryError if bad.

    `include_drafts` lets editors name draft actors (the report still counts
    published commitments only); readers may name published actors only.
    """

    def get(name: str) -> str:
        return (raw.get(name) or "").strip()

    def actor(name: str) -> Actor | None:
        return (
            _find_actor(session, get(name), name, include_drafts=include_drafts)
            if get(name)
            else None
        )

    provider = actor("provider")
    receiver = actor("receiver")
    stage = None
    if get("stage"):
        try:
            stage = FlowStage(get("stage"))
        except ValueError:
            raise FundingQueryError(
                "stage: use one of " + ", ".join(s.value for s in FlowStage)
            ) from None
    period = None
    if get("period"):
        fy_month = actors.fiscal_start_month(session, provider.id) if provider else 1
        # Ranges of whole calendar years as people type them: "2014/..", "2014-", "since
        # 2014", "../2020", "until 2020", "2014/2020". A period's range needs full dates
        # at its ends, so the years become 1 January and 31 December.
        text = get("period")
        year = r"([0-9]{4})"
        since = re.fullmatch(
            rf"(?:(?:since|from)\s+{year}|{year}\s*(?:/\s*\.\.|\.\.|-|–|\+|onwards))", text, re.I
        )
        until = re.fullmatch(
            rf"(?:(?:until|till|to|up to)\s+{year}|\.\.\s*/?\s*{year})", text, re.I
        )
        between = re.fullmatch(rf"{year}\s*(?:/|\.\.|-|–|\s+to\s+)\s*{year}", text, re.I)
        if since:
            text = f"{since[1] or since[2]}-01-01/.."
        elif until:
            text = f"../{until[1] or until[2]}-12-31"
        elif between:
            text = f"{between[1]}-01-01/{between[2]}-12-31"
        try:
            period = periods.parse_period(text, fy_month)
        except periods.PeriodError as exc:
            if provider is None and "fiscal years here start in January" in str(exc):
                raise FundingQueryError(
                    f"period: {get('period')!r} is a fiscal year, whose months depend on the "
                    "provider; choose a provider, or give dates such as 2020-04-01/2021-03-31"
                ) from None
            raise FundingQueryError(
                f"period: {exc} (open ranges: '2014/..' since 2014, '../2020' until 2020)"
            ) from None
    currency = None
    if get("currency"):
        try:
            currency = money.normalise_currency(get("currency"))
        except money.MoneyError as exc:
            raise FundingQueryError(f"currency: {exc}") from None
    convert_to = None
    if get("convert_to"):
        try:
            convert_to = money.normalise_currency(get("convert_to"))
        except money.MoneyError as exc:
            raise FundingQueryError(f"convert_to: {exc}") from None
    try:
        basis = Basis(get("by") or Basis.calendar_year)
    except ValueError:
        raise FundingQueryError("by: use calendar-year or fiscal-year") from None
    rate_source = get("rates") or None
    if rate_source and len(rate_source) > 300:
        raise FundingQueryError("rates: too long")
    return FundingQuery(
        provider=provider,
        receiver=receiver,
        stage=stage,
        period=period,
        currency=currency,
        basis=basis,
        convert_to=convert_to,
        rate_source=rate_source,
    )


# ------------------------------------------------------------ paging

# A flow's place in the listing: counted flows first (section 0), in the order
# of the figures (year, currency, stage, value date, id), then the superseded
# promises (section 1) in the same order. Every flow has one place, so pages
# cut at keys list each flow exactly once, and a page link stays put when
# flows are added elsewhere in the list.
FlowKey: TypeAlias = tuple[int, dt.date, dt.date, str, str, int, dt.date, int]
COUNTED: Final = 0
SUPERSEDED: Final = 1
# Below every real key of its section (flow ids start at 1).
_LOW: Final = dt.date.min
SUPERSEDED_START: Final[FlowKey] = (SUPERSEDED, _LOW, _LOW, "", "", -1, _LOW, 0)


@dataclass(frozen=True)
class FlowPaging:
    """Which flows to list: `size` of them, after (or before) a place in the listing."""

    size: int = FLOW_PAGE_SIZE
    after: FlowKey | None = None
    before: FlowKey | None = None


def _token_sort(basis: Basis) -> str:
    # The years, and so the order, depend on the basis: a token cut in one
    # order is refused in the other instead of landing somewhere arbitrary.
    return f"funding-flows:{basis.value}"


def page_token(key: FlowKey, *, secret: str, basis: Basis) -> str:
    """A signed, URL-safe token for a place in the listing (what `after`/`before` carry)."""
    section, start, end, label, currency, stage, value_date, flow_id = key
    value = [section, start.isoformat(), end.isoformat(), label, currency, stage]
    return encode_cursor(
        Cursor(_token_sort(basis), [*value, value_date.isoformat()], flow_id), secret
    )


def _read_token(name: str, token: str, secret: str, basis: Basis) -> FlowKey:
    try:
        cursor = decode_cursor(token, secret, _token_sort(basis))
    except BadQuery as exc:
        raise FundingQueryError(f"{name}: {exc}") from None
    invalid = FundingQueryError(f"{name}: page token is not valid; start again from page one")
    value = cursor.value
    if not (isinstance(value, list) and len(value) == 7):
        raise invalid
    section, start, end, label, currency, stage, value_date = value
    if not (
        type(section) is int
        and section in (COUNTED, SUPERSEDED)
        and type(stage) is int
        and -1 <= stage < len(FlowStage)
        and all(isinstance(v, str) for v in (start, end, label, currency, value_date))
    ):
        raise invalid
    try:
        dates = [dt.date.fromisoformat(v) for v in (start, end, value_date)]
    except ValueError:
        raise invalid from None
    return (section, dates[0], dates[1], label, currency, stage, dates[2], cursor.id)


def parse_paging(
    raw: Mapping[str, str | None],
    *,
    secret: str,
    basis: Basis,
    default_size: int = FLOW_PAGE_SIZE,
) -> FlowPaging:
    """Read `size`, `after` and `before`; FundingQueryError naming the parameter if bad.

    A page size outside 1 to MAX_FLOW_PAGE_SIZE is refused rather than
    quietly cut, so a script asking for 10,000 rows learns it gets pages.
    """
    text = (raw.get("size") or "").strip()
    size = default_size
    if text:
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_FLOW_PAGE_SIZE:
            raise FundingQueryError(
                f"size: {text[:40]!r} is not a page size; use a number from 1 to "
                f"{MAX_FLOW_PAGE_SIZE} (flows a page)"
            )
        size = int(text)
    after = (raw.get("after") or "").strip()
    before = (raw.get("before") or "").strip()
    if after and before:
        raise FundingQueryError("after: give either after or before, not both")
    return FlowPaging(
        size=size,
        after=_read_token("after", after, secret, basis) if after else None,
        before=_read_token("before", before, secret, basis) if before else None,
    )


def group_start(bucket: Bucket, currency: str, stage: FlowStage) -> FlowKey:
    """The place just before the first counted flow behind one figure (year, currency, stage)."""
    return (COUNTED, bucket.start, bucket.end, bucket.label, currency, _STAGE_ORDER[stage],
            _LOW, 0)  # fmt: skip


# ------------------------------------------------------------ actors


# ------------------------------------------------------------ buckets


@dataclass(frozen=True, order=True)
class Bucket:
    """A reporting year (calendar or fiscal), or a span of them a flow's period covers."""

    start: dt.date
    end: dt.date
    label: str
    spans: bool = False

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"


@functools.lru_cache(maxsize=65536)
def _year_of(d: dt.date, basis: Basis, fy_month: int) -> periods.Period:
    # Cached: a report attributes every flow, and many share a date.
    if basis is Basis.calendar_year:
        return periods.Period.year(d.year)
    return periods.fiscal_year_of(d, fy_month)


@functools.lru_cache(maxsize=65536)
def _bucket(first: dt.date, last: dt.date, basis: Basis, fy_month: int) -> Bucket:
    a = _year_of(first, basis, fy_month)
    b = a if first == last else _year_of(last, basis, fy_month)
    assert a.start is not None
    assert a.end is not None
    assert b.end is not None
    if a == b:
        bucket = Bucket(a.start, a.end, a.label)
    else:
        bucket = Bucket(a.start, b.end, f"{a.label}–{b.label}", spans=True)
    # One object per distinct bucket: the report groups and sorts tens of
    # thousands of flows by bucket, and identical objects compare by identity
    # instead of through the dataclass's field-by-field __eq__.
    return _BUCKETS.setdefault(bucket, bucket)


_BUCKETS: dict[Bucket, Bucket] = {}


@dataclass(slots=True)
class FlowFacts:
    """What the totals need of one flow: read as plain columns, no ORM objects."""

    id: int
    commitment_id: int
    stage: FlowStage
    amount_minor: int
    currency: str
    qualifier: str
    value_on: dt.date | None
    period_start_on: dt.date | None
    period_end_on: dt.date | None
    provider_id: int | None
    announced_on: dt.date
    status: str
    bucket: Bucket | None = None
    attributed_by: str = ""
    value_date: dt.date | None = None
    # Set when converting: one unit of the flow's currency in the reporting currency.
    factor: Fraction | None = None
    legs: tuple[RateUsed, ...] = ()
    target: str | None = None

    @property
    def conversion(self) -> Conversion | None:
        if self.factor is None or self.target is None:
            return None
        amount = Fraction(self.amount_minor, 10 ** money.currency_exponent(self.currency))
        return Conversion(amount * self.factor, self.target, self.value_date, self.legs)


def attribute(facts: FlowFacts, basis: Basis, fy_month: int) -> None:
    """Set the year a flow counts in, how it was decided, and the date used for conversion.

    1. A flow with a closed period counts in the year (calendar, or the
       provider's fiscal year) that contains the whole period. A period
       covering several years is never apportioned: it counts in a bucket
       labelled with the span ("FY2022-23–FY2023-24").
    2. Otherwise it counts in the year of its value date, then of its
       commitment's announcement.
    The conversion date is the value date, else the period's start, else the
    announcement date.
    """
    start, end = facts.period_start_on, facts.period_end_on
    facts.value_date = facts.value_on or start or facts.announced_on
    if start is not None and end is not None:
        facts.bucket = _bucket(start, end, basis, fy_month)
        facts.attributed_by = (
            "period covers several years; not split" if facts.bucket.spans else "period"
        )
    elif facts.value_on is not None:
        facts.bucket = _bucket(facts.value_on, facts.value_on, basis, fy_month)
        facts.attributed_by = "value date"
    else:
        facts.bucket = _bucket(facts.announced_on, facts.announced_on, basis, fy_month)
        facts.attributed_by = "announcement date"


# ------------------------------------------------------------ results


@dataclass
class FlowLine:
    """One listed flow: its facts, the flow with its quotes, and what replaced it."""

    facts: FlowFacts
    flow: MoneyFlow
    superseded_by: Commitment | None = None

    @property
    def bucket(self) -> Bucket:
        assert self.facts.bucket is not None
        return self.facts.bucket

    @property
    def attributed_by(self) -> str:
        return self.facts.attributed_by

    @property
    def value_date(self) -> dt.date | None:
        return self.facts.value_date

    @property
    def conversion(self) -> Conversion | None:
        return self.facts.conversion

    @property
    def stage(self) -> FlowStage:
        return self.facts.stage

    @property
    def anchor(self) -> str:
        return cell_anchor(self.facts.bucket, self.facts.currency, self.facts.stage)


def cell_anchor(bucket: Bucket | None, currency: str, stage: FlowStage) -> str:
    where = bucket.key if bucket else "all"
    return f"flows-{where}-{currency}-{stage.value}"


@dataclass
class Cell:
    """The total of one stage in one currency (and one year): exact minor units."""

    currency: str
    stage: FlowStage
    minor: int = 0
    by_qualifier: dict[str, int] = field(default_factory=dict)
    flows: list[FlowFacts] = field(default_factory=list)

    def add(self, facts: FlowFacts) -> None:
        self.minor += facts.amount_minor
        self.by_qualifier[facts.qualifier] = (
            self.by_qualifier.get(facts.qualifier, 0) + facts.amount_minor
        )
        self.flows.append(facts)

    @property
    def amount(self) -> Decimal:
        return money.from_minor_units(self.minor, self.currency)

    def part(self, qualifier: str) -> Decimal:
        return money.from_minor_units(self.by_qualifier.get(qualifier, 0), self.currency)

    @property
    def qualifier(self) -> str:
        """What the total is: exact, approximately, up_to (a ceiling), at_least, or mixed."""
        return _total_qualifier({k for k, v in self.by_qualifier.items() if v}, False)

    @property
    def flow_ids(self) -> list[int]:
        return [f.id for f in self.flows]

    @property
    def approximate(self) -> bool:
        return bool(self.by_qualifier.get(AmountQualifier.approximately))


def _total_qualifier(qualifiers: set[str], approximate: bool) -> str:
    """The rule of the commitment page (`combined_qualifier`); a converted
    total is at least approximate, whatever its flows say."""
    return combined_qualifier(
        qualifiers | {AmountQualifier.approximately} if approximate else qualifiers
    )


@dataclass
class ConvertedCell:
    """One stage's total converted into the reporting currency (approximate)."""

    currency: str
    stage: FlowStage
    converted: int = 0
    missing: int = 0
    legs: set[RateUsed] = field(default_factory=set)
    qualifiers: set[str] = field(default_factory=set)
    flows: list[FlowFacts] = field(default_factory=list)
    # Minor units summed per (currency, factor): Σ aᵢ·f = f·Σ aᵢ, exactly, with
    # one Fraction product per distinct rate instead of one per flow.
    parts: dict[tuple[str, Fraction], int] = field(default_factory=dict)

    def add(self, facts: FlowFacts) -> None:
        self.flows.append(facts)
        if facts.factor is None:
            self.missing += 1
            return
        key = (facts.currency, facts.factor)
        self.parts[key] = self.parts.get(key, 0) + facts.amount_minor
        self.converted += 1
        self.legs.update(facts.legs)
        if facts.qualifier != AmountQualifier.exact:
            self.qualifiers.add(facts.qualifier)

    @property
    def amount(self) -> Fraction:
        exponents = {cur: 10 ** money.currency_exponent(cur) for cur, _ in self.parts}
        return sum(
            (
                Fraction(minor, exponents[cur]) * factor
                for (cur, factor), minor in self.parts.items()
            ),
            Fraction(0),
        )

    @property
    def rounded(self) -> Decimal:
        return round_to_minor(self.amount, self.currency)

    @property
    def approximate(self) -> bool:
        return bool(self.legs) or AmountQualifier.approximately in self.qualifiers

    @property
    def is_ceiling(self) -> bool:
        return AmountQualifier.up_to in self.qualifiers

    @property
    def qualifier(self) -> str:
        return _total_qualifier(self.qualifiers, self.approximate)

    @property
    def flow_ids(self) -> list[int]:
        return [f.id for f in self.flows]

    @property
    def rate_dates(self) -> list[dt.date]:
        return sorted({leg.rate_on for leg in self.legs})

    @property
    def rate_sources(self) -> list[str]:
        return sorted({leg.source_name for leg in self.legs})


@dataclass
class Row:
    """One year (or span) and one currency: a cell per stage."""

    bucket: Bucket | None  # None: all years together
    currency: str
    cells: dict[FlowStage, Cell]


@dataclass
class ConvertedRow:
    bucket: Bucket | None
    cells: dict[FlowStage, ConvertedCell]


@dataclass
class ChartData:
    currency: str
    approximate: bool
    labels: list[str]
    # None where a converted figure is incomplete (a flow had no rate): no bar
    # is better than a bar that understates.
    pledged: list[Decimal | None]
    paid: list[Decimal | None]
    # Each figure's qualifier, as in the tables (up_to: a ceiling, …), so the
    # chart's own table never shows an "up to" total as a plain amount.
    pledged_qualifiers: list[str] = field(default_factory=list)
    paid_qualifiers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FlowPage:
    """Where the listed flows sit among all of them: "flows `first`–`last` of `total`"."""

    size: int
    first: int  # 1-based place of the first listed flow; 0 when none is listed
    last: int
    total: int  # counted and superseded flows together
    next_key: FlowKey | None  # `after` of the next page
    previous_key: FlowKey | None  # `before` of the previous page
    # The first listed flow's figure has flows on the previous page; the last
    # one's has more on the next (its heading says "continued").
    continued: bool
    continues: bool


@dataclass
class FundingReport:
    query: FundingQuery
    rows: list[Row]  # per year and currency
    totals: list[Row]  # per currency, all years
    converted_rows: list[ConvertedRow]
    converted_total: ConvertedRow | None
    flow_count: int  # counted flows
    lines: list[FlowLine]  # counted flows on this page of the listing
    excluded_count: int
    excluded: list[FlowLine]  # superseded promises on this page, listed not counted
    legs: list[RateUsed]  # every rate used
    charts: list[ChartData]
    page: FlowPage | None = None  # None when no flows were asked for (the CSV)

    @property
    def rate_sources(self) -> list[str]:
        return sorted({leg.source_name for leg in self.legs})

    @property
    def rate_dates(self) -> list[dt.date]:
        return sorted({leg.rate_on for leg in self.legs})

    def cell_lines(self) -> dict[str, list[FlowLine]]:
        """Listed flows grouped by the anchor of the figure they make up."""
        groups: dict[str, list[FlowLine]] = {}
        for line in self.lines:
            groups.setdefault(line.anchor, []).append(line)
        return groups


def _new_cells(currency: str) -> dict[FlowStage, Cell]:
    return {stage: Cell(currency, stage) for stage in FlowStage}


_STAGE_ORDER: Final = {stage: i for i, stage in enumerate(FlowStage)}


def funding_report(
    session: Session, query: FundingQuery, *, paging: FlowPaging | None = FlowPaging()
) -> FundingReport:
    """Compute the report for `query` (see the module docstring and the README).

    Totals, counts and charts are computed from plain column values of every
    matching flow, whatever page is listed; full flows with their quotes are
    loaded only for the one page of flows `paging` asks for (none if None).
    """
    tree = actors.actor_tree(session)
    conditions: list[ColumnElement[bool]] = list(visible(include_drafts=False))
    if query.provider is not None:
        conditions.append(MoneyFlow.provider_id.in_(tree.with_descendants(query.provider.id)))
    if query.receiver is not None:
        conditions.append(MoneyFlow.receiver_id.in_(tree.with_descendants(query.receiver.id)))
    if query.stage is not None:
        conditions.append(MoneyFlow.stage == query.stage.value)
    if query.currency is not None:
        conditions.append(MoneyFlow.currency == query.currency)
    rows_ = session.execute(
        select(
            MoneyFlow.id,
            MoneyFlow.commitment_id,
            MoneyFlow.stage,
            MoneyFlow.amount_minor,
            MoneyFlow.currency,
            MoneyFlow.qualifier,
            MoneyFlow.value_on,
            MoneyFlow.period_start_on,
            MoneyFlow.period_end_on,
            MoneyFlow.provider_id,
            Commitment.announced_on,
            Commitment.status,
            derived.counted_in_totals_sql(),
        )
        .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
        .where(*conditions)
        .order_by(MoneyFlow.value_on, MoneyFlow.id)
    ).all()

    # What replaced each superseded commitment (to name it beside its flows).
    successor_of: dict[int, int] = {
        old: new
        for new, old in session.execute(
            select(Commitment.id, Commitment.supersedes_id).where(
                Commitment.supersedes_id.is_not(None), *visible(include_drafts=False)
            )
        )
        if old is not None
    }

    counted: list[FlowFacts] = []
    excluded: list[FlowFacts] = []
    fy_months: dict[int | None, int] = {}
    stages = {stage.value: stage for stage in FlowStage}
    for row in rows_:
        (fid, cid, stage, minor, currency, qualifier, value_on, p_start, p_end, provider_id,
         announced_on, status, counts) = row  # fmt: skip
        facts = FlowFacts(
            fid, cid, stages[stage], minor, currency, qualifier, value_on, p_start, p_end,
            provider_id, announced_on, status,
        )  # fmt: skip
        if facts.provider_id not in fy_months:
            fy_months[facts.provider_id] = tree.fiscal_month(facts.provider_id)
        attribute(facts, query.basis, fy_months[facts.provider_id])
        bucket = facts.bucket
        assert bucket is not None
        if query.period is not None and not (
            (query.period.start is None or bucket.start >= query.period.start)
            and (query.period.end is None or bucket.end <= query.period.end)
        ):
            continue
        if not counts:  # a promise of a superseded commitment
            excluded.append(facts)
        else:
            counted.append(facts)

    # Conversion, once per flow, with rates loaded in one query.
    legs: set[RateUsed] = set()
    if query.convert_to is not None:
        every = counted + excluded
        dates = [f.value_date for f in every if f.value_date is not None]
        if dates:
            book = RateBook(
                session,
                {f.currency for f in every} | {query.convert_to},
                first_on=min(dates),
                last_on=max(dates),
                source=query.rate_source,
            )
            for f in every:
                if f.value_date is not None:
                    found = book.factor(f.currency, query.convert_to, f.value_date)
                    if found is not None:
                        f.factor, f.legs, f.target = found[0], found[1], query.convert_to
        for f in counted:
            legs.update(f.legs)

    by_row: dict[tuple[Bucket, str], dict[FlowStage, Cell]] = {}
    by_currency: dict[str, dict[FlowStage, Cell]] = {}
    for f in counted:
        assert f.bucket is not None
        key = (f.bucket, f.currency)
        if key not in by_row:
            by_row[key] = _new_cells(f.currency)
        if f.currency not in by_currency:
            by_currency[f.currency] = _new_cells(f.currency)
        by_row[key][f.stage].add(f)
        by_currency[f.currency][f.stage].add(f)
    rows = [Row(b, cur, cells) for (b, cur), cells in sorted(by_row.items())]
    totals = [Row(None, cur, cells) for cur, cells in sorted(by_currency.items())]

    converted_rows: list[ConvertedRow] = []
    converted_total: ConvertedRow | None = None
    if query.convert_to is not None:
        target = query.convert_to
        per_bucket: dict[Bucket, dict[FlowStage, ConvertedCell]] = {}
        overall = {stage: ConvertedCell(target, stage) for stage in FlowStage}
        for f in counted:
            assert f.bucket is not None
            if f.bucket not in per_bucket:
                per_bucket[f.bucket] = {stage: ConvertedCell(target, stage) for stage in FlowStage}
            per_bucket[f.bucket][f.stage].add(f)
            overall[f.stage].add(f)
        converted_rows = [ConvertedRow(b, c) for b, c in sorted(per_bucket.items())]
        converted_total = ConvertedRow(None, overall)

    lines: list[FlowLine] = []
    excluded_lines: list[FlowLine] = []
    page: FlowPage | None = None
    if paging is not None:
        listed, page = _flow_page(_listing(rows, excluded), paging)
        loaded = _load_flows(session, [f.id for _, f in listed])
        superseded = [f for place, f in listed if place[0] == SUPERSEDED]
        successors = _load_commitments(
            session,
            {successor_of[f.commitment_id] for f in superseded if f.commitment_id in successor_of},
        )
        lines = [FlowLine(f, loaded[f.id]) for place, f in listed if place[0] == COUNTED]
        excluded_lines = [
            FlowLine(f, loaded[f.id], successors.get(successor_of.get(f.commitment_id, 0)))
            for f in superseded
        ]

    return FundingReport(
        query=query,
        rows=rows,
        totals=totals,
        converted_rows=converted_rows,
        converted_total=converted_total,
        flow_count=len(counted),
        lines=lines,
        excluded_count=len(excluded),
        excluded=excluded_lines,
        legs=sorted(legs),
        charts=_charts(rows, converted_rows, query.convert_to),
        page=page,
    )


# A figure's place in the listing: FlowKey without the flow's value date and id.
_Figure: TypeAlias = tuple[int, dt.date, dt.date, str, str, int]


def _listing(rows: list[Row], excluded: list[FlowFacts]) -> list[tuple[_Figure, list[FlowFacts]]]:
    """The listing as figures in order, each with its flows (not yet in order).

    Counted flows come grouped already, in the cells of the per-year rows;
    only the superseded ones are grouped here.
    """
    groups: list[tuple[_Figure, list[FlowFacts]]] = []
    for row in rows:
        assert row.bucket is not None
        b = row.bucket
        for stage, cell in row.cells.items():
            if cell.flows:
                figure = (COUNTED, b.start, b.end, b.label, row.currency, _STAGE_ORDER[stage])
                groups.append((figure, cell.flows))
    superseded: dict[_Figure, list[FlowFacts]] = {}
    for f in excluded:
        bucket = f.bucket
        assert bucket is not None
        figure = (SUPERSEDED, bucket.start, bucket.end, bucket.label, f.currency,
                  _STAGE_ORDER[f.stage])  # fmt: skip
        superseded.setdefault(figure, []).append(f)
    groups += superseded.items()
    groups.sort(key=itemgetter(0))
    return groups


def _within(f: FlowFacts) -> tuple[dt.date, int]:
    """A flow's order within its figure."""
    assert f.value_date is not None
    return f.value_date, f.id


def _flow_page(
    groups: list[tuple[_Figure, list[FlowFacts]]], paging: FlowPaging
) -> tuple[list[tuple[FlowKey, FlowFacts]], FlowPage]:
    """One page of the listing, and where it sits.

    The report already holds every matching flow, grouped by figure, so the
    page is picked here rather than in SQL: figures wholly before (or after)
    the page are counted, not sorted; only the figures the page touches are
    put in order. A page of a report of 100,000 flows costs a few milliseconds.
    """
    size = paging.size
    total = sum(len(flows) for _, flows in groups)
    backwards = paging.before is not None
    boundary = paging.before if backwards else paging.after
    # (figure, its flows in order, index of the first or last one taken)
    taken: list[tuple[_Figure, list[FlowFacts], int, int]] = []
    skipped = 0  # flows before the page (forwards) or after it (backwards)
    wanted = size
    for figure, flows in reversed(groups) if backwards else groups:
        if not wanted:
            break
        if boundary is not None:
            edge = boundary[:6]
            if (figure > edge) if backwards else (figure < edge):
                skipped += len(flows)
                continue
        ordered = sorted(flows, key=_within)
        lo, hi = 0, len(ordered)
        if boundary is not None and figure == boundary[:6]:
            place = (boundary[6], boundary[7])
            if backwards:
                hi = bisect.bisect_left(ordered, place, key=_within)
                skipped += len(ordered) - hi
            else:
                lo = bisect.bisect_right(ordered, place, key=_within)
                skipped += lo
        if backwards:
            lo = max(lo, hi - wanted)
        else:
            hi = min(hi, lo + wanted)
        if lo < hi:
            taken.append((figure, ordered, lo, hi))
            wanted -= hi - lo
    if backwards:
        taken.reverse()
    chosen = [
        ((*figure, *_within(f)), f) for figure, ordered, lo, hi in taken for f in ordered[lo:hi]
    ]
    if not chosen:
        return [], FlowPage(size, 0, 0, total, None, None, False, False)
    first = total - skipped - len(chosen) + 1 if backwards else skipped + 1
    last = first + len(chosen) - 1
    return chosen, FlowPage(
        size=size,
        first=first,
        last=last,
        total=total,
        next_key=chosen[-1][0] if last < total else None,
        previous_key=chosen[0][0] if first > 1 else None,
        # Its figure has flows before the first listed one, or after the last.
        continued=taken[0][2] > 0,
        continues=taken[-1][3] < len(taken[-1][1]),
    )


def _load_flows(session: Session, ids: list[int]) -> dict[int, MoneyFlow]:
    if not ids:
        return {}
    flows = session.scalars(
        select(MoneyFlow)
        .where(MoneyFlow.id.in_(ids))
        .options(
            selectinload(MoneyFlow.commitment)
            .selectinload(Commitment.citations)
            .selectinload(Citation.source),
            selectinload(MoneyFlow.provider),
            selectinload(MoneyFlow.receiver),
            selectinload(MoneyFlow.citations).selectinload(Citation.source),
        )
    )
    return {flow.id: flow for flow in flows}


def _load_commitments(session: Session, ids: set[int]) -> dict[int, Commitment]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Commitment).where(Commitment.id.in_(ids)))}


def _complete(cell: ConvertedCell) -> Decimal | None:
    return None if cell.missing else cell.rounded


def _charts(
    rows: list[Row], converted_rows: list[ConvertedRow], convert_to: str | None
) -> list[ChartData]:
    """Pledged against paid (disbursed) by year: in the reporting currency, else per currency."""
    if convert_to is not None and converted_rows:

        def stated(cell: ConvertedCell) -> str:
            # What the amounts as stated make of the figure (a ceiling, a floor…);
            # that converting makes it approximate the chart says once, in its caption.
            return _total_qualifier(cell.qualifiers, False)

        return [
            ChartData(
                currency=convert_to,
                approximate=any(r.cells[s].approximate for r in converted_rows for s in FlowStage),
                labels=[r.bucket.label for r in converted_rows if r.bucket],
                pledged=[_complete(r.cells[FlowStage.pledge]) for r in converted_rows],
                paid=[_complete(r.cells[FlowStage.disbursement]) for r in converted_rows],
                pledged_qualifiers=[stated(r.cells[FlowStage.pledge]) for r in converted_rows],
                paid_qualifiers=[stated(r.cells[FlowStage.disbursement]) for r in converted_rows],
            )
        ]
    charts: dict[str, ChartData] = {}
    for row in rows:
        assert row.bucket is not None
        chart = charts.setdefault(row.currency, ChartData(row.currency, False, [], [], []))
        chart.labels.append(row.bucket.label)
        chart.pledged.append(row.cells[FlowStage.pledge].amount)
        chart.paid.append(row.cells[FlowStage.disbursement].amount)
        chart.pledged_qualifiers.append(row.cells[FlowStage.pledge].qualifier)
        chart.paid_qualifiers.append(row.cells[FlowStage.disbursement].qualifier)
    return [charts[c] for c in sorted(charts)]


# ------------------------------------------------------------ CSV

CSV_HEADER: Final = (
    "basis",
    "period",
    "period_start",
    "period_end",
    "figure",
    "currency",
    "stage",
    "amount",
    "qualifier",
    "is_approximate",
    "up_to_amount",
    "approximately_amount",
    "at_least_amount",
    "flow_count",
    "flow_ids",
    "unconverted_flow_count",
    "rate_dates",
    "rate_sources",
)


def csv_rows(report: FundingReport) -> list[list[object]]:
    """The figures the page shows, one row per year (or "all"), currency and stage.

    `figure` is "as stated" for totals in the flows' own currency, and
    "converted" for the approximate totals in the reporting currency (rounded
    half to even to its minor unit, as on the page). Stages without money are
    left out, as the page leaves their cells empty.
    """
    basis = report.query.basis.value
    out: list[list[object]] = []

    def when(bucket: Bucket | None) -> list[object]:
        if bucket is None:
            return [basis, "all", None, None]
        return [basis, bucket.label, bucket.start, bucket.end]

    for row in [*report.rows, *report.totals]:
        for stage in FlowStage:
            cell = row.cells[stage]
            if not cell.flows:
                continue
            out.append(
                [
                    *when(row.bucket),
                    "as stated",
                    row.currency,
                    stage.value,
                    cell.amount,
                    cell.qualifier,
                    cell.approximate,
                    cell.part(AmountQualifier.up_to.value),
                    cell.part(AmountQualifier.approximately.value),
                    cell.part(AmountQualifier.at_least.value),
                    len(cell.flows),
                    " ".join(str(i) for i in cell.flow_ids),
                    None,
                    "",
                    "",
                ]
            )
    converted = list(report.converted_rows)
    if report.converted_total is not None:
        converted.append(report.converted_total)
    for crow in converted:
        for stage in FlowStage:
            ccell = crow.cells[stage]
            if not ccell.flows:
                continue
            out.append(
                [
                    *when(crow.bucket),
                    "converted",
                    ccell.currency,
                    stage.value,
                    ccell.rounded,
                    ccell.qualifier,
                    ccell.approximate,
                    None,
                    None,
                    None,
                    len(ccell.flows),
                    " ".join(str(i) for i in ccell.flow_ids),
                    ccell.missing,
                    " ".join(d.isoformat() for d in ccell.rate_dates),
                    "; ".join(ccell.rate_sources),
                ]
            )
    return out
