"""What the database itself guarantees: exact money, checked values, no lost updates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app import money
from app.models import Citation, Commitment, ExchangeRate, Indicator, MoneyFlow, Observation, Source
from app.services.totals import flow_totals
from app.vocab import FlowStage, PublicationState

HUGE = "12345678901234567.89"


def _commitment(session: Session, **values: object) -> Commitment:
    commitment = Commitment(
        kind="funding",
        title="A pledge",
        announced_on=dt.date(2020, 11, 28),
        state=PublicationState.published,
        **values,
    )
    session.add(commitment)
    session.flush()
    return commitment


def _flow(commitment: Commitment, amount: str, currency: str, stage: str = "pledge") -> MoneyFlow:
    return MoneyFlow(
        commitment=commitment,
        stage=stage,
        amount_minor=money.to_minor_units(amount, currency),
        currency=currency,
    )


def test_huge_amount_is_stored_summed_and_read_back_exactly(session: Session) -> None:
    commitment = _commitment(session)
    session.add_all([_flow(commitment, HUGE, "EUR"), _flow(commitment, HUGE, "EUR")])
    session.commit()
    session.expire_all()

    stored = session.scalars(select(MoneyFlow.amount_minor)).all()
    assert stored == [1234567890123456789, 1234567890123456789]
    flows = session.scalars(select(MoneyFlow)).all()
    assert all(flow.amount == Decimal(HUGE) for flow in flows)
    [total] = flow_totals(session)
    assert total.amount == Decimal("24691357802469135.78")
    assert (total.currency, total.stage, total.flow_count) == ("EUR", FlowStage.pledge, 2)


def test_totals_past_the_64_bit_range_stay_exact(session: Session) -> None:
    """Eight huge flows add up to more than a BIGINT holds; the total is still exact."""
    commitment = _commitment(session)
    session.add_all([_flow(commitment, HUGE, "EUR") for _ in range(8)])
    session.flush()
    [total] = flow_totals(session)
    assert total.amount == Decimal(HUGE) * 8


@pytest.mark.parametrize("amounts", [["6000000.00"] * 3, ["9999999.99", "0.01", "15000000.00"]])
def test_totals_are_exact_when_the_parts_carry_over(session: Session, amounts: list[str]) -> None:
    """Three €6m flows make €18m, not €28m: the split sums must not double-count.

    (SQLAlchemy 2's `/` is true division; a float or decimal high part summed
    and then truncated counted the remainders twice.)
    """
    commitment = _commitment(session)
    session.add_all([_flow(commitment, amount, "EUR") for amount in amounts])
    session.flush()
    [total] = flow_totals(session)
    assert total.amount == sum(Decimal(a) for a in amounts)


def test_totals_never_mix_currencies_or_stages(session: Session) -> None:
    commitment = _commitment(session)
    session.add_all(
        [
            _flow(commitment, "31400000", "EUR"),
            _flow(commitment, "28100000", "GBP"),
            _flow(commitment, "1000000", "EUR", stage="disbursement"),
            _flow(commitment, "500", "JPY"),
        ]
    )
    session.flush()
    totals = {(t.currency, t.stage): t.amount for t in flow_totals(session)}
    assert totals == {
        ("EUR", FlowStage.pledge): Decimal("31400000.00"),
        ("EUR", FlowStage.disbursement): Decimal("1000000.00"),
        ("GBP", FlowStage.pledge): Decimal("28100000.00"),
        ("JPY", FlowStage.pledge): Decimal("500"),
    }


def test_drafts_are_left_out_of_totals(session: Session) -> None:
    draft = _commitment(session)
    draft.state = PublicationState.draft
    session.add(_flow(draft, "100", "EUR"))
    session.flush()
    assert flow_totals(session) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("amount_minor", -1),
        ("currency", "eur"),
        ("currency", "EU"),
        ("currency", "E1R"),
        ("stage", "promised"),
        ("qualifier", "roughly"),
    ],
)
def test_database_refuses_bad_money_flows(session: Session, column: str, value: object) -> None:
    commitment = _commitment(session)
    flow = _flow(commitment, "1", "EUR")
    setattr(flow, column, value)
    session.add(flow)
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_refuses_unknown_status(session: Session) -> None:
    with pytest.raises(IntegrityError):
        _commitment(session, status="done-ish")


def test_citation_supports_exactly_one_record(session: Session) -> None:
    commitment = _commitment(session)
    flow = _flow(commitment, "1", "EUR")
    source = Source(title="S", kind="report")
    session.add_all([flow, source])
    session.flush()
    session.add(
        Citation(source=source, quote="q", commitment_id=commitment.id, money_flow_id=flow.id)
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_citation_of_nothing_is_refused(session: Session) -> None:
    source = Source(title="S", kind="report")
    session.add(source)
    session.flush()
    session.add(Citation(source=source, quote="q"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    session.add(MoneyFlow(commitment_id=999_999, stage="pledge", amount_minor=1, currency="EUR"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_rates_and_indicator_values_are_exact_decimals(session: Session) -> None:
    session.add(
        ExchangeRate(
            rate_on=dt.date(2020, 11, 27),
            base_currency="EUR",
            quote_currency="GBP",
            rate=Decimal("0.89448"),
            source_name="ECB",
        )
    )
    indicator = Indicator(name="Rate", unit="%")
    indicator.observations.append(
        Observation(
            value=Decimal("41.5"),
            period_precision="year",
            period_start_on=dt.date(2019, 1, 1),
            period_end_on=dt.date(2019, 12, 31),
        )
    )
    session.add(indicator)
    session.commit()
    session.expire_all()
    assert session.scalars(select(ExchangeRate.rate)).one() == Decimal("0.89448")
    assert session.scalars(select(Observation.value)).one() == Decimal("41.5")


def test_timestamps_come_back_aware_utc(session: Session) -> None:
    commitment = _commitment(session)
    session.commit()
    session.expire_all()
    reloaded = session.get(Commitment, commitment.id)
    assert reloaded is not None
    assert reloaded.created_at.tzinfo is not None
    assert reloaded.created_at.utcoffset() == dt.timedelta(0)


def test_stale_write_is_refused_not_overwritten(session: Session) -> None:
    """Two editors load version 1; the second save must fail, not win silently."""
    commitment = _commitment(session)
    session.commit()
    assert commitment.version == 1
    # Someone else saves in between (simulated with a direct UPDATE).
    session.execute(
        text("UPDATE commitments SET title = 'theirs', version = 2 WHERE id = :id"),
        {"id": commitment.id},
    )
    commitment.title = "mine"
    with pytest.raises(StaleDataError):
        session.flush()
