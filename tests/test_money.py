"""Tests for app.money: exact amounts, ISO 4217 exponents, parsing and display.

Pure tests: no database, no fixtures.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.money import (
    MAX_MINOR_UNITS,
    MoneyError,
    all_currencies,
    currency_exponent,
    format_money,
    from_minor_units,
    is_currency,
    normalise_currency,
    parse_amount,
    to_minor_units,
)

CODES = [code for code, _name in all_currencies()]

# --------------------------------------------------------------------------- currencies


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("EUR", 2), ("GBP", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)],
)
def test_currency_exponent_comes_from_iso4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


def test_normalise_currency_strips_and_uppercases() -> None:
    assert normalise_currency("  eur ") == "EUR"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("EUX", "unknown currency code 'EUX'"),
        ("euro", "is not a three-letter currency code"),
        ("", "is not a three-letter currency code"),
        ("E1R", "is not a three-letter currency code"),
        ("XAU", "XAU is not a currency with minor units"),
        ("XXX", "not a currency with minor units"),
    ],
)
def test_normalise_currency_rejects(code: str, message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        normalise_currency(code)


def test_is_currency() -> None:
    assert is_currency("gbp")
    assert not is_currency("XAU")
    assert not is_currency("EUX")


def test_all_currencies_sorted_named_and_usable() -> None:
    rows = all_currencies()
    codes = [code for code, _ in rows]
    assert codes == sorted(codes)
    assert ("EUR", "Euro") in rows
    assert "XAU" not in codes
    assert all(name and name != code for code, name in rows)
    assert all(is_currency(code) for code in codes)
    rows.clear()  # callers get their own list
    assert all_currencies()


# ---------------------------------------------------------------------- minor units


def test_large_eur_amount_is_exact_both_ways() -> None:
    assert to_minor_units("12345678901234567.89", "EUR") == 1234567890123456789
    assert to_minor_units(Decimal("12345678901234567.89"), "EUR") == 1234567890123456789
    back = from_minor_units(1234567890123456789, "EUR")
    assert back == Decimal("12345678901234567.89")
    assert str(back) == "12345678901234567.89"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("31400000", "EUR", 3140000000),
        ("31400000.00", "EUR", 3140000000),
        (" 1.5 ", "EUR", 150),
        ("1.230", "EUR", 123),
        ("1.000", "JPY", 1),
        ("1234", "JPY", 1234),
        ("1.234", "KWD", 1234),
        ("0", "EUR", 0),
        (Decimal("-0"), "EUR", 0),
        (Decimal("3.14E+7"), "EUR", 3140000000),
        ("90000000000000000.00", "EUR", MAX_MINOR_UNITS),
    ],
)
def test_to_minor_units(amount: Decimal | str, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1.234", "EUR", "EUR has 2 decimal places; 1.234 has 3"),
        ("1.5", "JPY", "JPY has no decimal places; 1.5 has 1"),
        ("-5", "EUR", "amount must not be negative"),
        (Decimal("-0.01"), "EUR", "amount must not be negative"),
        ("1,000", "EUR", "'1,000' is not a plain decimal number"),
        ("31.4 million", "EUR", "'31.4 million' is not a plain decimal number"),
        ("1e5", "EUR", "is not a plain decimal number"),
        ("+5", "EUR", "is not a plain decimal number"),
        ("NaN", "EUR", "is not a plain decimal number"),
        ("", "EUR", "is not a plain decimal number"),
        (Decimal("NaN"), "EUR", "not a number"),
        (Decimal("Infinity"), "EUR", "finite"),
        ("90000000000000000.01", "EUR", "too large (over 9000000000000000000 minor units)"),
        (Decimal("1E+999999"), "EUR", "too large"),
        ("5", "EUX", "unknown currency code 'EUX'"),
        ("5", "XAU", "not a currency with minor units"),
    ],
)
def test_to_minor_units_rejects(amount: Decimal | str, currency: str, message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        to_minor_units(amount, currency)


def test_to_minor_units_refuses_floats() -> None:
    with pytest.raises(TypeError, match="float"):
        to_minor_units(1.5, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (3140000000, "EUR", "31400000.00"),
        (0, "EUR", "0.00"),
        (5, "JPY", "5"),
        (1, "KWD", "0.001"),
        (MAX_MINOR_UNITS, "CLF", "900000000000000.0000"),
    ],
)
def test_from_minor_units_has_exactly_exponent_places(
    minor: int, currency: str, expected: str
) -> None:
    assert str(from_minor_units(minor, currency)) == expected


def test_from_minor_units_reads_totals_beyond_one_amounts_limit() -> None:
    # A sum of stored amounts may exceed MAX_MINOR_UNITS and must still be exact.
    assert from_minor_units(MAX_MINOR_UNITS * 8 + 1, "EUR") == Decimal("720000000000000000.01")


@pytest.mark.parametrize(
    ("minor", "error", "message"),
    [
        (-1, MoneyError, "must not be negative"),
        (True, TypeError, "int"),
        (1.0, TypeError, "int"),
    ],
)
def test_from_minor_units_rejects(minor: int, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        from_minor_units(minor, "EUR")


@settings(max_examples=200)
@given(minor=st.integers(min_value=0, max_value=MAX_MINOR_UNITS), currency=st.sampled_from(CODES))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    amount = from_minor_units(minor, currency)
    assert -amount.as_tuple().exponent == currency_exponent(currency)  # type: ignore[operator]
    assert to_minor_units(amount, currency) == minor
    assert to_minor_units(str(amount), currency) == minor


@settings(max_examples=200)
@given(
    amount=st.decimals(
        min_value=0, max_value=Decimal("9e14"), allow_nan=False, allow_infinity=False
    ),
    currency=st.sampled_from(CODES),
)
def test_decimal_round_trip(amount: Decimal, currency: str) -> None:
    exponent = currency_exponent(currency)
    quantised = amount.quantize(Decimal(1).scaleb(-exponent))
    assert from_minor_units(to_minor_units(quantised, currency), currency) == quantised


# ------------------------------------------------------------------------ parse_amount


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("31.4 million", Decimal("31400000"), None),
        ("31,400,000", Decimal("31400000"), None),
        ("€31.4m", Decimal("31400000"), "EUR"),
        ("31.4m EUR", Decimal("31400000"), "EUR"),
        ("£28.1 million", Decimal("28100000"), "GBP"),
        ("$5bn", Decimal("5000000000"), "USD"),
        ("5 billion", Decimal("5000000000"), None),
        ("EUR 1,000.50", Decimal("1000.50"), "EUR"),
        ("1 000 000", Decimal("1000000"), None),
        ("2.5k", Decimal("2500"), None),
        ("¥300", Decimal("300"), "JPY"),
        ("5 Thousand", Decimal("5000"), None),
        ("1.5MN", Decimal("1500000"), None),
        ("3b", Decimal("3000000000"), None),
        ("1.2 tn", Decimal("1200000000000"), None),
        ("2 trillion", Decimal("2000000000000"), None),
        ("eur 12", Decimal("12"), "EUR"),
        ("  12345678901234567.89  ", Decimal("12345678901234567.89"), None),
        ("1\u00a0000", Decimal("1000"), None),
        ("31.4159265 million", Decimal("31415926.5"), None),
    ],
)
def test_parse_amount(text: str, amount: Decimal, currency: str | None) -> None:
    parsed, parsed_currency = parse_amount(text)
    assert parsed == amount
    assert parsed_currency == currency


def test_parse_amount_keeps_written_places_and_avoids_exponent_repr() -> None:
    assert str(parse_amount("EUR 1,000.50")[0]) == "1000.50"
    assert str(parse_amount("31.4 million")[0]) == "31400000"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", "'abc' is not an amount"),
        ("", "no amount given"),
        ("   ", "no amount given"),
        ("-5", "must not be negative"),
        ("€-5", "must not be negative"),
        ("1e5", "exponent notation"),
        ("NaN", "'NaN' is not a number"),
        ("Infinity", "is not a number"),
        ("31.4 million million", "more than one multiplier"),
        ("9" * 40, "too large"),
        ("1,5", "ambiguous"),
        ("1.000.000", "more than one decimal point"),
        ("5 XAU", "not a currency with minor units"),
        ("5 ABC", "unknown currency code 'ABC'"),
        ("€5 EUR", "currency more than once"),
        ("approximately 5", "not an amount I can read"),
        ("1" * 101, "too long"),
    ],
)
def test_parse_amount_rejects(text: str, message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        parse_amount(text)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=MAX_MINOR_UNITS))
def test_parse_amount_reads_comma_grouped_integers(n: int) -> None:
    assert parse_amount(f"{n:,}") == (Decimal(n), None)


# -------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("amount", "currency", "style", "expected"),
    [
        ("31400000", "EUR", "long", "€31.4 million"),
        ("28100000", "GBP", "long", "£28.1 million"),
        ("1000000", "EUR", "long", "€1 million"),
        ("1234567890", "EUR", "long", "€1.2 billion"),
        ("999999", "EUR", "long", "€999,999.00"),  # below a million: exact
        ("28100000", "GBP", "short", "£28.1m"),
        ("31400000", "EUR", "short", "€31.4m"),
        ("500.55", "EUR", "short", "€500.55"),  # below a thousand: exact
        ("31400000", "EUR", "exact", "€31,400,000.00"),
        ("12345678901234567.89", "EUR", "exact", "€12,345,678,901,234,567.89"),
        ("1234", "JPY", "exact", "JP¥1,234"),
        ("1.234", "KWD", "exact", "KWD1.234"),
        # CLDR would show COP with no decimals (and round 1.50 to 2); ISO says 2.
        ("1.50", "COP", "exact", "COP1.50"),
        ("-31400000", "EUR", "long", "-€31.4 million"),
    ],
)
def test_format_money(amount: str, currency: str, style: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency, style) == expected


def test_format_money_default_is_long() -> None:
    assert format_money(Decimal("31400000"), "eur") == "€31.4 million"


@pytest.mark.parametrize(
    ("amount", "currency", "style", "message"),
    [
        (Decimal("1.5"), "JPY", "exact", "JPY has no decimal places; 1.5 has 1"),
        (Decimal("1.234"), "EUR", "long", "EUR has 2 decimal places"),
        (Decimal("NaN"), "EUR", "exact", "finite"),
        (Decimal("1"), "EUR", "fancy", "unknown money style 'fancy'"),
        (Decimal("1"), "XAU", "exact", "not a currency with minor units"),
    ],
)
def test_format_money_rejects(amount: Decimal, currency: str, style: str, message: str) -> None:
    with pytest.raises(MoneyError, match=re.escape(message)):
        format_money(amount, currency, style)


def test_format_money_refuses_floats() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        format_money(31400000.0, "EUR")  # type: ignore[arg-type]


@settings(max_examples=200)
@given(minor=st.integers(min_value=0, max_value=MAX_MINOR_UNITS), currency=st.sampled_from(CODES))
def test_exact_format_keeps_every_digit(minor: int, currency: str) -> None:
    amount = from_minor_units(minor, currency)
    text = format_money(amount, currency, "exact")
    digits = "".join(ch for ch in text if ch.isdigit())
    assert digits.lstrip("0") == str(minor).lstrip("0")
