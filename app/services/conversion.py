"""Currency conversion for reports: exact, and always saying which rate it used.

Rules (documented in the README under "Counting rules"):

* The rate is the last one published on or before the value date, so a
  Saturday payment uses Friday's rate and a holiday the day before's. A rate
  more than ``MAX_RATE_AGE_DAYS`` older than the value date is not used: the
  figure is reported as not convertible rather than converted at a stale rate.
* A pair is looked up directly (GBP→USD), then inverted (USD→GBP read
  backwards), then crossed through the euro (GBP→EUR→USD), which is how the
  ECB table, quoted per 1 EUR, covers every pair.
* Arithmetic is exact: amounts and rates are Decimals and the conversion is a
  `fractions.Fraction` (an inverted rate such as 1/0.8951 has no finite
  decimal form). Totals of converted figures are summed exactly and rounded
  once, half to even, to the reporting currency's minor unit, only when
  shown or written to CSV.
* A converted figure is approximate, and carries each rate used with its
  date and table.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import money
from app.models import ExchangeRate

MAX_RATE_AGE_DAYS: Final = 31
PIVOT: Final = "EUR"


@dataclass(frozen=True, order=True)
class RateUsed:
    """One published rate: 1 `base` = `rate` `quote` on `rate_on`, from `source_name`."""

    rate_on: dt.date
    base: str
    quote: str
    rate: Decimal
    source_name: str

    @property
    def text(self) -> str:
        return f"1 {self.base} = {self.rate.normalize():f} {self.quote}"


@dataclass(frozen=True)
class Conversion:
    """An amount in `currency`, exact; approximate when any rate was used."""

    amount: Fraction
    currency: str
    value_on: dt.date | None
    legs: tuple[RateUsed, ...]

    @property
    def approximate(self) -> bool:
        return bool(self.legs)

    @property
    def rounded(self) -> Decimal:
        return round_to_minor(self.amount, self.currency)


def round_to_minor(amount: Fraction, currency: str) -> Decimal:
    """The one rounding step: half to even, to the currency's minor unit."""
    exponent = money.currency_exponent(currency)
    scaled = amount * 10**exponent
    # Python's round() on a Fraction rounds half to even, exactly.
    minor = round(scaled)
    with localcontext() as ctx:
        ctx.prec = 60
        return (
            Decimal(minor)
            .scaleb(-exponent)
            .quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_EVEN)
        )


class RateBook:
    """Rates loaded once for a report: the pairs that can matter, between two dates."""

    def __init__(
        self,
        session: Session,
        currencies: Iterable[str],
        *,
        first_on: dt.date,
        last_on: dt.date,
        source: str | None = None,
    ) -> None:
        codes = set(currencies) | {PIVOT}
        conditions = [
            ExchangeRate.base_currency.in_(codes),
            ExchangeRate.quote_currency.in_(codes),
            ExchangeRate.rate_on >= first_on - dt.timedelta(days=MAX_RATE_AGE_DAYS),
            ExchangeRate.rate_on <= last_on,
        ]
        if source:
            conditions.append(ExchangeRate.source_name == source)
        self._pairs: dict[tuple[str, str], list[RateUsed]] = {}
        self._dates: dict[tuple[str, str], list[dt.date]] = {}
        self._factors: dict[
            tuple[str, str, dt.date], tuple[Fraction, tuple[RateUsed, ...]] | None
        ] = {}
        query = select(
            ExchangeRate.rate_on,
            ExchangeRate.base_currency,
            ExchangeRate.quote_currency,
            ExchangeRate.rate,
            ExchangeRate.source_name,
        ).where(*conditions)
        for rate_on, base, quote, rate, source_name in session.execute(query):
            self._pairs.setdefault((base, quote), []).append(
                RateUsed(rate_on, base, quote, rate, source_name)
            )
        for pair, rates in self._pairs.items():
            # Oldest first; on one date the table whose name sorts first wins.
            rates.sort(key=lambda r: (r.rate_on, r.source_name))
            self._dates[pair] = [r.rate_on for r in rates]

    def _latest(self, base: str, quote: str, on: dt.date) -> RateUsed | None:
        rates = self._pairs.get((base, quote))
        if not rates:
            return None
        dates = self._dates[(base, quote)]
        index = bisect.bisect_right(dates, on) - 1
        if index < 0:
            return None
        found = rates[bisect.bisect_left(dates, dates[index])]
        if (on - found.rate_on).days > MAX_RATE_AGE_DAYS:
            return None
        return found

    def _step(self, source: str, target: str, on: dt.date) -> tuple[Fraction, RateUsed] | None:
        direct = self._latest(source, target, on)
        if direct is not None:
            return Fraction(direct.rate), direct
        inverse = self._latest(target, source, on)
        if inverse is not None:
            return 1 / Fraction(inverse.rate), inverse
        return None

    def factor(
        self, source: str, target: str, on: dt.date
    ) -> tuple[Fraction, tuple[RateUsed, ...]] | None:
        """What one unit of `source` is worth in `target` on `on`, and the rates used."""
        key = (source, target, on)
        if key not in self._factors:
            self._factors[key] = self._find_factor(source, target, on)
        return self._factors[key]

    def _find_factor(
        self, source: str, target: str, on: dt.date
    ) -> tuple[Fraction, tuple[RateUsed, ...]] | None:
        if source == target:
            return Fraction(1), ()
        step = self._step(source, target, on)
        if step is not None:
            return step[0], (step[1],)
        if PIVOT in (source, target):
            return None
        first = self._step(source, PIVOT, on)
        second = self._step(PIVOT, target, on)
        if first is None or second is None:
            return None
        return first[0] * second[0], (first[1], second[1])

    def convert(self, amount: Decimal, source: str, target: str, on: dt.date) -> Conversion | None:
        """`amount` in `source` currency, in `target` currency on `on`; None if no rate."""
        found = self.factor(source, target, on)
        if found is None:
            return None
        return Conversion(Fraction(amount) * found[0], target, on, found[1])
