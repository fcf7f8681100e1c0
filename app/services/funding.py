"""The funding report: who gave how much to whom, per currency, stage and year.

One function, `funding_report`, computes everything the page, its CSV, the
API and the `pledges report funding` command show. The counting rules are in
the README ("Counting rules for funding totals") and in the docstrings below.

The database does the arithmetic: `totals.grouped_sums` (the query behind
every total on the site) sums the matching flows exactly, grouped by the
year each counts in (`bucket_sql`: calendar or the provider's fiscal year,
of its period, value date or announcement), currency, stage and qualifier.
Python only arranges those few hundred sums into rows, converts them into a
reporting currency (exact fractions, one rate per currency and value date)
and formats them. The flows behind the figures are read a page at a time
(`FlowPaging`, `FlowPage`), only for the figures the page shows.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from operator import attrgetter
from typing import Any, Final, Protocol, TypeAlias
from urllib.parse import urlencode

from sqlalchemy import (
    ColumnElement,
    Date,
    FunctionElement,
    Integer,
    and_,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler

from app import errors, money, periods
from app.models import MAX_ID, Actor, Citation, Commitment, MoneyFlow
from app.services import actors, derived, totals, visibility
from app.services.browse import BadQuery, Cursor, decode_cursor, encode_cursor
from app.services.commitments import visible
from app.services.conversion import Conversion, RateBook, RateUsed, round_to_minor
from app.services.totals import FlowScope, GroupSum, Total, total_qualifier
from app.vocab import AmountQualifier, FlowStage

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


# Cached: a report's page links every figure (hundreds) to its place, and the
# same figures come back on every request; the token of a key never changes.
@functools.lru_cache(maxsize=16384)
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


@functools.lru_cache(maxsize=4096)
def bucket_of(basis: Basis, fy_month: int, first_year: int, last_year: int) -> Bucket:
    """The bucket of a flow whose first and last days fall in these reporting years.

    A year is named by the calendar year it starts in: with April years,
    2020 is FY2020-21. `fy_month` is the provider's (inherited) fiscal start
    month; calendar years ignore it.
    """

    def year(start_year: int) -> periods.Period:
        if basis is Basis.calendar_year:
            return periods.Period.year(start_year)
        return periods.Period.fiscal_year(start_year, fy_month)

    a = year(first_year)
    b = a if first_year == last_year else year(last_year)
    assert a.start is not None
    assert a.end is not None
    assert b.end is not None
    if a == b:
        return Bucket(a.start, a.end, a.label)
    return Bucket(a.start, b.end, f"{a.label}–{b.label}", spans=True)


# The year a flow counts in, in SQL (README, "Which year a flow counts in"):
#
# 1. A flow with a closed period counts in the year (calendar, or the
#    provider's fiscal year) that contains the whole period. A period covering
#    several years is never apportioned: it counts in a bucket spanning them
#    ("FY2022-23–FY2023-24").
# 2. Otherwise it counts in the year of its value date, else of its
#    commitment's announcement.
# The conversion date is the value date, else the period's start, else the
# announcement date.
#
# Dates are ISO text on SQLite and dates on PostgreSQL: `_year_of` and
# `_month_of` read their parts on either.


class _DatePart(FunctionElement[int]):
    type = Integer()
    inherit_cache = True


class _year_of(_DatePart):
    name = "year_of"
    inherit_cache = True


class _month_of(_DatePart):
    name = "month_of"
    inherit_cache = True


@compiles(_year_of)
def _year_default(element: _year_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(YEAR FROM {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_month_of)
def _month_default(element: _month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(MONTH FROM {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_year_of, "sqlite")
def _year_sqlite(element: _year_of, compiler: SQLCompiler, **kw: Any) -> str:
    # 'YYYY-MM-DD': slicing the text is several times cheaper than strftime().
    return f"CAST(substr({compiler.process(element.clauses, **kw)}, 1, 4) AS INTEGER)"


@compiles(_month_of, "sqlite")
def _month_sqlite(element: _month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(substr({compiler.process(element.clauses, **kw)}, 6, 2) AS INTEGER)"


_HAS_PERIOD: Final = and_(
    MoneyFlow.period_start_on.is_not(None), MoneyFlow.period_end_on.is_not(None)
)


def value_date_sql() -> ColumnElement[dt.date]:
    """The date a flow is converted at: value date, else period start, else announcement."""
    return type_coerce(
        func.coalesce(MoneyFlow.value_on, MoneyFlow.period_start_on, Commitment.announced_on),
        Date,
    )


def attributed_by_sql() -> ColumnElement[str]:
    """Which date decided the year: "period", "value date" or "announcement date"."""
    return case(
        (_HAS_PERIOD, literal("period")),
        (MoneyFlow.value_on.is_not(None), literal("value date")),
        else_=literal("announcement date"),
    )


@dataclass(frozen=True)
class BucketSql:
    """The SQL of a flow's bucket: its provider's fiscal month and the first and last year."""

    fy_month: ColumnElement[int]
    first_year: ColumnElement[int]
    last_year: ColumnElement[int]

    @property
    def keys(self) -> list[ColumnElement[int]]:
        return [self.fy_month, self.first_year, self.last_year]

    def equals(self, fy_month: int, first_year: int, last_year: int) -> list[ColumnElement[bool]]:
        return [
            self.fy_month == fy_month,
            self.first_year == first_year,
            self.last_year == last_year,
        ]


def bucket_sql(basis: Basis, tree: actors.ActorTree) -> BucketSql:
    """The bucket keys of `bucket_of` as SQL over MoneyFlow and its Commitment.

    Each provider's fiscal month is inherited up the actor tree: it is worked
    out here, in Python, for the few hundred actors, and handed to the
    database as one CASE over provider ids (one IN list per month), so no
    report fact is stored and none can go stale.
    """
    single = func.coalesce(MoneyFlow.value_on, Commitment.announced_on)
    first = case((_HAS_PERIOD, MoneyFlow.period_start_on), else_=single)
    last = case((_HAS_PERIOD, MoneyFlow.period_end_on), else_=single)
    if basis is Basis.calendar_year:
        return BucketSql(literal(1, Integer), _year_of(first), _year_of(last))
    by_month: dict[int, list[int]] = {}
    for actor_id in tree.parent:
        month = tree.fiscal_month(actor_id)
        if month != 1:
            by_month.setdefault(month, []).append(actor_id)
    fy_month: ColumnElement[int] = (
        case(
            *(
                (MoneyFlow.provider_id.in_(sorted(ids)), literal(month, Integer))
                for month, ids in sorted(by_month.items())
            ),
            else_=literal(1, Integer),
        )
        if by_month
        else literal(1, Integer)
    )

    def start_year(d: ColumnElement[Any]) -> ColumnElement[int]:
        # The fiscal year starting in year y runs from month m of y to month m-1 of y+1.
        return _year_of(d) - case((_month_of(d) < fy_month, 1), else_=0)

    return BucketSql(fy_month, start_year(first), start_year(last))


# ------------------------------------------------------------ results

Cell: TypeAlias = Total
"""The total of one stage in one currency (and one year): `totals.Total`."""


@dataclass
class FlowLine:
    """One listed flow: the flow with its quotes, where it counts, and what replaced it."""

    flow: MoneyFlow
    bucket: Bucket
    value_date: dt.date
    how: str  # which date decided the year
    conversion: Conversion | None = None
    superseded_by: Commitment | None = None

    @property
    def attributed_by(self) -> str:
        if self.how == "period" and self.bucket.spans:
            return "period covers several years; not split"
        return self.how

    @property
    def stage(self) -> FlowStage:
        return FlowStage(self.flow.stage)

    @property
    def anchor(self) -> str:
        return cell_anchor(self.bucket, self.flow.currency, self.stage)


def cell_anchor(bucket: Bucket | None, currency: str, stage: FlowStage) -> str:
    where = bucket.key if bucket else "all"
    return f"flows-{where}-{currency}-{stage.value}"


@dataclass
class ConvertedCell:
    """One stage's total converted into the reporting currency (approximate)."""

    currency: str
    stage: FlowStage
    converted: int = 0  # flows converted
    missing: int = 0  # flows without a usable rate, left out of the amount
    flow_count: int = 0
    flow_ids: list[int] = field(default_factory=list)
    legs: set[RateUsed] = field(default_factory=set)
    # Minor units of the converted flows per qualifier (whatever their currency:
    # only whether a part is there matters, see `totals.total_qualifier`).
    parts: dict[str, int] = field(default_factory=dict)
    # Minor units summed per (currency, factor): Σ aᵢ·f = f·Σ aᵢ, exactly, with
    # one Fraction product per distinct rate instead of one per flow.
    sums: dict[tuple[str, Fraction], int] = field(default_factory=dict)

    def add(
        self,
        group: GroupSum,
        found: tuple[Fraction, tuple[RateUsed, ...]] | None,
    ) -> None:
        self.flow_count += group.count
        self.flow_ids.extend(group.ids)
        if found is None:
            self.missing += group.count
            return
        factor, legs = found
        key = (group.currency, factor)
        self.sums[key] = self.sums.get(key, 0) + group.minor
        self.converted += group.count
        self.legs.update(legs)
        self.parts[group.qualifier] = self.parts.get(group.qualifier, 0) + group.minor

    @property
    def flows(self) -> int:
        return self.flow_count

    @property
    def amount(self) -> Fraction:
        exponents = {cur: 10 ** money.currency_exponent(cur) for cur, _ in self.sums}
        return sum(
            (
                Fraction(minor, exponents[cur]) * factor
                for (cur, factor), minor in self.sums.items()
            ),
            Fraction(0),
        )

    @property
    def rounded(self) -> Decimal:
        return round_to_minor(self.amount, self.currency)

    @property
    def approximate(self) -> bool:
        return bool(self.legs) or bool(self.parts.get(AmountQualifier.approximately))

    @property
    def stated_qualifier(self) -> str:
        """What the amounts as stated make of the figure (a ceiling, a floor…), before
        converting: the page puts "≈" for the conversion beside it."""
        return total_qualifier(self.parts)

    @property
    def is_ceiling(self) -> bool:
        return self.stated_qualifier in (AmountQualifier.up_to, "mixed")

    @property
    def qualifier(self) -> str:
        return total_qualifier(self.parts, converted=self.approximate)

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
    cells: dict[FlowStage, Total]


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


def _new_cells(currency: str) -> dict[FlowStage, Total]:
    return {stage: Total(currency, stage) for stage in FlowStage}


_STAGE_ORDER: Final = totals.STAGE_ORDER


def report_scope(query: FundingQuery, tree: actors.ActorTree) -> FlowScope:
    """The flows the report counts (and lists as superseded): `totals.FlowScope`.

    A provider or receiver includes its sub-units, as on an actor's page.
    """
    return FlowScope(
        provider_ids=tree.with_descendants(query.provider.id) if query.provider else None,
        receiver_ids=tree.with_descendants(query.receiver.id) if query.receiver else None,
        stage=query.stage,
        currency=query.currency,
        with_superseded=True,
    )


@dataclass(frozen=True)
class _Figure:
    """One figure's flows: a bucket, currency and stage, counted or superseded."""

    place: tuple[int, dt.date, dt.date, str, str, int]  # FlowKey without date and id
    bucket: Bucket
    sql_keys: tuple[int, int, int]  # BucketSql values
    currency: str
    stage: FlowStage
    count: int


def funding_report(
    session: Session,
    query: FundingQuery,
    *,
    paging: FlowPaging | None = FlowPaging(),
    flow_ids: bool = False,
) -> FundingReport:
    """Compute the report for `query` (see the module docstring and the README).

    The database sums every matching flow per year, currency, stage and
    qualifier (`totals.grouped_sums`, with `bucket_sql` for the years); Python
    arranges the sums. Flows are loaded, with their quotes, only for the one
    page of the listing that `paging` asks for (none if None). With
    `flow_ids`, each figure also lists the ids of its flows (the CSV and API).
    """
    tree = actors.actor_tree(session)
    scope = report_scope(query, tree)
    buckets = bucket_sql(query.basis, tree)
    keys: list[ColumnElement[Any]] = list(buckets.keys)
    if query.convert_to is not None:
        keys.append(value_date_sql())
    version = totals.data_version(session)
    # The keys depend on the basis, on conversion and on the actor tree (its
    # fiscal months), which the data version covers.
    keys_id = ("funding", query.basis, query.convert_to is not None)
    groups = totals.grouped_sums(
        session, scope, keys=keys, ids=flow_ids, version=version, keys_id=keys_id
    )

    # Each group's bucket; the period keeps whole years within it.
    kept: list[tuple[Bucket, GroupSum]] = []
    for group in groups:
        month, first_year, last_year = group.keys[:3]
        bucket = bucket_of(query.basis, int(month), int(first_year), int(last_year))
        if query.period is not None and not (
            (query.period.start is None or bucket.start >= query.period.start)
            and (query.period.end is None or bucket.end <= query.period.end)
        ):
            continue
        kept.append((bucket, group))

    by_row: dict[tuple[Bucket, str], dict[FlowStage, Total]] = {}
    figures: dict[tuple[int, Bucket, str, FlowStage], list[Any]] = {}
    for bucket, group in kept:
        section = COUNTED if group.counted else SUPERSEDED
        figure = figures.setdefault(
            (section, bucket, group.currency, group.stage), [group.keys[:3], 0]
        )
        figure[1] += group.count
        if group.counted:
            key = (bucket, group.currency)
            if key not in by_row:
                by_row[key] = _new_cells(group.currency)
            by_row[key][group.stage].add(group.qualifier, group.minor, group.count, group.ids)
    for cells in by_row.values():
        for cell in cells.values():
            cell.flow_ids.sort()
    rows = [Row(b, cur, cells) for (b, cur), cells in sorted(by_row.items())]
    all_years: dict[str, dict[FlowStage, Total]] = {}
    for total in totals.totals_of(group for _, group in kept):
        all_years.setdefault(total.currency, _new_cells(total.currency))[total.stage] = total
    totals_rows = [Row(None, cur, cells) for cur, cells in sorted(all_years.items())]

    book: RateBook | None = None
    converted_rows: list[ConvertedRow] = []
    converted_total: ConvertedRow | None = None
    legs: set[RateUsed] = set()
    if query.convert_to is not None:
        target = query.convert_to
        dates = [group.keys[3] for _, group in kept]
        if dates:
            book = RateBook(
                session,
                {group.currency for _, group in kept} | {target},
                first_on=min(dates),
                last_on=max(dates),
                source=query.rate_source,
            )
        per_bucket: dict[Bucket, dict[FlowStage, ConvertedCell]] = {}
        overall = {stage: ConvertedCell(target, stage) for stage in FlowStage}
        for bucket, group in kept:
            if not group.counted:
                continue
            assert book is not None
            found = book.factor(group.currency, target, group.keys[3])
            if bucket not in per_bucket:
                per_bucket[bucket] = {stage: ConvertedCell(target, stage) for stage in FlowStage}
            per_bucket[bucket][group.stage].add(group, found)
            overall[group.stage].add(group, found)
            if found is not None:
                legs.update(found[1])
        for crow in [*per_bucket.values(), overall]:
            for ccell in crow.values():
                ccell.flow_ids.sort()
        converted_rows = [ConvertedRow(b, c) for b, c in sorted(per_bucket.items())]
        converted_total = ConvertedRow(None, overall)

    listing = sorted(
        (
            _Figure(
                (section, bucket.start, bucket.end, bucket.label, currency, _STAGE_ORDER[stage]),
                bucket,
                tuple(sql_keys),
                currency,
                stage,
                count,
            )
            for (section, bucket, currency, stage), (sql_keys, count) in figures.items()
        ),
        key=attrgetter("place"),
    )
    lines: list[FlowLine] = []
    excluded_lines: list[FlowLine] = []
    page: FlowPage | None = None
    if paging is not None:
        source = _SqlFlows(session, scope, buckets, version, query.basis)
        listed, page = flow_page(listing, paging, source)
        lines, excluded_lines = _lines(session, listed, book, query.convert_to)

    return FundingReport(
        query=query,
        rows=rows,
        totals=totals_rows,
        converted_rows=converted_rows,
        converted_total=converted_total,
        flow_count=sum(f.count for f in listing if f.place[0] == COUNTED),
        lines=lines,
        excluded_count=sum(f.count for f in listing if f.place[0] == SUPERSEDED),
        excluded=excluded_lines,
        legs=sorted(legs),
        charts=_charts(rows, converted_rows, query.convert_to),
        page=page,
    )


# ------------------------------------------------------------ the listing

# A flow's place within its figure, and what the listing needs of it.
_Within: TypeAlias = tuple[dt.date, int]


@dataclass(frozen=True, slots=True)
class Listed:
    figure: _Figure
    value_date: dt.date
    flow_id: int
    how: str

    @property
    def key(self) -> FlowKey:
        return (*self.figure.place, self.value_date, self.flow_id)


class FlowSource(Protocol):
    """The flows of each figure, in order (value date, id): the database, or a test's list."""

    def take(
        self, figure: _Figure, place: _Within | None, *, limit: int, backwards: bool
    ) -> list[Listed]:
        """The first `limit` flows after `place` (all if None), in order; `backwards`:
        the last `limit` flows before `place` (up to the end if None), in order."""

    def count_before(self, figure: _Figure, place: _Within, *, inclusive: bool) -> int:
        """How many of the figure's flows come before `place` (or at it, if inclusive)."""


class _SqlFlows:
    """A figure's flows, read a page at a time from the database."""

    def __init__(
        self,
        session: Session,
        scope: FlowScope,
        buckets: BucketSql,
        version: tuple[Any, ...],
        basis: Basis,
    ) -> None:
        self.session = session
        self.scope = scope
        self.buckets = buckets
        self.value_date = value_date_sql()
        # Pages are read again and again (page one above all): cached like the
        # sums, under what identifies the statement (the buckets' SQL follows
        # from the basis and the actor tree, which the data version covers).
        self.version = version
        self.ident = ("flows", basis, scope.cache_key(session))

    def _where(self, figure: _Figure) -> list[ColumnElement[bool]]:
        counted = derived.counted_in_totals_sql()
        return [
            *self.scope.conditions(),
            counted if figure.place[0] == COUNTED else not_(counted),
            MoneyFlow.currency == figure.currency,
            MoneyFlow.stage == figure.stage.value,
            *self.buckets.equals(*figure.sql_keys),
        ]

    def _after(self, place: _Within, inclusive: bool = False) -> ColumnElement[bool]:
        day, flow_id = place
        last = MoneyFlow.id >= flow_id if inclusive else MoneyFlow.id > flow_id
        return or_(self.value_date > day, and_(self.value_date == day, last))

    def take(
        self, figure: _Figure, place: _Within | None, *, limit: int, backwards: bool
    ) -> list[Listed]:
        def read() -> list[tuple[dt.date, int, str]]:
            where = self._where(figure)
            if place is not None:
                where.append(
                    not_(self._after(place, inclusive=True)) if backwards else self._after(place)
                )
            order = (
                [self.value_date.desc(), MoneyFlow.id.desc()]
                if backwards
                else [self.value_date, MoneyFlow.id]
            )
            statement = (
                select(self.value_date, MoneyFlow.id, attributed_by_sql())
                .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
                .where(*where)
                .order_by(*order)
                .limit(limit)
            )
            return [(row[0], row[1], row[2]) for row in self.session.execute(statement)]

        key = (*self.ident, "take", figure.place, figure.sql_keys, place, limit, backwards)
        rows = totals.cached(self.version, key, read)
        found = [Listed(figure, day, flow_id, how) for day, flow_id, how in rows]
        return found[::-1] if backwards else found

    def count_before(self, figure: _Figure, place: _Within, *, inclusive: bool) -> int:
        def count() -> int:
            where = [*self._where(figure), not_(self._after(place, inclusive=not inclusive))]
            statement = (
                select(func.count())
                .select_from(MoneyFlow)
                .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
                .where(*where)
            )
            return int(self.session.scalar(statement) or 0)

        key = (*self.ident, "count", figure.place, figure.sql_keys, place, inclusive)
        return totals.cached(self.version, key, count)


def flow_page(
    figures: list[_Figure], paging: FlowPaging, source: FlowSource
) -> tuple[list[Listed], FlowPage]:
    """One page of the listing, and where it sits.

    Each figure's count is known from the totals, so figures wholly before (or
    after) the page are counted, not read: only the figures the page touches
    are read, `size` flows at most, in order, from where the page starts.
    """
    size = paging.size
    total = sum(f.count for f in figures)
    backwards = paging.before is not None
    boundary = paging.before if backwards else paging.after
    # (flows taken in order, index of the first taken, index after the last, figure size)
    taken: list[tuple[list[Listed], int, int, int]] = []
    skipped = 0  # flows before the page (forwards) or after it (backwards)
    wanted = size
    for figure in reversed(figures) if backwards else figures:
        if not wanted:
            break
        edge = boundary[:6] if boundary is not None else None
        if edge is not None and ((figure.place > edge) if backwards else (figure.place < edge)):
            skipped += figure.count
            continue
        place: _Within | None = None
        if boundary is not None and figure.place == edge:
            place = (boundary[6], boundary[7])
        if backwards:
            # Flows at or after the place are after the page.
            hi = (
                source.count_before(figure, place, inclusive=False)
                if place is not None
                else figure.count
            )
            skipped += figure.count - hi
            flows = source.take(figure, place, limit=wanted, backwards=True) if hi else []
            lo = hi - len(flows)
        else:
            lo = source.count_before(figure, place, inclusive=True) if place is not None else 0
            skipped += lo
            flows = (
                source.take(figure, place, limit=wanted, backwards=False)
                if lo < figure.count
                else []
            )
            hi = lo + len(flows)
        if flows:
            taken.append((flows, lo, hi, figure.count))
            wanted -= len(flows)
    if backwards:
        taken.reverse()
    chosen = [listed for flows, *_ in taken for listed in flows]
    if not chosen:
        return [], FlowPage(size, 0, 0, total, None, None, False, False)
    first = total - skipped - len(chosen) + 1 if backwards else skipped + 1
    last = first + len(chosen) - 1
    return chosen, FlowPage(
        size=size,
        first=first,
        last=last,
        total=total,
        next_key=chosen[-1].key if last < total else None,
        previous_key=chosen[0].key if first > 1 else None,
        # Its figure has flows before the first listed one, or after the last.
        continued=taken[0][1] > 0,
        continues=taken[-1][2] < taken[-1][3],
    )


def _lines(
    session: Session, listed: list[Listed], book: RateBook | None, convert_to: str | None
) -> tuple[list[FlowLine], list[FlowLine]]:
    """The listed flows, loaded with their quotes, converted, and what replaced them."""
    loaded = _load_flows(session, [item.flow_id for item in listed])
    superseded = [item for item in listed if item.figure.place[0] == SUPERSEDED]
    successor_of: dict[int, Commitment] = {}
    replaced = {loaded[item.flow_id].commitment_id for item in superseded}
    if replaced:
        for successor in session.scalars(
            select(Commitment)
            .where(Commitment.supersedes_id.in_(sorted(replaced)), *visible(include_drafts=False))
            .order_by(Commitment.id)
        ):
            assert successor.supersedes_id is not None
            successor_of.setdefault(successor.supersedes_id, successor)
    lines: list[FlowLine] = []
    excluded: list[FlowLine] = []
    for item in listed:
        flow = loaded[item.flow_id]
        conversion = None
        if book is not None and convert_to is not None:
            found = book.factor(flow.currency, convert_to, item.value_date)
            if found is not None:
                amount = Fraction(flow.amount_minor, 10 ** money.currency_exponent(flow.currency))
                conversion = Conversion(amount * found[0], convert_to, item.value_date, found[1])
        line = FlowLine(flow, item.figure.bucket, item.value_date, item.how, conversion)
        if item.figure.place[0] == SUPERSEDED:
            line.superseded_by = successor_of.get(flow.commitment_id)
            excluded.append(line)
        else:
            lines.append(line)
    return lines, excluded


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


def _complete(cell: ConvertedCell) -> Decimal | None:
    return None if cell.missing else cell.rounded


def _charts(
    rows: list[Row], converted_rows: list[ConvertedRow], convert_to: str | None
) -> list[ChartData]:
    """Pledged against paid (disbursed) by year: in the reporting currency, else per currency."""
    if convert_to is not None and converted_rows:
        # What the amounts as stated make of each figure (a ceiling, a floor…);
        # that converting makes it approximate the chart says once, in its caption.
        return [
            ChartData(
                currency=convert_to,
                approximate=any(r.cells[s].approximate for r in converted_rows for s in FlowStage),
                labels=[r.bucket.label for r in converted_rows if r.bucket],
                pledged=[_complete(r.cells[FlowStage.pledge]) for r in converted_rows],
                paid=[_complete(r.cells[FlowStage.disbursement]) for r in converted_rows],
                pledged_qualifiers=[
                    r.cells[FlowStage.pledge].stated_qualifier for r in converted_rows
                ],
                paid_qualifiers=[
                    r.cells[FlowStage.disbursement].stated_qualifier for r in converted_rows
                ],
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
    left out, as the page leaves their cells empty. `flow_ids` needs a report
    computed with `flow_ids=True`.
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
            if not cell.flow_count:
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
                    cell.flow_count,
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
            if not ccell.flow_count:
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
                    ccell.flow_count,
                    " ".join(str(i) for i in ccell.flow_ids),
                    ccell.missing,
                    " ".join(d.isoformat() for d in ccell.rate_dates),
                    "; ".join(ccell.rate_sources),
                ]
            )
    return out
