"""The checks behind every edit, on typed values: each rule once, for every way in.

The edit forms and the JSON API read text into values (`app.services.inputs`)
and then ask these functions; the CSV import reads each row's cells into the
same values and asks the same functions. So a value the form refuses is
refused by the import, with the same sentence, and the other way round.

Every function takes the record's column values (the names of the database
columns and of the lossless CSV) and returns the problems found, keyed by
column: `{"announced_precision": "…"}`. Callers put each message where their
person will see it (a form field, a JSON `errors` entry, a CSV row and column).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import periods
from app.models import (
    Actor,
    Commitment,
    ExchangeRate,
    MoneyFlow,
    Observation,
    Review,
    Source,
    deadline_fiscal_month,
)
from app.services import actors, links

Problems = dict[str, str]
Values = Mapping[str, Any]

# An announcement is dated as precisely as the source dates it: a day, a
# month, a quarter or a year. A range or vague wording describes a deadline,
# not the moment something was said.
ANNOUNCED_PRECISIONS: Final = (
    periods.Precision.DAY,
    periods.Precision.MONTH,
    periods.Precision.QUARTER,
    periods.Precision.YEAR,
)
ANNOUNCED_EXPECTED: Final = "a day (2020-11-28), month (2020-11), quarter (2020-Q4) or year (2020)"
URL_SCHEMES: Final = ("http://", "https://")
OBSERVATION_PLACES: Final = 6
RATE_PLACES: Final = 10


# ------------------------------------------------------------ dates


def announced(on: dt.date | None, precision: str | None) -> periods.Period:
    """The announcement as a period; PeriodError (one sentence) if it is not a valid one."""
    if on is None or precision is None:
        raise periods.PeriodError(f"give when it was announced: {ANNOUNCED_EXPECTED}")
    try:
        p = periods.Precision(precision)
    except ValueError:
        raise periods.PeriodError(f"{precision!r} is not a precision") from None
    if p not in ANNOUNCED_PRECISIONS:
        raise periods.PeriodError(
            f"an announcement is {ANNOUNCED_EXPECTED}, not a {p.value.replace('_', ' ')}"
        )
    try:
        return periods.Period.starting(on, p)
    except periods.PeriodError:
        raise periods.PeriodError(
            f"{on.isoformat()} is not the first day of a {p.value}: an announcement dated "
            f"to the {p.value} is stored as its first day"
        ) from None


def period_problem(
    start: dt.date | None, end: dt.date | None, precision: str | None, fiscal_start_month: int = 1
) -> str | None:
    """Why these columns are not one period (None when they are, or when all are empty)."""
    if precision is None:
        if start is not None or end is not None:
            return "a period with dates needs its precision"
        return None
    try:
        periods.Period(start, end, periods.Precision(precision), fiscal_start_month)
    except (periods.PeriodError, ValueError, TypeError) as exc:
        return str(exc)
    return None


# ------------------------------------------------------------ records
#
# Two kinds of check for each record. `*_values` look at the values alone and
# run before anything is written, everywhere. `*_state` need the database (does
# the linked record exist, is it deleted, what is the provider's financial
# year): the forms and the API run them before writing; the CSV import runs them
# after writing its rows inside its SAVEPOINT, so a row may refer to another row
# of the same file, and rolls everything back if any fails.


def commitment_values(values: Values, *, own_id: int | None) -> Problems:
    """A commitment's announcement, deadline, and links that point at itself."""
    problems: Problems = {}
    try:
        announced(values.get("announced_on"), values.get("announced_precision"))
    except periods.PeriodError as exc:
        problems["announced_precision"] = str(exc)
    start = values.get("deadline_start_on")
    precision = values.get("deadline_precision")
    fiscal = deadline_fiscal_month(start, precision)
    if message := period_problem(start, values.get("deadline_end_on"), precision, fiscal):
        problems["deadline_precision"] = message
    for name in LINKS:
        if own_id is not None and values.get(name) == own_id:
            problems[name] = "a commitment cannot point at itself: choose another one"
    return problems


LINKS: Final = ("parent_id", "tops_up_id", "supersedes_id")


def commitment_state(session: Session, values: Values, *, own_id: int | None) -> Problems:
    """Links to commitments that exist, are not newly deleted, and make no part-of loop."""
    problems: Problems = {}
    current = session.get(Commitment, own_id) if own_id is not None else None
    for name in LINKS:
        target = values.get(name)
        if not isinstance(target, int) or target == own_id:
            continue
        message = links.problem(
            session,
            target,
            own_id=own_id,
            current_id=getattr(current, name) if current is not None else None,
        )
        if message is None and name == "parent_id" and own_id is not None:
            message = _cycle(session, Commitment, own_id, target)
        if message:
            problems[name] = message
    return problems


def actor_values(values: Values, *, own_id: int | None) -> Problems:
    problems: Problems = {}
    if own_id is not None and values.get("parent_id") == own_id:
        problems["parent_id"] = "an actor cannot be part of itself"
    month = values.get("fiscal_year_start_month")
    if month is not None and not (isinstance(month, int) and 1 <= month <= 12):
        problems["fiscal_year_start_month"] = "a month from 1 (January) to 12 (December)"
    return problems


def actor_state(session: Session, values: Values, *, own_id: int | None) -> Problems:
    parent_id = values.get("parent_id")
    if not isinstance(parent_id, int) or parent_id == own_id:
        return {}
    if session.get(Actor, parent_id) is None:
        return {"parent_id": f"there is no actor {parent_id}"}
    if own_id is not None and (message := _cycle(session, Actor, own_id, parent_id)):
        return {"parent_id": message}
    return {}


def source_values(values: Values) -> Problems:
    if message := url_problem(values.get("url")):
        return {"url": message}
    return {}


def source_state(session: Session, values: Values) -> Problems:
    publisher = values.get("publisher_actor_id")
    if isinstance(publisher, int) and session.get(Actor, publisher) is None:
        return {"publisher_actor_id": f"there is no actor {publisher}"}
    return {}


def url_problem(url: str | None) -> str | None:
    """Addresses people follow must be web addresses: never javascript:, data: or file:."""
    if url and not url.lower().startswith(URL_SCHEMES):
        return "a web address starting with http:// or https://"
    return None


def money_flow_values(values: Values) -> Problems:
    """A flow's period (in its stated fiscal month) and its stated equivalent."""
    problems: Problems = {}
    precision = values.get("period_precision")
    start = values.get("period_start_on")
    month = values.get("period_fiscal_start_month")
    if month is None and precision == periods.Precision.FISCAL_YEAR.value:
        month = start.month if start else 1  # checked against the provider's by money_flow_state
    message = period_problem(start, values.get("period_end_on"), precision, month or 1)
    if message:
        problems["period_precision"] = message
    has_amount = values.get("stated_equivalent_minor") is not None
    has_currency = values.get("stated_equivalent_currency") is not None
    if has_amount != has_currency:
        problems["stated_equivalent_minor"] = (
            "a stated equivalent needs both an amount and a currency"
        )
    return problems


def money_flow_state(session: Session, values: Values) -> tuple[Problems, int | None]:
    """The parties exist, and a fiscal-year period is the provider's financial year.

    Returns the problems and the fiscal month to store with a fiscal-year
    period: the provider's (its own, else inherited up the actor tree, else
    January), or the one given when the flow names no provider. A fiscal year
    in another month than the provider's is refused, so the form, the API, the
    import and the funding report all read Border Force's "2022-23" as April to
    March when HM Government's years start in April.
    """
    problems: Problems = {}
    for name in ("provider_id", "receiver_id"):
        actor_id = values.get(name)
        if isinstance(actor_id, int) and session.get(Actor, actor_id) is None:
            problems[name] = f"there is no actor {actor_id}"
    if values.get("period_precision") != periods.Precision.FISCAL_YEAR.value:
        return problems, None
    start = values.get("period_start_on")
    given = values.get("period_fiscal_start_month")
    provider_id = values.get("provider_id")
    if not isinstance(provider_id, int) or "provider_id" in problems:
        return problems, given if given is not None else (start.month if start else None)
    month = actors.fiscal_start_month(session, provider_id)
    stated = given if given is not None else (start.month if start else month)
    if stated != month:
        problems["period_fiscal_start_month"] = (
            f"the provider's financial year starts in {_MONTHS[month - 1]} (its own, or "
            f"that of the actor it belongs to), so a fiscal year starting in "
            f"{_MONTHS[stated - 1]} is not one of its years"
        )
    return problems, month


_MONTHS: Final = [dt.date(2000, m, 1).strftime("%B") for m in range(1, 13)]
SUBJECTS: Final = ("commitment_id", "money_flow_id", "review_id", "observation_id")


def citation_values(values: Values) -> Problems:
    given = [name for name in SUBJECTS if values.get(name) is not None]
    if len(given) != 1:
        return {
            "commitment_id": f"exactly one of {', '.join(SUBJECTS)} must be set ({len(given)} are)"
        }
    return {}


def citation_state(session: Session, values: Values) -> Problems:
    problems: Problems = {}
    source_id = values.get("source_id")
    if isinstance(source_id, int) and session.get(Source, source_id) is None:
        problems["source_id"] = f"there is no source {source_id}"
    models = {"money_flow_id": MoneyFlow, "review_id": Review, "observation_id": Observation}
    for name, model in models.items():
        target = values.get(name)
        if isinstance(target, int) and session.get(model, target) is None:
            problems[name] = f"there is no {name.removesuffix('_id').replace('_', ' ')} {target}"
    return problems


def observation_values(values: Values) -> Problems:
    problems: Problems = {}
    value = values.get("value")
    if isinstance(value, Decimal) and _places(value) > OBSERVATION_PLACES:
        problems["value"] = f"at most {OBSERVATION_PLACES} decimal places"
    message = period_problem(
        values.get("period_start_on"), values.get("period_end_on"), values.get("period_precision")
    )
    if message:
        problems["period_precision"] = message
    return problems


def exchange_rate_values(values: Values) -> Problems:
    problems: Problems = {}
    rate = values.get("rate")
    if isinstance(rate, Decimal):
        if rate <= 0:
            problems["rate"] = "a rate is more than zero"
        elif _places(rate) > RATE_PLACES:
            problems["rate"] = f"at most {RATE_PLACES} decimal places"
    base, quote = values.get("base_currency"), values.get("quote_currency")
    if base and base == quote:
        problems["quote_currency"] = "choose two different currencies"
    return problems


def exchange_rate_state(session: Session, values: Values, *, own_id: int | None) -> Problems:
    """One rate per table, currency pair and date: a correction replaces, never duplicates."""
    clash = session.scalar(
        select(ExchangeRate.id).where(
            ExchangeRate.rate_on == values.get("rate_on"),
            ExchangeRate.base_currency == values.get("base_currency"),
            ExchangeRate.quote_currency == values.get("quote_currency"),
            ExchangeRate.source_name == values.get("source_name"),
        )
    )
    if clash is not None and clash != own_id:
        return {
            "rate_on": f"this table already has a rate for this pair on this date (rate {clash})"
        }
    return {}


# ------------------------------------------------------------ helpers


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _cycle(
    session: Session, model: type[Actor] | type[Commitment], own_id: int, parent_id: int
) -> str | None:
    """A parent link that would make a record (indirectly) part of itself."""
    seen = {own_id}
    current: int | None = parent_id
    while current is not None:
        if current in seen:
            noun = model.__tablename__.rstrip("s")
            return (
                f"that would make it part of itself: {noun} {parent_id} is already "
                f"part of this {noun}"
            )
        seen.add(current)
        current = session.scalar(select(model.parent_id).where(model.id == current))
    return None
