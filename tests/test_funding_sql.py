"""The funding report computed by the database equals a plain-Python reference (issue 17).

Random actor trees (inherited fiscal months), periods spanning years, open
periods, supersessions by link and by status, drafts, deletions, qualifiers
and three currencies; every figure, count, flow id, converted total and the
order of the paged listing are compared with `tests/funding_reference.py`.
Runs on SQLite and on PostgreSQL, as the whole suite does.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app import periods
from app.services import funding
from app.services.funding import Basis, FundingQuery
from app.vocab import FlowStage
from tests import funding_reference

# More examples locally than under CI, where the suite runs twice (both databases).
EXAMPLES = 25 if os.environ.get("CI", "").lower() == "true" else 60

PERIODS = [
    None,
    periods.Period.range(dt.date(2019, 1, 1), None),
    periods.Period.range(None, dt.date(2021, 12, 31)),
    periods.Period.range(dt.date(2019, 4, 1), dt.date(2022, 3, 31)),
]


def _observed(report: funding.FundingReport) -> dict[tuple[Any, str, str], tuple[Any, ...]]:
    found = {}
    for row in [*report.rows, *report.totals]:
        where = (row.bucket.start, row.bucket.end, row.bucket.label) if row.bucket else None
        for stage, cell in row.cells.items():
            if cell.flow_count:
                found[(where, row.currency, stage.value)] = (
                    cell.minor,
                    cell.qualifier,
                    cell.flow_count,
                    cell.flow_ids,
                )
    return found


def _converted(report: funding.FundingReport) -> dict[tuple[Any, str], tuple[Any, ...]]:
    found = {}
    rows = [*report.converted_rows]
    if report.converted_total is not None:
        rows.append(report.converted_total)
    for row in rows:
        where = (row.bucket.start, row.bucket.end, row.bucket.label) if row.bucket else None
        for stage, cell in row.cells.items():
            if cell.flow_count:
                found[(where, stage.value)] = (
                    cell.rounded if cell.converted else None,
                    cell.missing,
                    cell.flow_count,
                )
    return found


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=funding_reference.dataset(),
    choice=st.fixed_dictionaries(
        {
            "provider": st.none() | st.integers(0, 4),
            "receiver": st.none() | st.integers(0, 4),
            "stage": st.none() | st.sampled_from(list(FlowStage)),
            "currency": st.none() | st.sampled_from(funding_reference.CURRENCIES),
            "fiscal": st.booleans(),
            "period": st.sampled_from(PERIODS),
            "convert_to": st.none() | st.sampled_from(["GBP", "EUR", "JPY"]),
            "size": st.integers(1, 6),
        }
    ),
)
def test_sql_report_equals_the_reference(
    session: Session, data: dict[str, Any], choice: dict[str, Any]
) -> None:
    savepoint = session.begin_nested()
    try:
        built = funding_reference.build(session, data)
        actors = built.actors

        def actor(index: int | None) -> Any:
            return actors[index] if index is not None and index < len(actors) else None

        query = FundingQuery(
            provider=actor(choice["provider"]),
            receiver=actor(choice["receiver"]),
            stage=choice["stage"],
            currency=choice["currency"],
            basis=Basis.fiscal_year if choice["fiscal"] else Basis.calendar_year,
            period=choice["period"],
            convert_to=choice["convert_to"],
        )
        expected = funding_reference.reference(
            session,
            provider=query.provider.id if query.provider else None,
            receiver=query.receiver.id if query.receiver else None,
            stage=query.stage.value if query.stage else None,
            currency=query.currency,
            fiscal=choice["fiscal"],
            period=query.period,
            convert_to=query.convert_to,
        )
        size = choice["size"]
        report = funding.funding_report(
            session, query, paging=funding.FlowPaging(size=size), flow_ids=True
        )
        assert _observed(report) == expected.figures
        assert (report.flow_count, report.excluded_count) == (expected.counted, expected.excluded)
        if query.convert_to is not None:
            assert _converted(report) == expected.converted

        # The listing, page by page from the first: every flow once, in the
        # order of the figures, then the superseded ones.
        listed = [ln.flow.id for ln in report.lines + report.excluded]
        pages = 1
        while report.page is not None and report.page.next_key is not None:
            assert pages <= len(expected.order)
            paging = funding.FlowPaging(size=size, after=report.page.next_key)
            report = funding.funding_report(session, query, paging=paging)
            listed += [ln.flow.id for ln in report.lines + report.excluded]
            pages += 1
        assert listed == expected.order
        # And back from the last page.
        back: list[int] = []
        while True:
            back[:0] = [ln.flow.id for ln in report.lines + report.excluded]
            if report.page is None or report.page.previous_key is None:
                break
            paging = funding.FlowPaging(size=size, before=report.page.previous_key)
            report = funding.funding_report(session, query, paging=paging)
        assert back == expected.order
    finally:
        savepoint.rollback()
        session.expunge_all()


def test_cached_totals_follow_every_kind_of_write(session: Session) -> None:
    """The sums are cached per data version: any write to a flow, a commitment or an
    actor (even without a change record) gives fresh figures, never stale ones."""
    from sqlalchemy import delete

    from app.models import Citation, MoneyFlow
    from app.services import totals
    from tests import funding_fixture

    fx = funding_fixture.build(session)
    session.commit()

    def eur_pledged() -> Any:
        return {(t.currency, t.stage): t.amount for t in totals.flow_totals(session)}.get(
            ("EUR", FlowStage.pledge)
        )

    def uk_fiscal_months() -> set[int]:
        query = FundingQuery(provider=fx.uk, basis=Basis.fiscal_year)
        return {
            r.bucket.start.month for r in funding.funding_report(session, query).rows if r.bucket
        }

    assert eur_pledged() == Decimal("40000000.00")
    assert eur_pledged() == Decimal("40000000.00")  # from the cache
    fx.flows["B"].amount_minor += 100  # a flow edited
    session.commit()
    assert eur_pledged() == Decimal("40000001.00")
    fx.c2.state = "draft"  # a commitment unpublished: C1, which it superseded, counts again
    session.commit()
    assert eur_pledged() == Decimal("35000001.00")
    gone = fx.flows["C3"].id  # a flow removed, by plain SQL
    session.execute(delete(Citation).where(Citation.money_flow_id == gone))
    session.execute(delete(MoneyFlow).where(MoneyFlow.id == gone))
    session.commit()
    assert eur_pledged() == Decimal("30000001.00")
    assert uk_fiscal_months() == {4}
    fx.uk.fiscal_year_start_month = 7  # an actor's fiscal year changed
    session.commit()
    assert uk_fiscal_months() == {7}
