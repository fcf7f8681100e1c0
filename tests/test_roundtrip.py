"""Export → import into an empty database → export gives byte-identical files.

A property over generated datasets: Unicode, quotes, embedded newlines,
formula-looking text, amounts at the limits of each currency's precision,
every precision of date. Each example runs inside a SAVEPOINT that is rolled
back, so the test's database starts and ends empty. Bounded and derandomised.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app import models, periods
from app.money import MAX_MINOR_UNITS
from app.services import exporter, importer, tables

TRICKY_TEXT = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "+44 20",
    "-3",
    "@SUM(A1)",
    "\tindented",
    "'already quoted",
    "''=twice",
    'say "hi", then leave',
    "line one\r\nline two",
    "line one\nline two\n",
    "a further €31.4 million (roughly £28.1 million)",
    "Ministère de l’Intérieur",
    " leading and trailing spaces ",
    "日本語のテキスト",
    "emoji 🇫🇷🇬🇧",
]

text = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=15,
    ),
)
maybe_text = st.none() | text
dates = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 30))
# Currencies with 0, 2, 3 and 4 decimal places.
currencies = st.sampled_from(["JPY", "EUR", "GBP", "KWD", "CLF"])
minor_units = st.one_of(
    st.sampled_from([0, 1, 9, 10, 99, 100, MAX_MINOR_UNITS - 1, MAX_MINOR_UNITS]),
    st.integers(0, MAX_MINOR_UNITS),
)


@st.composite
def period_values(
    draw: st.DrawFn, optional: bool = True, precisions: tuple[periods.Precision, ...] = ()
) -> tuple[dt.date | None, dt.date | None, str | None, int]:
    """(start, end, precision, fiscal start month) covering every precision."""
    choices: list[periods.Precision | None] = list(precisions or periods.Precision)
    precision = draw(st.sampled_from([None, *choices] if optional else choices))
    year = draw(st.integers(1001, 9998))
    month = draw(st.integers(1, 12))
    if precision is None:
        return None, None, None, 1
    p: periods.Period
    fiscal = 1
    match precision:
        case periods.Precision.DAY:
            p = periods.Period.day(draw(dates))
        case periods.Precision.MONTH:
            p = periods.Period.month(year, month)
        case periods.Precision.QUARTER:
            p = periods.Period.quarter(year, draw(st.integers(1, 4)))
        case periods.Precision.YEAR:
            p = periods.Period.year(year)
        case periods.Precision.FISCAL_YEAR:
            fiscal = month
            p = periods.Period.fiscal_year(year, fiscal)
        case _:
            a, b = sorted([draw(dates), draw(dates)])
            start = draw(st.sampled_from([a, None]))
            end = b if start is None else draw(st.sampled_from([b, None]))
            p = periods.Period(start, end, precision)
    return p.start, p.end, p.precision.value, fiscal


def _publishable(draw: st.DrawFn) -> dict[str, Any]:
    state = draw(st.sampled_from(["draft", "published"]))
    published_at = draw(
        st.none()
        | st.datetimes(
            min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001 - made aware by `timezones`
            max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
            timezones=st.just(dt.UTC),
        )
    )
    return {"state": state, "published_at": published_at}


@st.composite
def datasets(draw: st.DrawFn) -> list[models.Base]:
    """A small, consistent dataset touching every table and column kind."""
    objects: list[models.Base] = []
    n_actors = draw(st.integers(1, 3))
    actor_ids = list(range(1, n_actors + 1))
    # Parents come earlier in a drawn order, so there is no loop, but a parent may
    # be a later id: the import links them in a second pass.
    actor_order = draw(st.permutations(actor_ids))
    for i in actor_ids:
        earlier = actor_order[: actor_order.index(i)]
        objects.append(
            models.Actor(
                id=i,
                name=f"{draw(text)} #{i}",
                short_name=draw(maybe_text),
                kind=draw(st.sampled_from(tables.ACTORS.column_index["kind"].enum or ())),
                country_code=draw(st.sampled_from([None, "GB", "FR"])),
                parent_id=draw(st.sampled_from([None, *earlier])),
                fiscal_year_start_month=draw(st.none() | st.integers(1, 12)),
                description=draw(maybe_text),
                **_publishable(draw),
            )
        )
    objects.append(
        models.Source(
            id=1,
            title=draw(text),
            publisher=draw(maybe_text),
            publisher_actor_id=draw(st.sampled_from([None, *actor_ids])),
            kind="joint_statement",
            published_on=draw(st.none() | dates),
            url=draw(st.sampled_from([None, "https://example.org/a?b=1&c=é"])),
            accessed_on=draw(st.none() | dates),
            full_text=draw(maybe_text),
            **_publishable(draw),
        )
    )
    n_commitments = draw(st.integers(1, 3))
    commitment_ids = list(range(1, n_commitments + 1))
    commitment_order = draw(st.permutations(commitment_ids))
    for i in commitment_ids:
        others = [None, *(c for c in commitment_ids if c != i)]
        earlier = commitment_order[: commitment_order.index(i)]
        start, end, precision, _ = draw(period_values())
        announced = draw(period_values(optional=False, precisions=ANNOUNCED))
        objects.append(
            models.Commitment(
                id=i,
                kind=draw(st.sampled_from(["funding", "action", "target"])),
                title=draw(text),
                summary=draw(maybe_text),
                parent_id=draw(st.sampled_from([None, *earlier])),
                announced_on=announced[0],
                announced_precision=announced[2],
                deadline_text=draw(maybe_text),
                deadline_start_on=start,
                deadline_end_on=end,
                deadline_precision=precision,
                status=draw(st.sampled_from(tables.COMMITMENTS.column_index["status"].enum or ())),
                next_review_on=draw(st.none() | dates),
                last_reviewed_on=draw(st.none() | dates),
                is_additional=draw(st.booleans()),
                tops_up_id=draw(st.sampled_from(others)),
                supersedes_id=draw(st.sampled_from(others)),
                **_publishable(draw),
            )
        )
        objects.append(
            models.CommitmentActor(
                commitment_id=i, actor_id=draw(st.sampled_from(actor_ids)), role="maker"
            )
        )
    objects.append(models.Tag(id=1, slug="tag-1", name=draw(text)))
    objects.append(models.CommitmentTag(commitment_id=commitment_ids[-1], tag_id=1))
    currency, eq_currency = draw(currencies), draw(currencies)
    provider_id = draw(st.sampled_from([None, *actor_ids]))
    start, end, precision, fiscal = draw(period_values())
    if precision == "fiscal_year" and provider_id is not None:
        # A fiscal year is the provider's (its own month, else its parent's…).
        assert start is not None
        fiscal = _fiscal_month(objects, provider_id)
        year = draw(st.integers(1001, 9998))
        fy = periods.Period.fiscal_year(year, fiscal)
        start, end = fy.start, fy.end
    has_equivalent = draw(st.booleans())
    objects.append(
        models.MoneyFlow(
            id=1,
            commitment_id=draw(st.sampled_from(commitment_ids)),
            stage=draw(st.sampled_from(["pledge", "commitment", "disbursement", "expenditure"])),
            amount_minor=draw(minor_units),
            currency=currency,
            amount_text=draw(maybe_text),
            qualifier=draw(st.sampled_from(["exact", "approximately", "up_to", "at_least"])),
            value_on=draw(st.none() | dates),
            period_text=draw(maybe_text),
            period_start_on=start,
            period_end_on=end,
            period_precision=precision,
            period_fiscal_start_month=fiscal if precision == "fiscal_year" else None,
            provider_id=provider_id,
            receiver_id=draw(st.sampled_from([None, *actor_ids])),
            stated_equivalent_minor=draw(minor_units) if has_equivalent else None,
            stated_equivalent_currency=eq_currency if has_equivalent else None,
            stated_equivalent_text=draw(maybe_text),
            notes=draw(maybe_text),
        )
    )
    objects.append(
        models.Review(
            id=1,
            commitment_id=commitment_ids[0],
            reviewed_on=draw(dates),
            status_found="in_progress",
            progress_percent=draw(st.none() | st.integers(0, 100)),
            rationale=draw(maybe_text),
            reviewer_name=draw(maybe_text),
            next_review_on=draw(st.none() | dates),
        )
    )
    objects.append(models.Indicator(id=1, name=draw(text), unit=draw(text), **_publishable(draw)))
    objects.append(models.IndicatorCommitment(indicator_id=1, commitment_id=commitment_ids[0]))
    start, end, precision, _ = draw(period_values(optional=False))
    objects.append(
        models.Observation(
            id=1,
            indicator_id=1,
            value=draw(
                st.decimals(min_value=Decimal(-(10**12)), max_value=Decimal(10**12), places=6)
            ),
            unit=draw(maybe_text),
            qualifier="approximately",
            value_text=draw(maybe_text),
            period_start_on=start,
            period_end_on=end,
            period_precision=precision or "day",
            **(
                {}
                if precision
                else {"period_start_on": dt.date(2020, 1, 1), "period_end_on": dt.date(2020, 1, 1)}
            ),
        )
    )
    subjects = ["commitment_id", "money_flow_id", "review_id", "observation_id"]
    for i, subject in enumerate(subjects, start=1):
        objects.append(
            models.Citation(
                id=i,
                source_id=1,
                quote=draw(text),
                locator=draw(maybe_text),
                **{subject: 1},
            )
        )
    objects.append(
        models.ExchangeRate(
            id=1,
            rate_on=draw(dates),
            base_currency="EUR",
            quote_currency="GBP",
            rate=draw(st.decimals(min_value=Decimal("0.0000000001"), max_value=10**6, places=10)),
            source_name=draw(text),
        )
    )
    _publish_what_published_records_show(objects)
    return objects


ANNOUNCED = (
    periods.Precision.DAY,
    periods.Precision.MONTH,
    periods.Precision.QUARTER,
    periods.Precision.YEAR,
)


def _fiscal_month(objects: list[models.Base], actor_id: int) -> int:
    actors_ = {o.id: o for o in objects if isinstance(o, models.Actor)}
    current: int | None = actor_id
    while current is not None:
        actor = actors_[current]
        if actor.fiscal_year_start_month is not None:
            return actor.fiscal_year_start_month
        current = actor.parent_id
    return 1


def _publish_what_published_records_show(objects: list[models.Base]) -> None:
    """The app never lets a published record show a draft (app.services.visibility):
    a dataset it could hold publishes what its published records point at."""
    by_key = {(type(o), getattr(o, "id", None)): o for o in objects}
    flows = {o.id: o for o in objects if isinstance(o, models.MoneyFlow)}
    reviews = {o.id: o for o in objects if isinstance(o, models.Review)}
    observations = {o.id: o for o in objects if isinstance(o, models.Observation)}

    def shows(o: models.Base) -> list[tuple[type[Any], int | None]]:
        match o:
            case models.Actor():
                return [(models.Actor, o.parent_id)]
            case models.Source():
                return [(models.Actor, o.publisher_actor_id)]
            case models.Commitment():
                return [(models.Commitment, getattr(o, n)) for n in
                        ("parent_id", "tops_up_id", "supersedes_id")]  # fmt: skip
        return []

    links: list[tuple[Any, tuple[type[Any], int | None]]] = []
    for o in objects:
        links += [(o, target) for target in shows(o)]
        if isinstance(o, models.CommitmentActor):
            links.append((by_key[(models.Commitment, o.commitment_id)], (models.Actor, o.actor_id)))
        if isinstance(o, models.MoneyFlow):
            owner = by_key[(models.Commitment, o.commitment_id)]
            links += [
                (owner, (models.Actor, o.provider_id)),
                (owner, (models.Actor, o.receiver_id)),
            ]
        if isinstance(o, models.Citation):
            owner_id = o.commitment_id
            if o.money_flow_id is not None:
                owner_id = flows[o.money_flow_id].commitment_id
            if o.review_id is not None:
                owner_id = reviews[o.review_id].commitment_id
            owner = (
                by_key[(models.Indicator, observations[o.observation_id].indicator_id)]
                if o.observation_id is not None
                else by_key[(models.Commitment, owner_id)]
            )
            links.append((owner, (models.Source, o.source_id)))
    changed = True
    while changed:
        changed = False
        for owner, (model, target_id) in links:
            target = by_key.get((model, target_id))
            if target is not None and owner.state == "published" and target.state != "published":
                target.state = "published"
                changed = True


def _export_all(session: Session) -> dict[str, str]:
    return {
        spec.name: "".join(exporter.csv_chunks(session, spec, include_drafts=True))
        for spec in tables.TABLES
    }


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_export_import_export_is_byte_identical(session: Session, data: st.DataObject) -> None:
    savepoint = session.begin_nested()
    try:
        objects = data.draw(datasets())
        # Rows of one table referring to each other: link them once all exist.
        links = []
        for obj in objects:
            for name in ("parent_id", "tops_up_id", "supersedes_id"):
                if getattr(obj, name, None) is not None:
                    links.append((obj, name, getattr(obj, name)))
                    setattr(obj, name, None)
        # One flush per object, in table order: not every link has a relationship
        # from which the unit of work could work out the order itself.
        for obj in objects:
            session.add(obj)
            session.flush()
        for obj, name, value in links:
            setattr(obj, name, value)
        session.flush()
        first = _export_all(session)

        # Empty the database (inside the savepoint), then import every file.
        for spec in reversed(tables.TABLES):
            session.execute(delete(spec.table))
        session.expunge_all()
        for spec in tables.TABLES:
            report = importer.import_csv(session, spec, first[spec.name].encode())
            assert report.ok, (spec.name, [str(p) for p in report.problems])
        session.expunge_all()
        second = _export_all(session)
        for name in first:
            assert second[name] == first[name], name
    finally:
        savepoint.rollback()
        session.expunge_all()
