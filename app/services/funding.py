"""The funding report: who gave how much to whom, per currency, stage and year.

One function, `funding_report`, computes everything the page, its CSV and
the `pledges report funding` command show. The counting rules are in the
README ("Counting rules for funding totals") and in the docstrings below.

Totals are summed in Python over integer minor units, exactly: each flow's
year depends on its provider's fiscal-year convention (inherited from parent
actors) and on its period, which is simpler to state and test here than in
SQL, and the page lists the flows behind every figure anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Final
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from app import money, periods
from app.models import Actor, Citation, Commitment, MoneyFlow
from app.services.commitments import visible
from app.services.conversion import Conversion, RateBook, RateUsed, round_to_minor
from app.vocab import AmountQualifier, DeliveryStatus, FlowStage

STAGE_LABELS: Final = {
    FlowStage.pledge: "pledged",
    FlowStage.commitment: "committed",
    FlowStage.disbursement: "disbursed",
    FlowStage.expenditure: "spent",
}
# Stages that are promises: a superseded commitment's promises are replaced by
# its successor's. Money paid or spent stays paid and spent.
PROMISE_STAGES: Final = frozenset({FlowStage.pledge, FlowStage.commitment})
FLOW_LIST_LIMIT: Final = 500


class Basis(StrEnum):
    calendar_year = "calendar-year"
    fiscal_year = "fiscal-year"


class FundingQueryError(ValueError):
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


def _find_actor(session: Session, text: str, what: str) -> Actor:
    text = text.strip()
    if text.isdigit():
        actor = session.get(Actor, int(text)) if len(text) < 19 else None
        if actor is None or actor.deleted_at is not None:
            raise FundingQueryError(f"{what}: there is no actor {text}")
        return actor
    lowered = text.lower()
    candidates = [
        a
        for a in session.scalars(select(Actor).where(Actor.deleted_at.is_(None)))
        if lowered in {a.name.lower(), (a.short_name or "").lower()}
    ]
    if not candidates:
        raise FundingQueryError(f"{what}: no actor is named {text!r}")
    if len(candidates) > 1:
        raise FundingQueryError(f"{what}: {text!r} names several actors; use an id")
    return candidates[0]


def parse_query(session: Session, raw: Mapping[str, str | None]) -> FundingQuery:
    """Read report parameters (from a URL or the command line); FundingQueryError if bad."""

    def get(name: str) -> str:
        return (raw.get(name) or "").strip()

    provider = _find_actor(session, get("provider"), "provider") if get("provider") else None
    receiver = _find_actor(session, get("receiver"), "receiver") if get("receiver") else None
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
        fy_month = _fiscal_month(session, provider) if provider else 1
        try:
            period = periods.parse_period(get("period"), fy_month)
        except periods.PeriodError as exc:
            raise FundingQueryError(f"period: {exc}") from None
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


# ------------------------------------------------------------ actors


@dataclass(frozen=True)
class _ActorTree:
    parent: dict[int, int | None]
    fy_month: dict[int, int | None]

    def fiscal_month(self, actor_id: int | None) -> int:
        """The actor's fiscal-year start month, else its parent's…, else January."""
        seen: set[int] = set()
        while actor_id is not None and actor_id not in seen:
            seen.add(actor_id)
            month = self.fy_month.get(actor_id)
            if month is not None:
                return month
            actor_id = self.parent.get(actor_id)
        return 1

    def with_descendants(self, actor_id: int) -> set[int]:
        found = {actor_id}
        changed = True
        while changed:
            changed = False
            for child, parent in self.parent.items():
                if parent in found and child not in found:
                    found.add(child)
                    changed = True
        return found


def _actor_tree(session: Session) -> _ActorTree:
    rows = session.execute(select(Actor.id, Actor.parent_id, Actor.fiscal_year_start_month)).all()
    return _ActorTree({r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows})


def _fiscal_month(session: Session, actor: Actor) -> int:
    return _actor_tree(session).fiscal_month(actor.id)


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


def _year_of(d: dt.date, basis: Basis, fy_month: int) -> periods.Period:
    if basis is Basis.calendar_year:
        return periods.Period.year(d.year)
    return periods.fiscal_year_of(d, fy_month)


def attribute(
    flow: MoneyFlow, basis: Basis, fy_month: int
) -> tuple[Bucket | None, str, dt.date | None]:
    """The year a flow counts in, how it was decided, and the date used for conversion.

    1. A flow with a closed period counts in the year (calendar, or the
       provider's fiscal year) that contains the whole period. A period
       covering several years is never apportioned: it counts in a bucket
       labelled with the span ("FY2022-23–FY2023-24").
    2. Otherwise it counts in the year of its value date, then of its
       commitment's announcement.
    The conversion date is the value date, else the period's start, else the
    announcement date.
    """
    period = flow.period
    value_date = flow.value_on or (period.start if period else None) or flow.commitment.announced_on
    if period is not None and period.start is not None and period.end is not None:
        first = _year_of(period.start, basis, fy_month)
        last = _year_of(period.end, basis, fy_month)
        assert first.start is not None
        assert last.end is not None
        if first == last:
            assert first.end is not None
            return Bucket(first.start, first.end, first.label), "period", value_date
        return (
            Bucket(first.start, last.end, f"{first.label}–{last.label}", spans=True),
            "period covers several years; not split",
            value_date,
        )
    if flow.value_on is not None:
        year = _year_of(flow.value_on, basis, fy_month)
        how = "value date"
    else:
        year = _year_of(flow.commitment.announced_on, basis, fy_month)
        how = "announcement date"
    assert year.start is not None
    assert year.end is not None
    return Bucket(year.start, year.end, year.label), how, value_date


# ------------------------------------------------------------ results


@dataclass
class FlowLine:
    """One flow as the report shows it, with why and where it counts."""

    flow: MoneyFlow
    bucket: Bucket
    attributed_by: str
    value_date: dt.date | None
    counted: bool
    excluded_because: str | None = None
    superseded_by: Commitment | None = None
    conversion: Conversion | None = None

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
class Cell:
    """The total of one stage in one currency (and one year): exact minor units."""

    currency: str
    stage: FlowStage
    minor: int = 0
    by_qualifier: dict[AmountQualifier, int] = field(
        default_factory=lambda: dict.fromkeys(AmountQualifier, 0)
    )
    flows: list[FlowLine] = field(default_factory=list)

    def add(self, line: FlowLine) -> None:
        self.minor += line.flow.amount_minor
        self.by_qualifier[AmountQualifier(line.flow.qualifier)] += line.flow.amount_minor
        self.flows.append(line)

    @property
    def amount(self) -> Decimal:
        return money.from_minor_units(self.minor, self.currency)

    def part(self, qualifier: AmountQualifier) -> Decimal:
        return money.from_minor_units(self.by_qualifier[qualifier], self.currency)

    @property
    def qualifier(self) -> str:
        """What the total is: exact, approximately, up_to (a ceiling), at_least, or mixed."""
        q = {k for k, v in self.by_qualifier.items() if v}
        if AmountQualifier.up_to in q and AmountQualifier.at_least in q:
            return "mixed"
        if AmountQualifier.up_to in q:
            return AmountQualifier.up_to.value
        if AmountQualifier.at_least in q:
            return AmountQualifier.at_least.value
        if AmountQualifier.approximately in q:
            return AmountQualifier.approximately.value
        return AmountQualifier.exact.value

    @property
    def flow_ids(self) -> list[int]:
        return [line.flow.id for line in self.flows]

    @property
    def approximate(self) -> bool:
        return bool(self.by_qualifier[AmountQualifier.approximately])


@dataclass
class ConvertedCell:
    """One stage's total converted into the reporting currency (approximate)."""

    currency: str
    stage: FlowStage
    amount: Fraction = Fraction(0)
    converted: int = 0
    missing: int = 0
    legs: set[RateUsed] = field(default_factory=set)
    qualifiers: set[str] = field(default_factory=set)
    flows: list[FlowLine] = field(default_factory=list)

    def add(self, line: FlowLine) -> None:
        self.flows.append(line)
        if line.conversion is None:
            self.missing += 1
            return
        self.amount += line.conversion.amount
        self.converted += 1
        self.legs.update(line.conversion.legs)
        if line.flow.qualifier != AmountQualifier.exact:
            self.qualifiers.add(line.flow.qualifier)

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
        q = self.qualifiers
        if AmountQualifier.up_to in q and AmountQualifier.at_least in q:
            return "mixed"
        if AmountQualifier.up_to in q:
            return AmountQualifier.up_to.value
        if AmountQualifier.at_least in q:
            return AmountQualifier.at_least.value
        if self.approximate:
            return AmountQualifier.approximately.value
        return AmountQualifier.exact.value

    @property
    def flow_ids(self) -> list[int]:
        return [line.flow.id for line in self.flows]

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
    pledged: list[Decimal]
    paid: list[Decimal]


@dataclass
class FundingReport:
    query: FundingQuery
    rows: list[Row]  # per year and currency
    totals: list[Row]  # per currency, all years
    converted_rows: list[ConvertedRow]
    converted_total: ConvertedRow | None
    lines: list[FlowLine]  # counted flows
    excluded: list[FlowLine]  # superseded promises, listed not counted
    rate_sources: list[str]
    rate_dates: list[dt.date]
    charts: list[ChartData]

    @property
    def stages(self) -> list[FlowStage]:
        return list(FlowStage)

    def cell_lines(self) -> dict[str, list[FlowLine]]:
        """Counted flows grouped by the anchor of the figure they make up."""
        groups: dict[str, list[FlowLine]] = {}
        for line in self.lines:
            groups.setdefault(line.anchor, []).append(line)
        return groups


def _new_cells(currency: str) -> dict[FlowStage, Cell]:
    return {stage: Cell(currency, stage) for stage in FlowStage}


def funding_report(session: Session, query: FundingQuery) -> FundingReport:
    """Compute the report for `query` (see the module docstring and the README)."""
    tree = _actor_tree(session)
    conditions: list[ColumnElement[bool]] = list(visible(include_drafts=False))
    if query.provider is not None:
        conditions.append(MoneyFlow.provider_id.in_(tree.with_descendants(query.provider.id)))
    if query.receiver is not None:
        conditions.append(MoneyFlow.receiver_id.in_(tree.with_descendants(query.receiver.id)))
    if query.stage is not None:
        conditions.append(MoneyFlow.stage == query.stage.value)
    if query.currency is not None:
        conditions.append(MoneyFlow.currency == query.currency)
    flows = list(
        session.scalars(
            select(MoneyFlow)
            .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
            .where(*conditions)
            .order_by(MoneyFlow.value_on, MoneyFlow.id)
            .options(
                contains_eager(MoneyFlow.commitment)
                .selectinload(Commitment.citations)
                .selectinload(Citation.source),
                selectinload(MoneyFlow.provider),
                selectinload(MoneyFlow.receiver),
                selectinload(MoneyFlow.citations).selectinload(Citation.source),
            )
        ).unique()
    )

    # Which commitments have been replaced, and by what.
    successors: dict[int, Commitment] = {
        c.supersedes_id: c
        for c in session.scalars(
            select(Commitment).where(
                Commitment.supersedes_id.is_not(None), *visible(include_drafts=False)
            )
        )
        if c.supersedes_id is not None
    }

    lines: list[FlowLine] = []
    excluded: list[FlowLine] = []
    for flow in flows:
        fy_month = tree.fiscal_month(flow.provider_id)
        bucket, how, value_date = attribute(flow, query.basis, fy_month)
        assert bucket is not None
        if query.period is not None and not (
            (query.period.start is None or bucket.start >= query.period.start)
            and (query.period.end is None or bucket.end <= query.period.end)
        ):
            continue
        line = FlowLine(flow, bucket, how, value_date, counted=True)
        commitment = flow.commitment
        replaced = commitment.id in successors or commitment.status == DeliveryStatus.superseded
        if replaced and FlowStage(flow.stage) in PROMISE_STAGES:
            line.counted = False
            line.superseded_by = successors.get(commitment.id)
            line.excluded_because = "superseded"
            excluded.append(line)
        else:
            lines.append(line)

    # Conversion, once per flow, with rates loaded in one query.
    if query.convert_to is not None:
        dates = [ln.value_date for ln in lines + excluded if ln.value_date is not None]
        if dates:
            book = RateBook(
                session,
                {ln.flow.currency for ln in lines + excluded} | {query.convert_to},
                first_on=min(dates),
                last_on=max(dates),
                source=query.rate_source,
            )
            for ln in lines + excluded:
                if ln.value_date is not None:
                    ln.conversion = book.convert(
                        ln.flow.amount, ln.flow.currency, query.convert_to, ln.value_date
                    )

    by_row: dict[tuple[Bucket, str], dict[FlowStage, Cell]] = {}
    by_currency: dict[str, dict[FlowStage, Cell]] = {}
    for ln in lines:
        currency = ln.flow.currency
        by_row.setdefault((ln.bucket, currency), _new_cells(currency))[ln.stage].add(ln)
        by_currency.setdefault(currency, _new_cells(currency))[ln.stage].add(ln)
    rows = [Row(b, cur, cells) for (b, cur), cells in sorted(by_row.items())]
    totals = [Row(None, cur, cells) for cur, cells in sorted(by_currency.items())]

    converted_rows: list[ConvertedRow] = []
    converted_total: ConvertedRow | None = None
    legs: set[RateUsed] = set()
    if query.convert_to is not None:
        target = query.convert_to
        per_bucket: dict[Bucket, dict[FlowStage, ConvertedCell]] = {}
        overall = {stage: ConvertedCell(target, stage) for stage in FlowStage}
        for ln in lines:
            cells = per_bucket.setdefault(
                ln.bucket, {stage: ConvertedCell(target, stage) for stage in FlowStage}
            )
            cells[ln.stage].add(ln)
            overall[ln.stage].add(ln)
            if ln.conversion is not None:
                legs.update(ln.conversion.legs)
        converted_rows = [ConvertedRow(b, c) for b, c in sorted(per_bucket.items())]
        converted_total = ConvertedRow(None, overall)

    return FundingReport(
        query=query,
        rows=rows,
        totals=totals,
        converted_rows=converted_rows,
        converted_total=converted_total,
        lines=lines,
        excluded=excluded,
        rate_sources=sorted({leg.source_name for leg in legs}),
        rate_dates=sorted({leg.rate_on for leg in legs}),
        charts=_charts(rows, converted_rows, query.convert_to),
    )


def _charts(
    rows: list[Row], converted_rows: list[ConvertedRow], convert_to: str | None
) -> list[ChartData]:
    """Pledged against paid (disbursed) by year: in the reporting currency, else per currency."""
    if convert_to is not None and converted_rows:
        return [
            ChartData(
                currency=convert_to,
                approximate=any(r.cells[s].approximate for r in converted_rows for s in FlowStage),
                labels=[r.bucket.label for r in converted_rows if r.bucket],
                pledged=[r.cells[FlowStage.pledge].rounded for r in converted_rows],
                paid=[r.cells[FlowStage.disbursement].rounded for r in converted_rows],
            )
        ]
    charts: dict[str, ChartData] = {}
    for row in rows:
        assert row.bucket is not None
        chart = charts.setdefault(row.currency, ChartData(row.currency, False, [], [], []))
        chart.labels.append(row.bucket.label)
        chart.pledged.append(row.cells[FlowStage.pledge].amount)
        chart.paid.append(row.cells[FlowStage.disbursement].amount)
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
                    cell.part(AmountQualifier.up_to),
                    cell.part(AmountQualifier.approximately),
                    cell.part(AmountQualifier.at_least),
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
