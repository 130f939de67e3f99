"""ISO 4217 money: exponents from the maintained list, conversions that never lose a minor unit."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from cmp.money import Money, exponent, format_amount, from_minor, is_currency, places_problem, to_minor


@pytest.mark.parametrize(
    ("currency", "places"),
    [
        *((code, 0) for code in ("JPY", "KRW", "CLP", "ISK", "VND", "UGX", "XAF")),
        *((code, 2) for code in ("USD", "EUR", "GBP", "CHF", "HUF", "COP", "IDR")),
        *((code, 3) for code in ("KWD", "BHD", "JOD", "OMR", "TND", "IQD", "LYD")),
        ("CLF", 4),
        ("UYW", 4),
    ],
)
def test_each_currency_has_its_iso_4217_exponent(currency: str, places: int) -> None:
    # HUF, COP, IDR (2) and IQD (3) are where CLDR's digits (babel) differ from ISO 4217: CLDR says 0.
    assert exponent(currency) == places
    assert is_currency(currency)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("ZZZ", "is not an ISO 4217 currency code"),
        ("DEM", "is not an ISO 4217 currency code"),  # historic (Deutsche Mark): not in list one
        ("usd", "is not an ISO 4217 currency code"),  # codes are upper case
        ("", "is not an ISO 4217 currency code"),
        ("XAU", "has no minor unit in ISO 4217"),  # gold
        ("XTS", "has no minor unit in ISO 4217"),  # the testing code
        ("XXX", "has no minor unit in ISO 4217"),  # no currency
    ],
)
def test_unknown_historic_and_unit_less_codes_are_refused(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        exponent(code)
    assert not is_currency(code)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("29.99", "USD", 2999),
        ("29", "USD", 2900),
        (Decimal("0.5"), "EUR", 50),
        ("1500", "JPY", 1500),
        ("1500.00", "JPY", 1500),  # trailing zeros carry no value
        ("1.5", "KWD", 1500),
        ("0.001", "KWD", 1),
        (7, "USD", 700),
        ("-3.25", "USD", -325),
        ("0", "JPY", 0),
    ],
)
def test_to_minor(amount: Decimal | str | int, currency: str, minor: int) -> None:
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("1500.50", "JPY", "JPY has no minor unit .ISO 4217 exponent 0.: 1500.50 is not a whole number"),
        ("9.999", "USD", "USD has 2 decimal places .ISO 4217 exponent 2.: 9.999 has more"),
        ("0.0001", "KWD", "KWD has 3 decimal places"),
        ("1e3", "USD", "not a plain decimal"),
        ("NaN", "USD", "not a plain decimal"),
        (Decimal("Infinity"), "USD", "not a finite amount"),
        (True, "USD", "must be a number"),
        ("29", "ABC", "is not an ISO 4217 currency code"),
    ],
)
def test_to_minor_refuses_what_would_lose_or_invent_value(
    amount: Decimal | str | int, currency: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        to_minor(amount, currency)


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (2900, "USD", "29.00"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (1500, "JPY", "1500"),
        (1500, "KWD", "1.500"),
    ],
)
def test_from_minor_and_format_use_the_currency_exponent(minor: int, currency: str, text: str) -> None:
    assert format_amount(minor, currency) == text
    assert from_minor(minor, currency) == Decimal(text)
    assert str(from_minor(minor, currency)) == text
    assert to_minor(text, currency) == minor


def test_from_minor_refuses_a_fraction_of_a_minor_unit() -> None:
    with pytest.raises(ValueError, match="whole number"):
        from_minor(29.5, "USD")  # type: ignore[arg-type]


def test_places_problem_is_none_for_whole_minor_units() -> None:
    assert places_problem(Decimal("29.90"), "USD") is None
    assert places_problem(Decimal("29.901"), "USD") is not None


def test_money_is_a_frozen_value_in_minor_units() -> None:
    price = Money.of("29.99", "USD")
    assert price == Money(2999, "USD")
    assert price.decimal == Decimal("29.99") and price.format() == "29.99" and str(price) == "29.99 USD"
    assert str(Money.of("1500", "JPY")) == "1500 JPY"
    assert Money(1500, "KWD").format() == "1.500"
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.amount = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        (1, "ZZZ", "not an ISO 4217"),
        (Decimal("1.5"), "USD", "must be an int"),
        (True, "USD", "must be an int"),
    ],
)
def test_money_refuses_unknown_currencies_and_fractions(amount: object, currency: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Money(amount, currency)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="JPY has no minor unit"):
        Money.of("1500.50", "JPY")
