"""A hand-checked funding fixture: several commitments in three currencies and four stages.

All of it is invented test data (actors, amounts, dates); the expected totals
in tests/test_funding_report.py were worked out by hand from the comments here.

Actors: UK government (fiscal year from April), its Home Office (no convention
of its own: inherits April), the French Ministry of the Interior (January) and
an NGO with no convention (calendar years).

A  Multi-year pledge, Home Office → France, £476m over three UK fiscal years:
   A1 £141m FY2023-24, A2 £191m FY2024-25, A3 £144m FY2025-26 (pledge, period
   = fiscal year, valued 2023-03-10), and a payment A4: £60m disbursed on
   Saturday 30 September 2023 (weekend value date, no period) with the
   source's stated equivalent "about €69.1 million".
B  "Up to €10 million", Home Office → France, valued 20 July 2021 (ceiling).
C1 €20m pledged 1 March 2021 (UK government → France), of which €4m was
   disbursed on 1 June 2021; re-announced and superseded by C2.
C2 "€25 million in total" pledged 15 September 2021 (makers: the UK
   government AND the Home Office — two makers, counted once), supersedes C1.
C3 "a further €5 million" on 10 November 2021, is_additional, tops up C2.
E  France → NGO: approximately $3m (USD) committed on 4 May 2022.
D  A draft commitment with a £999m pledge: never counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, object_session

from app import money, periods
from app.models import Actor, Citation, Commitment, CommitmentActor, MoneyFlow, Source
from app.vocab import ActorKind, AmountQualifier, CommitmentKind, FlowStage, PublicationState

PUBLISHED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass
class Fixture:
    uk: Actor
    home_office: Actor
    france: Actor
    ngo: Actor
    a: Commitment
    b: Commitment
    c1: Commitment
    c2: Commitment
    c3: Commitment
    e: Commitment
    flows: dict[str, MoneyFlow]


def _actor(session: Session, name: str, country: str | None, fy: int | None) -> Actor:
    actor = Actor(
        name=name,
        kind=ActorKind.government if fy else ActorKind.organisation,
        country_code=country,
        fiscal_year_start_month=fy,
        state=PublicationState.published,
        published_at=PUBLISHED_AT,
    )
    session.add(actor)
    return actor


def _commitment(
    session: Session,
    title: str,
    announced: dt.date,
    makers: list[Actor],
    recipients: list[Actor],
    *,
    state: PublicationState = PublicationState.published,
    **extra: object,
) -> Commitment:
    commitment = Commitment(
        kind=CommitmentKind.funding,
        title=title,
        announced_on=announced,
        state=state,
        published_at=PUBLISHED_AT if state == PublicationState.published else None,
        **extra,
    )
    commitment.actor_links = [CommitmentActor(actor=a, role="maker") for a in makers] + [
        CommitmentActor(actor=a, role="recipient") for a in recipients
    ]
    session.add(commitment)
    return commitment


def _flow(
    commitment: Commitment,
    stage: FlowStage,
    amount: str,
    currency: str,
    *,
    provider: Actor,
    receiver: Actor,
    value_on: dt.date | None,
    source: Source,
    quote: str,
    qualifier: AmountQualifier = AmountQualifier.exact,
    period: periods.Period | None = None,
    equivalent: tuple[str, str, str] | None = None,
) -> MoneyFlow:
    flow = MoneyFlow(
        commitment=commitment,
        stage=stage,
        amount_minor=money.to_minor_units(amount, currency),
        currency=currency,
        amount_text=quote,
        qualifier=qualifier,
        value_on=value_on,
        provider=provider,
        receiver=receiver,
        citations=[Citation(source=source, quote=quote, locator="para 1")],
    )
    session = object_session(commitment)
    assert session is not None
    session.add(flow)
    if period is not None:
        flow.period_start_on = period.start
        flow.period_end_on = period.end
        flow.period_precision = period.precision
        flow.period_fiscal_start_month = period.fiscal_start_month
    if equivalent is not None:
        eq_amount, eq_currency, eq_text = equivalent
        flow.stated_equivalent_minor = money.to_minor_units(eq_amount, eq_currency)
        flow.stated_equivalent_currency = eq_currency
        flow.stated_equivalent_text = eq_text
    return flow


def build(session: Session) -> Fixture:
    uk = _actor(session, "Test UK government", "GB", 4)
    home_office = _actor(session, "Test Home Office", "GB", None)
    france = _actor(session, "Test French Ministry of the Interior", "FR", 1)
    ngo = _actor(session, "Test Refugee Support NGO", None, None)
    session.flush()
    home_office.parent_id = uk.id
    source = Source(
        title="Invented statement for tests",
        kind="other",
        published_on=dt.date(2023, 3, 10),
        state=PublicationState.published,
        published_at=PUBLISHED_AT,
    )
    session.add(source)

    flows: dict[str, MoneyFlow] = {}
    a = _commitment(
        session, "Test multi-year pledge", dt.date(2023, 3, 10), [home_office], [france]
    )
    for key, amount, start in (("A1", "141000000", 2023), ("A2", "191000000", 2024)):
        flows[key] = _flow(
            a, FlowStage.pledge, amount, "GBP", provider=home_office, receiver=france,
            value_on=dt.date(2023, 3, 10), source=source, quote=f"£{amount} for FY{start}",
            period=periods.Period.fiscal_year(start, 4),
        )  # fmt: skip
    flows["A3"] = _flow(
        a, FlowStage.pledge, "144000000", "GBP", provider=home_office, receiver=france,
        value_on=dt.date(2023, 3, 10), source=source, quote="£144m for FY2025",
        period=periods.Period.fiscal_year(2025, 4),
    )  # fmt: skip
    flows["A4"] = _flow(
        a, FlowStage.disbursement, "60000000", "GBP", provider=home_office, receiver=france,
        value_on=dt.date(2023, 9, 30), source=source, quote="£60 million paid",
        equivalent=("69100000", "EUR", "about €69.1 million"),
    )  # fmt: skip

    b = _commitment(session, "Test up-to pledge", dt.date(2021, 7, 20), [home_office], [france])
    flows["B"] = _flow(
        b, FlowStage.pledge, "10000000", "EUR", provider=home_office, receiver=france,
        value_on=dt.date(2021, 7, 20), source=source, quote="up to €10 million",
        qualifier=AmountQualifier.up_to,
    )  # fmt: skip

    c1 = _commitment(session, "Test original pledge", dt.date(2021, 3, 1), [uk], [france])
    flows["C1"] = _flow(
        c1, FlowStage.pledge, "20000000", "EUR", provider=uk, receiver=france,
        value_on=dt.date(2021, 3, 1), source=source, quote="€20 million",
    )  # fmt: skip
    flows["C1paid"] = _flow(
        c1, FlowStage.disbursement, "4000000", "EUR", provider=uk, receiver=france,
        value_on=dt.date(2021, 6, 1), source=source, quote="€4 million paid",
    )  # fmt: skip
    session.flush()
    c2 = _commitment(
        session, "Test re-announced pledge", dt.date(2021, 9, 15), [uk, home_office], [france],
        supersedes_id=c1.id,
    )  # fmt: skip
    flows["C2"] = _flow(
        c2, FlowStage.pledge, "25000000", "EUR", provider=uk, receiver=france,
        value_on=dt.date(2021, 9, 15), source=source, quote="€25 million in total",
    )  # fmt: skip
    session.flush()
    c3 = _commitment(
        session, "Test top-up", dt.date(2021, 11, 10), [uk], [france],
        is_additional=True, tops_up_id=c2.id,
    )  # fmt: skip
    flows["C3"] = _flow(
        c3, FlowStage.pledge, "5000000", "EUR", provider=uk, receiver=france,
        value_on=dt.date(2021, 11, 10), source=source, quote="a further €5 million",
    )  # fmt: skip

    e = _commitment(session, "Test French grant to an NGO", dt.date(2022, 5, 4), [france], [ngo])
    flows["E"] = _flow(
        e, FlowStage.commitment, "3000000", "USD", provider=france, receiver=ngo,
        value_on=dt.date(2022, 5, 4), source=source, quote="approximately $3 million",
        qualifier=AmountQualifier.approximately,
    )  # fmt: skip

    d = _commitment(
        session, "Test draft", dt.date(2021, 1, 1), [uk], [france], state=PublicationState.draft
    )
    flows["D"] = _flow(
        d, FlowStage.pledge, "999000000", "GBP", provider=uk, receiver=france,
        value_on=dt.date(2021, 1, 1), source=source, quote="£999m",
    )  # fmt: skip
    session.flush()
    return Fixture(uk, home_office, france, ngo, a, b, c1, c2, c3, e, flows)
