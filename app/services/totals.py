"""Exact money totals, per currency and per stage — never across currencies.

SQLite's SUM() raises on 64-bit overflow and TOTAL() returns a float, so a
column of minor units is summed in two parts that cannot overflow: the
quotient and the remainder by 10**9. Python puts them back together exactly.
The same SQL runs on PostgreSQL, so both databases give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import Commitment, MoneyFlow
from app.money import from_minor_units
from app.services import derived, visibility
from app.vocab import FlowStage

_SPLIT = 10**9


def exact_sum_columns(
    column: ColumnElement[int] | InstrumentedAttribute[int],
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Two SUM expressions whose results combine (see `combine`) into an exact total.

    `//` is integer division on both databases (amounts are never negative, so
    it agrees with `%`). Plain `/` is true division in SQLAlchemy 2: its
    fractions, summed and truncated, counted the remainders twice.
    """
    high = func.coalesce(func.sum(column // _SPLIT), 0)
    low = func.coalesce(func.sum(column % _SPLIT), 0)
    return high, low


def combine(high: int | Decimal, low: int | Decimal) -> int:
    return int(high) * _SPLIT + int(low)


@dataclass(frozen=True)
class StageTotal:
    currency: str
    stage: FlowStage
    amount: Decimal
    flow_count: int


def flow_totals(
    session: Session, *, where: list[ColumnElement[bool]] | None = None
) -> list[StageTotal]:
    """Totals per (currency, stage) over published commitments' flows, filtered by `where`.

    Counted like the funding report: promises (pledges, binding commitments)
    of superseded commitments are left out (`derived.counted_in_totals_sql`).
    """
    high, low = exact_sum_columns(MoneyFlow.amount_minor)
    query: Select[Any] = (
        select(MoneyFlow.currency, MoneyFlow.stage, high, low, func.count())
        .join(Commitment, Commitment.id == MoneyFlow.commitment_id)
        .where(
            *visibility.visible_sql(Commitment),
            derived.counted_in_totals_sql(),
        )
        .group_by(MoneyFlow.currency, MoneyFlow.stage)
        .order_by(MoneyFlow.currency, MoneyFlow.stage)
    )
    for condition in where or []:
        query = query.where(condition)
    stage_order = list(FlowStage)
    totals = [
        StageTotal(
            currency=currency,
            stage=FlowStage(stage),
            amount=from_minor_units(combine(h, lo), currency),
            flow_count=count,
        )
        for currency, stage, h, lo, count in session.execute(query)
    ]
    return sorted(totals, key=lambda t: (t.currency, stage_order.index(t.stage)))


@dataclass(frozen=True)
class CurrencyProgress:
    """Pledged (or committed) against paid, in one currency, for a progress bar."""

    currency: str
    promised: Decimal
    paid: Decimal
    by_stage: dict[FlowStage, Decimal]

    @property
    def paid_percent(self) -> int:
        if not self.promised:
            return 0
        return min(100, int(self.paid * 100 / self.promised))


def progress_by_currency(flows: list[MoneyFlow]) -> list[CurrencyProgress]:
    """Per currency: the largest promise (pledge or binding commitment) and what was paid.

    The promise is the larger of the pledged and committed totals, not their
    sum: a binding commitment usually confirms a pledge rather than adding to it.
    """
    minor: dict[str, dict[FlowStage, int]] = {}
    for flow in flows:
        stages = minor.setdefault(flow.currency, dict.fromkeys(FlowStage, 0))
        stages[FlowStage(flow.stage)] += flow.amount_minor
    result = []
    for currency in sorted(minor):
        stages = minor[currency]
        by_stage = {stage: from_minor_units(v, currency) for stage, v in stages.items()}
        result.append(
            CurrencyProgress(
                currency=currency,
                promised=max(by_stage[FlowStage.pledge], by_stage[FlowStage.commitment]),
                paid=by_stage[FlowStage.disbursement],
                by_stage=by_stage,
            )
        )
    return result
