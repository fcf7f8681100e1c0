"""Exact money: parsing, validation, minor-unit conversion and display.

Rules this module enforces (and the rest of the app relies on):

* Amounts are ``decimal.Decimal`` in code and integer minor units (cents, pence,
  yen, fils) in the database. No ``float`` is ever produced or accepted.
* Currency codes and their minor-unit exponents come from ISO 4217 via the
  maintained ``iso4217`` package, not from CLDR/babel: the two disagree for some
  currencies (CLDR displays HUF, COP, IDR, IQD… with 0 digits; ISO gives 2 or 3).
* ISO codes without an exponent (XAU gold, XDR, XXX, XTS, bond units…) are not
  usable for amounts: they are rejected as "not a currency with minor units".
* Amounts are never negative and never exceed ``MAX_MINOR_UNITS`` minor units, so
  they always fit a signed 64-bit ``BIGINT``.
* Conversions never round. Anything that cannot be represented exactly is an
  error with a one-line message that can be shown to a researcher as is.

The module is pure: no I/O and no global state apart from read-only tables.
"""

from __future__ import annotations

import copy
import functools
import re
from decimal import (
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Underflow,
    localcontext,
)
from typing import Final

from babel import Locale
from babel.numbers import (
    NumberPattern,
    format_compact_currency,
    format_compact_decimal,
    get_currency_name,
    get_currency_symbol,
)
from iso4217 import Currency

__all__ = [
    "MAX_MINOR_UNITS",
    "MoneyError",
    "all_currencies",
    "currency_exponent",
    "format_money",
    "from_minor_units",
    "is_currency",
    "normalise_currency",
    "parse_amount",
    "to_minor_units",
]

MAX_MINOR_UNITS: Final = 9_000_000_000_000_000_000
"""Largest amount storable, in minor units: a round number below 2**63 - 1."""

# Inputs longer than this are not amounts anybody wrote by hand; refusing them early
# keeps the regular expressions and Decimal arithmetic cheap on hostile input.
_MAX_TEXT_LENGTH: Final = 100

# Arithmetic context for the few Decimal operations we do. The precision comfortably
# exceeds any accepted input (100 characters plus a 10**12 multiplier), and every
# signal that would mean "the result is not exact" raises instead of rounding.
_EXACT: Final = Context(
    prec=250,
    traps=[Inexact, Rounded, InvalidOperation, Overflow, Underflow, Clamped, DivisionByZero],
)

# Context handed to babel while it formats. babel quantises with the *current*
# context, whose default 28-digit precision makes it raise on big amounts.
_FORMAT_PRECISION: Final = 250

_CODE_RE: Final = re.compile(r"[A-Za-z]{3}", re.ASCII)
_PLAIN_DECIMAL_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


class MoneyError(ValueError):
    """An amount or currency was rejected. ``str(error)`` is one readable sentence."""


# --------------------------------------------------------------------------- currencies


def normalise_currency(code: str) -> str:
    """Return the canonical ISO 4217 code for ``code`` (e.g. ``" eur "`` -> ``"EUR"``).

    Raises MoneyError unless ``code`` is three ASCII letters naming a current ISO
    4217 currency that has a minor-unit exponent.
    """
    if not isinstance(code, str):
        raise TypeError(f"currency code must be a string, not {type(code).__name__}")
    cleaned = code.strip()
    if not _CODE_RE.fullmatch(cleaned):
        raise MoneyError(f"{code!r} is not a three-letter currency code")
    upper = cleaned.upper()
    try:
        currency = Currency(upper)
    except ValueError:
        raise MoneyError(f"unknown currency code {upper!r}") from None
    if currency.exponent is None:
        raise MoneyError(
            f"{upper} is not a currency with minor units, so it cannot be used for amounts"
        )
    return upper


def currency_exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit (EUR 2, JPY 0, KWD 3)."""
    if type(code) is str:
        # Exports ask this once per amount; the ISO 4217 lookup is the slow part.
        return _cached_exponent(code)
    return _exponent(code)


@functools.lru_cache(maxsize=1024)
def _cached_exponent(code: str) -> int:
    return _exponent(code)


def _exponent(code: str) -> int:
    exponent = Currency(normalise_currency(code)).exponent
    # normalise_currency has already rejected codes without an exponent.
    assert exponent is not None
    return exponent


def is_currency(code: str) -> bool:
    """True if ``code`` would be accepted by ``normalise_currency``."""
    try:
        normalise_currency(code)
    except (MoneyError, TypeError):
        return False
    return True


@functools.cache
def _currency_table() -> tuple[tuple[str, str], ...]:
    rows = []
    for currency in Currency:
        if currency.exponent is None:
            continue
        name = get_currency_name(currency.code, locale="en")
        # CLDR lags ISO for brand-new codes (e.g. XAD) and then echoes the code back.
        if name == currency.code:
            name = currency.currency_name
        rows.append((currency.code, name))
    return tuple(sorted(rows))


def all_currencies() -> list[tuple[str, str]]:
    """Every usable currency as ``(code, English name)``, sorted by code.

    Codes without a minor-unit exponent (gold, SDR, test codes…) are left out.
    A new list is returned each time, so callers may modify it.
    """
    return list(_currency_table())


# ------------------------------------------------------------------- decimal helpers


def _decimal_places(value: Decimal) -> int:
    """Significant decimal places of a finite Decimal: 1.230 -> 2, 100 -> 0, 0.00 -> 0.

    Works on the digit tuple so no context precision can round it.
    """
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only
    if exponent >= 0 or not any(digits):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing_zeros)


def _places_phrase(places: int) -> str:
    if places == 0:
        return "no decimal places"
    return f"{places} decimal place" + ("" if places == 1 else "s")


def _check_finite_non_negative(value: Decimal) -> None:
    if value.is_nan():
        raise MoneyError("amount is not a number")
    if value.is_infinite():
        raise MoneyError("amount must be a finite number")
    if value < 0:
        raise MoneyError("amount must not be negative")


def _check_fits_currency(value: Decimal, currency: str, exponent: int) -> None:
    places = _decimal_places(value)
    if places > exponent:
        raise MoneyError(
            f"{currency} has {_places_phrase(exponent)}; {value} has {places}",
        )


# ------------------------------------------------------------------ minor units


def to_minor_units(amount: Decimal | str, currency: str) -> int:
    """Convert an exact amount to integer minor units: ``("314.00", "EUR") -> 31400``.

    ``amount`` is a Decimal or a plain decimal string ("31400000", "31400000.00";
    surrounding whitespace allowed; no sign, separators, symbols or exponent).
    Extra decimal places are accepted only if they are zeros ("1.230" EUR -> 123).
    Raises MoneyError for anything inexact, negative, non-finite, or larger than
    ``MAX_MINOR_UNITS``; raises TypeError for floats and other types.
    """
    code = normalise_currency(currency)
    exponent = currency_exponent(code)
    if isinstance(amount, str):
        value = _parse_plain_decimal(amount)
    elif isinstance(amount, Decimal):
        value = amount
    else:
        # float would already have lost exactness; int is refused to keep one contract.
        raise TypeError(f"amount must be a Decimal or a string, not {type(amount).__name__}")
    _check_finite_non_negative(value)
    _check_fits_currency(value, code, exponent)
    # Cheap early exit for absurd magnitudes (e.g. Decimal("1E+999999")) before
    # building a huge integer.
    if value and value.adjusted() + exponent > len(str(MAX_MINOR_UNITS)):
        raise _too_large_minor()
    # Integer arithmetic on the digit tuple: exact whatever the Decimal context says.
    _sign, digits, dec_exponent = value.as_tuple()
    assert isinstance(dec_exponent, int)
    coefficient = int("".join(map(str, digits)))
    shift = dec_exponent + exponent
    # A negative shift only removes zeros: _check_fits_currency guaranteed that.
    # pow() with an int exponent is typed as Any (it could be negative), hence the annotation.
    minor: int = coefficient * 10**shift if shift >= 0 else coefficient // 10**-shift
    if minor > MAX_MINOR_UNITS:
        raise _too_large_minor()
    return minor


def _too_large_minor() -> MoneyError:
    return MoneyError(f"amount is too large (over {MAX_MINOR_UNITS} minor units)")


def _parse_plain_decimal(text: str) -> Decimal:
    stripped = text.strip()
    if len(stripped) > _MAX_TEXT_LENGTH:
        raise MoneyError(f"amount is too long (over {_MAX_TEXT_LENGTH} characters)")
    if _PLAIN_DECIMAL_RE.fullmatch(stripped):
        return Decimal(stripped)
    if stripped[:1] in ("-", "\u2212") and _PLAIN_DECIMAL_RE.fullmatch(stripped[1:]):
        raise MoneyError("amount must not be negative")
    raise MoneyError(f"{text!r} is not a plain decimal number")


def from_minor_units(minor: int, currency: str) -> Decimal:
    """Convert integer minor units back to an exact Decimal: ``(31400, "EUR") -> 314.00``.

    The result always has exactly the currency's number of decimal places
    (``Decimal("31400000.00")`` for EUR, ``Decimal("5")`` for JPY).
    Raises MoneyError for negative values, TypeError for non-integers. There is
    no upper limit here: a *total* of stored amounts may exceed what one
    stored amount may be (MAX_MINOR_UNITS) and must still read back exactly.
    """
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be an int, not {type(minor).__name__}")
    exponent = currency_exponent(currency)
    if minor < 0:
        raise MoneyError("amount must not be negative")
    # scaleb only moves the exponent; the trapping context proves nothing was rounded.
    return Decimal(minor).scaleb(-exponent, context=_EXACT)


# ----------------------------------------------------------------- free-text parser

_SYMBOLS: Final = {"€": "EUR", "£": "GBP", "$": "USD", "¥": "JPY"}

_MULTIPLIERS: Final = {
    "k": 3,
    "thousand": 3,
    "m": 6,
    "mn": 6,
    "million": 6,
    "b": 9,
    "bn": 9,
    "billion": 9,
    "tn": 12,
    "trillion": 12,
}

# Longest alternatives first so "million" is not read as "m" + "illion".
_MULT_ALTERNATION: Final = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
_SYMBOL_CLASS: Final = "[" + re.escape("".join(_SYMBOLS)) + "]"

_AMOUNT_RE: Final = re.compile(
    rf"""
    (?:(?P<pre_sym>{_SYMBOL_CLASS})|(?P<pre_code>[A-Za-z]{{3}})(?![A-Za-z]))?
    \s*
    (?P<number>[0-9][0-9, .]*?)
    \s*
    (?:(?P<mult>{_MULT_ALTERNATION})(?![A-Za-z]))?
    \s*
    (?:(?P<post_sym>{_SYMBOL_CLASS})|(?P<post_code>[A-Za-z]{{3}}))?
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)

_PLAIN_NUMBER_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_COMMA_GROUPED_RE: Final = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?", re.ASCII)
_SPACE_GROUPED_RE: Final = re.compile(r"[0-9]{1,3}(?: [0-9]{3})+(?:\.[0-9]+)?", re.ASCII)

_MULT_WORD_RE: Final = re.compile(
    rf"(?<![A-Za-z])(?:{_MULT_ALTERNATION})(?![A-Za-z])", re.ASCII | re.IGNORECASE
)
_EXPONENT_RE: Final = re.compile(r"[0-9.]e[+-]?[0-9]", re.ASCII | re.IGNORECASE)
_NON_FINITE_RE: Final = re.compile(r"s?nan|inf(?:inity)?", re.IGNORECASE)

_EXAMPLES: Final = "e.g. '31.4 million', '€31,400,000' or '31400000 EUR'"


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """Parse an amount as people write it; return ``(exact Decimal, currency or None)``.

    Accepted: "31.4 million", "31,400,000", "€31.4m", "31.4m EUR", "£28.1 million",
    "$5bn", "5 billion", "EUR 1,000.50", "1 000 000", "2.5k".

    * Currency: a symbol (€ EUR, £ GBP, $ USD, ¥ JPY) or an ISO code, before or
      after the number, at most once. ``None`` when the text names no currency.
    * Multipliers (case-insensitive): k/thousand, m/mn/million, b/bn/billion,
      tn/trillion; at most one.
    * Grouping: commas or spaces between groups of exactly three digits; "." is
      always the decimal point, so "1,5" is rejected as ambiguous.
    * Never negative, no exponent notation, no NaN/Infinity, at most
      ``MAX_MINOR_UNITS`` in value. Words like "approximately" are not handled.

    The result keeps the decimal places as written ("1,000.50" -> Decimal("1000.50"));
    multiplied values are integral when exact ("31.4 million" -> Decimal("31400000")).
    Whether the amount fits the currency's minor unit is checked by ``to_minor_units``.
    """
    if not isinstance(text, str):
        raise TypeError(f"amount text must be a string, not {type(text).__name__}")
    # Non-breaking and narrow spaces appear in pasted figures ("1 000 000").
    stripped = text.replace("\u00a0", " ").replace("\u202f", " ").strip()
    if not stripped:
        raise MoneyError("no amount given")
    if len(stripped) > _MAX_TEXT_LENGTH:
        raise MoneyError(f"amount is too long (over {_MAX_TEXT_LENGTH} characters)")

    match = _AMOUNT_RE.fullmatch(stripped)
    if match is None:
        raise _explain_unreadable(text, stripped)

    currency = _currency_from_match(text, match)
    value = _parse_grouped_number(match["number"].strip())
    mult = match["mult"]
    if mult is not None:
        value = value.scaleb(_MULTIPLIERS[mult.lower()], context=_EXACT)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            # Show "31400000", not "3.14E+7": same value, friendlier repr.
            value = value.quantize(Decimal(1), context=_EXACT)
    if value > MAX_MINOR_UNITS:
        raise MoneyError(f"amount is too large (over {MAX_MINOR_UNITS})")
    return value, currency


def _currency_from_match(text: str, match: re.Match[str]) -> str | None:
    found: list[str] = []
    for group in ("pre_sym", "post_sym"):
        if match[group] is not None:
            found.append(_SYMBOLS[match[group]])
    for group in ("pre_code", "post_code"):
        if match[group] is not None:
            found.append(normalise_currency(match[group]))
    if len(found) > 1:
        raise MoneyError(f"{text!r} gives the currency more than once")
    return found[0] if found else None


def _parse_grouped_number(number: str) -> Decimal:
    if _PLAIN_NUMBER_RE.fullmatch(number):
        return Decimal(number)
    if _COMMA_GROUPED_RE.fullmatch(number):
        return Decimal(number.replace(",", ""))
    if _SPACE_GROUPED_RE.fullmatch(number):
        return Decimal(number.replace(" ", ""))
    if "," in number:
        raise MoneyError(
            f"{number!r} is ambiguous: use '.' for decimals and ',' only between"
            " groups of three digits"
        )
    if number.count(".") > 1:
        raise MoneyError(f"{number!r} has more than one decimal point")
    raise MoneyError(f"{number!r} is not a number I can read ({_EXAMPLES})")


def _explain_unreadable(text: str, stripped: str) -> MoneyError:
    """Pick the most helpful message for text the grammar rejected."""
    without_currency = stripped.strip("".join(_SYMBOLS) + " ")
    if without_currency[:1] in ("-", "\u2212", "(") or stripped.startswith(("-", "\u2212")):
        return MoneyError("amount must not be negative")
    if _NON_FINITE_RE.fullmatch(without_currency):
        return MoneyError(f"{text!r} is not a number")
    if _EXPONENT_RE.search(stripped):
        return MoneyError(f"{text!r} uses exponent notation; write the number out in full")
    if len(_MULT_WORD_RE.findall(stripped)) > 1:
        return MoneyError(f"{text!r} has more than one multiplier")
    if not any(ch.isdigit() for ch in stripped):
        return MoneyError(f"{text!r} is not an amount ({_EXAMPLES})")
    return MoneyError(f"{text!r} is not an amount I can read ({_EXAMPLES})")


# ---------------------------------------------------------------------- formatting

_STYLES: Final = ("long", "short", "exact")
_LONG_THRESHOLD: Final = Decimal(1_000_000)
_SHORT_THRESHOLD: Final = Decimal(1_000)


def format_money(
    amount: Decimal,
    currency: str,
    style: str = "long",
    locale: str = "en_GB",
) -> str:
    """Format an amount for display using CLDR data via babel.

    * ``"long"``: "€31.4 million" — symbol plus babel's long compact form with one
      fraction digit (rounded, so for display only). Below one million the exact
      style is used, so small amounts are never rounded.
    * ``"short"``: "£28.1m" — babel's compact currency form; exact style below 1,000.
    * ``"exact"``: "€31,400,000.00" — every digit, with the currency's ISO 4217
      number of decimal places (JPY none, KWD three). babel alone would use CLDR's
      digits and silently round, e.g. COP 1.50 -> "COP2"; we refuse amounts with
      more places than the currency has rather than round them.

    Negative amounts are formatted (useful for differences); NaN/Infinity raise
    MoneyError; floats raise TypeError. The long style puts the symbol first in
    every locale, which suits English but not e.g. French word order.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise MoneyError("amount must be a finite number")
    if style not in _STYLES:
        raise MoneyError(f"unknown money style {style!r}; use 'long', 'short' or 'exact'")
    code = normalise_currency(currency)
    # Even the rounded styles refuse amounts the currency cannot hold: such an
    # amount is a bug upstream, and hiding it behind "€1.2 million" would not help.
    _check_fits_currency(abs(amount), code, currency_exponent(code))
    magnitude = abs(amount)
    with localcontext() as ctx:
        ctx.prec = _FORMAT_PRECISION
        if style == "long" and magnitude >= _LONG_THRESHOLD:
            sign = "-" if amount < 0 else ""
            compact = format_compact_decimal(
                magnitude, format_type="long", locale=locale, fraction_digits=1
            )
            return f"{sign}{get_currency_symbol(code, locale)}{compact}"
        if style == "short" and magnitude >= _SHORT_THRESHOLD:
            return format_compact_currency(amount, code, locale=locale, fraction_digits=1)
        return _format_exact(amount, code, locale)


def _format_exact(amount: Decimal, code: str, locale: str) -> str:
    exponent = currency_exponent(code)
    # Copy the locale's currency pattern and pin its fraction digits to the ISO
    # exponent; babel would otherwise use CLDR's (different for HUF, COP, IDR…).
    pattern: NumberPattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    # NumberPattern.apply has no return annotation in babel 2.19; it returns str.
    return str(pattern.apply(amount, locale, currency=code, currency_digits=False))
