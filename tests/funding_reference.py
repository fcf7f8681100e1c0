"""Random funding data, and a straightforward reference for the funding report's figures.

`dataset` draws an actor tree (fiscal months inherited or not), commitments
(drafts, deletions, supersessions by link or by status, top-ups) and their
money flows (several currencies, all stages and qualifiers, periods spanning
years, open periods, no value date), and a few exchange rates. `reference`
computes what the report must show in plain Python over every flow, from the
README's counting rules, without the SQL: the property tests compare the two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import money, periods
from app.models import Actor, Commitment, CommitmentActor, ExchangeRate, MoneyFlow
from app.services.conversion import RateBook, round_to_minor
from app.vocab import (
    ActorKind,
    AmountQualifier,
    CommitmentKind,
    DeliveryStatus,
    FlowStage,
    PublicationState,
    combined_qualifier,
)

PUBLISHED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
CURRENCIES = ("EUR", "GBP", "JPY")  # JPY: no minor unit
FIRST_DAY = dt.date(2018, 1, 1)
DAYS = 365 * 6


def _day(n: int) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=n)


@st.composite
def dataset(draw: st.DrawFn, *, max_commitments: int = 7) -> dict[str, Any]:
    """Plain values (no ORM objects), so a failing example prints readably."""
    actor_count = draw(st.integers(1, 5))
    actors = [
        {
            "parent": draw(st.none() | st.integers(0, i - 1)) if i else None,
            "fy": draw(st.sampled_from([None, None, 1, 4, 7])),
            "draft": draw(st.booleans()) if i else False,
        }
        for i in range(actor_count)
    ]
    commitments = []
    n = draw(st.integers(0, max_commitments))
    for i in range(n):
        flows = [
            {
                "stage": draw(st.sampled_from(list(FlowStage))),
                "currency": draw(st.sampled_from(CURRENCIES)),
                "minor": draw(st.integers(0, 10**6) | st.sampled_from([0, 10**15 + 7])),
                "qualifier": draw(st.sampled_from(list(AmountQualifier))),
                "value_on": draw(st.none() | st.integers(0, DAYS)),
                "period": draw(
                    st.none() | st.tuples(st.integers(0, DAYS), st.integers(0, 800), st.booleans())
                ),
                "provider": draw(st.none() | st.integers(0, actor_count - 1)),
                "receiver": draw(st.none() | st.integers(0, actor_count - 1)),
            }
            for _ in range(draw(st.integers(0, 4)))
        ]
        commitments.append(
            {
                "announced": draw(st.integers(0, DAYS)),
                "state": draw(st.sampled_from(["published", "published", "draft"])),
                "deleted": draw(st.integers(0, 5)) == 0,
                "status": draw(
                    st.sampled_from([DeliveryStatus.in_progress, DeliveryStatus.superseded])
                    if draw(st.booleans())
                    else st.just(DeliveryStatus.not_yet_assessed)
                ),
                "supersedes": draw(st.none() | st.integers(0, i - 1)) if i else None,
                "tops_up": draw(st.none() | st.integers(0, i - 1)) if i else None,
                "makers": draw(st.lists(st.integers(0, actor_count - 1), max_size=2, unique=True)),
                "flows": flows,
            }
        )
    rates = draw(
        st.lists(
            st.tuples(
                st.integers(0, DAYS),
                st.sampled_from(["GBP", "JPY"]),
                st.integers(50, 20000),
            ),
            max_size=6,
            unique_by=lambda rate: (rate[0], rate[1]),
        )
    )
    return {"actors": actors, "commitments": commitments, "rates": rates}


@dataclass
class Built:
    actors: list[Actor]
    commitments: list[Commitment]
    flows: list[MoneyFlow] = field(default_factory=list)


def build(session: Session, data: dict[str, Any]) -> Built:
    """Write the drawn data (inside the caller's savepoint)."""
    actors = []
    for i, spec in enumerate(data["actors"]):
        actor = Actor(
            name=f"Actor {i}",
            kind=ActorKind.government,
            fiscal_year_start_month=spec["fy"],
            state=PublicationState.draft if spec["draft"] else PublicationState.published,
            published_at=None if spec["draft"] else PUBLISHED_AT,
        )
        session.add(actor)
        actors.append(actor)
    session.flush()
    for actor, spec in zip(actors, data["actors"], strict=True):
        if spec["parent"] is not None:
            actor.parent_id = actors[spec["parent"]].id
    built = Built(actors, [])
    for spec in data["commitments"]:
        published = spec["state"] == "published"
        commitment = Commitment(
            kind=CommitmentKind.funding,
            title="A commitment",
            announced_on=_day(spec["announced"]),
            state=spec["state"],
            published_at=PUBLISHED_AT if published else None,
            status=spec["status"],
            deleted_at=PUBLISHED_AT if spec["deleted"] else None,
            supersedes_id=(
                built.commitments[spec["supersedes"]].id if spec["supersedes"] is not None else None
            ),
            tops_up_id=(
                built.commitments[spec["tops_up"]].id if spec["tops_up"] is not None else None
            ),
            is_additional=spec["tops_up"] is not None,
        )
        commitment.actor_links = [
            CommitmentActor(actor=actors[m], role="maker") for m in spec["makers"]
        ]
        session.add(commitment)
        for f in spec["flows"]:
            flow = MoneyFlow(
                commitment=commitment,
                stage=f["stage"],
                amount_minor=f["minor"],
                currency=f["currency"],
                qualifier=f["qualifier"],
                value_on=_day(f["value_on"]) if f["value_on"] is not None else None,
                provider=actors[f["provider"]] if f["provider"] is not None else None,
                receiver=actors[f["receiver"]] if f["receiver"] is not None else None,
            )
            if f["period"] is not None:
                start, length, closed = f["period"]
                flow.period_start_on = _day(start)
                flow.period_end_on = _day(start + length) if closed else None
                flow.period_precision = periods.Precision.RANGE
            session.add(flow)
            built.flows.append(flow)
        session.flush()
        built.commitments.append(commitment)
    for day, quote, milli in data["rates"]:
        session.add(
            ExchangeRate(
                rate_on=_day(day),
                base_currency="EUR",
                quote_currency=quote,
                rate=Decimal(milli) / 1000,
                source_name="Test rates",
            )
        )
    session.flush()
    return built


# ------------------------------------------------------------ the reference


def fiscal_month(actors: dict[int, Actor], actor_id: int | None) -> int:
    seen = set()
    while actor_id is not None and actor_id not in seen:
        seen.add(actor_id)
        actor = actors[actor_id]
        if actor.fiscal_year_start_month is not None:
            return actor.fiscal_year_start_month
        actor_id = actor.parent_id
    return 1


def descendants(actors: dict[int, Actor], actor_id: int) -> set[int]:
    found = {actor_id}
    changed = True
    while changed:
        changed = False
        for a in actors.values():
            if a.parent_id in found and a.id not in found:
                found.add(a.id)
                changed = True
    return found


def _year(d: dt.date, fiscal: bool, month: int) -> periods.Period:
    return periods.fiscal_year_of(d, month) if fiscal else periods.Period.year(d.year)


def bucket(flow: MoneyFlow, announced: dt.date, fiscal: bool, month: int) -> tuple[Any, ...]:
    """(start, end, label) of the year a flow counts in, from the README's rules."""
    if flow.period_start_on is not None and flow.period_end_on is not None:
        first, last = flow.period_start_on, flow.period_end_on
    else:
        first = last = flow.value_on or announced
    a, b = _year(first, fiscal, month), _year(last, fiscal, month)
    if a == b:
        return (a.start, a.end, a.label)
    return (a.start, b.end, f"{a.label}–{b.label}")


@dataclass
class Expected:
    # (bucket or None for all years, currency, stage) -> (minor, qualifier, count, ids)
    figures: dict[tuple[Any, str, str], tuple[int, str, int, list[int]]]
    # flow ids in listing order: counted ones by figure, then superseded ones
    order: list[int]
    counted: int
    excluded: int
    # (bucket or None, stage) -> (rounded amount or None, missing count, flow count)
    converted: dict[tuple[Any, str], tuple[Decimal | None, int, int]]


def reference(
    session: Session,
    *,
    provider: int | None = None,
    receiver: int | None = None,
    stage: str | None = None,
    currency: str | None = None,
    fiscal: bool = False,
    period: periods.Period | None = None,
    convert_to: str | None = None,
    include_drafts: bool = False,
) -> Expected:
    """The funding report's figures, flow by flow, in plain Python."""
    actors = {a.id: a for a in session.scalars(select(Actor))}
    commitments = {c.id: c for c in session.scalars(select(Commitment))}
    flows = list(session.scalars(select(MoneyFlow).order_by(MoneyFlow.id)))

    def visible(c: Commitment) -> bool:
        return c.deleted_at is None and (include_drafts or c.state == "published")

    replaced = {
        c.supersedes_id for c in commitments.values() if c.supersedes_id and c.state == "published"
        and c.deleted_at is None
    }  # fmt: skip
    providers = descendants(actors, provider) if provider is not None else None
    receivers = descendants(actors, receiver) if receiver is not None else None
    cells: dict[tuple[Any, str, str], list[MoneyFlow]] = {}
    listing: list[tuple[Any, ...]] = []
    stage_order = {s.value: i for i, s in enumerate(FlowStage)}
    value_dates: dict[int, dt.date] = {}
    buckets: dict[int, Any] = {}
    counted_n = excluded_n = 0
    for f in flows:
        c = commitments[f.commitment_id]
        if not visible(c):
            continue
        if providers is not None and f.provider_id not in providers:
            continue
        if receivers is not None and f.receiver_id not in receivers:
            continue
        if stage is not None and f.stage != stage:
            continue
        if currency is not None and f.currency != currency:
            continue
        b = bucket(f, c.announced_on, fiscal, fiscal_month(actors, f.provider_id))
        if period is not None and not (
            (period.start is None or b[0] >= period.start)
            and (period.end is None or b[1] <= period.end)
        ):
            continue
        superseded = c.status == DeliveryStatus.superseded or c.id in replaced
        counted = not (superseded and f.stage in ("pledge", "commitment"))
        value_dates[f.id] = f.value_on or f.period_start_on or c.announced_on
        buckets[f.id] = b
        listing.append(
            (0 if counted else 1, *b, f.currency, stage_order[f.stage], value_dates[f.id], f.id)
        )
        if counted:
            counted_n += 1
            for where in (b, None):
                cells.setdefault((where, f.currency, f.stage), []).append(f)
        else:
            excluded_n += 1
    figures = {}
    for key, members in cells.items():
        qualifiers = {f.qualifier for f in members if f.amount_minor}
        figures[key] = (
            sum(f.amount_minor for f in members),
            combined_qualifier(qualifiers),
            len(members),
            sorted(f.id for f in members),
        )
    converted: dict[tuple[Any, str], tuple[Decimal | None, int, int]] = {}
    if convert_to is not None and value_dates:
        book = RateBook(
            session,
            set(CURRENCIES) | {convert_to},
            first_on=min(value_dates.values()),
            last_on=max(value_dates.values()),
        )
        sums: dict[tuple[Any, str], list[Any]] = {}
        for (where, _cur, stage_), members in cells.items():
            entry = sums.setdefault((where, stage_), [Fraction(0), 0, 0])
            for f in members:
                entry[2] += 1
                found = book.factor(f.currency, convert_to, value_dates[f.id])
                if found is None:
                    entry[1] += 1
                    continue
                unit = Fraction(f.amount_minor, 10 ** money.currency_exponent(f.currency))
                entry[0] += unit * found[0]
        for key, (amount, missing, count) in sums.items():
            converted[key] = (
                round_to_minor(amount, convert_to) if count > missing else None,
                missing,
                count,
            )
    listing.sort()
    return Expected(figures, [k[-1] for k in listing], counted_n, excluded_n, converted)
