"""Money as integer minor units of an ISO 4217 currency.

Every currency has its own exponent (its minor unit: 10^exponent minor units make one major unit), taken
from ISO 4217 list one as the `iso4217` package ships it (the SIX maintenance agency's table; the
package's version names the publication date): JPY, KRW, CLP and ISK 0, USD and EUR 2, KWD, BHD, JOD, OMR,
TND and IQD 3, CLF and UYW 4. Only current codes that have a minor unit are currencies here: historic
codes (DEM, FRF) are unknown, and codes ISO 4217 lists without one ("N.A.": XAU gold, XDR, XTS for
testing, XXX) are refused, since nothing can be priced in them.

The table is read on first use (~50 ms: the package parses its XML when imported), so importing this
module costs nothing at cold start.

Amounts in major units (`Decimal("29.99")`, the text "29.99") convert to minor units (2999) only when they
are a whole number of minor units: "1500.50" JPY is refused, "1500.00" JPY is 1500 (trailing zeros carry
no value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
"""How an amount given as text must be written: optional minus, digits, optionally a point and digits."""


@cache
def _table() -> tuple[dict[str, int], frozenset[str]]:
    """(code -> exponent for every current ISO 4217 currency with a minor unit, codes listed without one)."""
    import iso4217  # parses the bundled ISO 4217 XML (~50 ms): first use only

    exponents: dict[str, int] = {}
    without: set[str] = set()
    for currency in iso4217.Currency:
        if currency.exponent is None:
            without.add(currency.code)
        else:
            exponents[currency.code] = currency.exponent
    return exponents, frozenset(without)


def is_currency(code: str) -> bool:
    """Whether `code` (exactly as ISO 4217 spells it: three upper-case letters) is a currency with a minor
    unit in ISO 4217 list one."""
    return code in _table()[0]


def exponent(currency: str) -> int:
    """The ISO 4217 exponent of `currency` (JPY 0, USD 2, KWD 3): a major unit is 10^exponent minor units.

    `currency` is the upper-case code. Raises `ValueError`, with a reason a seller or buyer can act on, for
    a code that is not a current ISO 4217 currency or that ISO 4217 lists without a minor unit.
    """
    exponents, without = _table()
    if currency in exponents:
        return exponents[currency]
    shown = repr(currency if len(currency) <= 10 else currency[:10] + "...")
    if currency in without:
        raise ValueError(
            f"{shown} has no minor unit in ISO 4217 (a precious metal, fund or testing code); "
            "prices need a currency such as USD, EUR or JPY"
        )
    raise ValueError(f"{shown} is not an ISO 4217 currency code (three letters such as USD, EUR or JPY)")


def _decimal(amount: Decimal | str | int) -> Decimal:
    if isinstance(amount, bool):
        raise ValueError(f"an amount must be a number, not {amount!r}")
    if isinstance(amount, str):
        if not AMOUNT_TEXT.fullmatch(amount.strip()):
            raise ValueError(f"{amount[:40]!r} is not a plain decimal amount such as 29 or 29.99")
        return Decimal(amount.strip())
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError) as e:
        raise ValueError(f"{amount!r} is not an amount") from e
    if not value.is_finite():
        raise ValueError(f"{amount!r} is not a finite amount")
    return value


def places_problem(amount: Decimal, currency: str) -> str | None:
    """Why `amount` (major units) is not a whole number of `currency`'s minor units, or None if it is.

    E.g. "JPY has no minor unit (ISO 4217 exponent 0): 1500.50 is not a whole number of JPY". Raises
    `ValueError` for an unknown currency (see `exponent`).
    """
    places = exponent(currency)
    if amount == amount.quantize(Decimal(1).scaleb(-places)):
        return None
    if places == 0:
        return f"{currency} has no minor unit (ISO 4217 exponent 0): {amount} is not a whole number of {currency}"
    return f"{currency} has {places} decimal places (ISO 4217 exponent {places}): {amount} has more"


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """`amount` in major units (a Decimal, an int, or text like "29.99") as an integer of `currency`'s
    minor units: ("29.99", "USD") -> 2999, ("1500", "JPY") -> 1500, ("1.5", "KWD") -> 1500.

    Raises `ValueError` for an unknown currency, text that is not a plain decimal, or an amount with more
    decimal places than the currency's exponent ("1500.50" JPY, "9.999" USD).
    """
    value = _decimal(amount)
    problem = places_problem(value, currency)
    if problem:
        raise ValueError(problem)
    return int(value.scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """`minor` units of `currency` in major units, with exactly the currency's exponent as decimal places:
    (2900, "USD") -> Decimal("29.00"), (1500, "JPY") -> Decimal("1500"), (1500, "KWD") -> Decimal("1.500").
    Raises `ValueError` for an unknown currency or a `minor` that is not an int."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ValueError(f"minor units must be a whole number, not {minor!r}")
    return Decimal(minor).scaleb(-exponent(currency))


def format_amount(minor: int, currency: str) -> str:
    """`minor` units of `currency` as a plain decimal string with the currency's exponent, without
    grouping or symbol: (2900, "USD") -> "29.00", (1500, "JPY") -> "1500", (1500, "KWD") -> "1.500".
    Raises `ValueError` like `from_minor`."""
    return f"{from_minor(minor, currency):f}"


def with_exponent(amount: Decimal, currency: str) -> Decimal:
    """`amount` (major units, a whole number of minor units) written with exactly the currency's exponent
    as decimal places: (29, "USD") -> 29.00, (1500.00, "JPY") -> 1500. Raises `ValueError` like
    `to_minor`."""
    return from_minor(to_minor(amount, currency), currency)


@dataclass(frozen=True)
class Money:
    """An amount of one currency: `amount` in integer minor units (cents for USD, yen for JPY, fils for
    KWD), `currency` an upper-case ISO 4217 code. Raises `ValueError` when built with an unknown currency
    or a non-integer amount."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise ValueError(f"Money.amount is in minor units and must be an int, not {self.amount!r}")
        exponent(self.currency)

    @classmethod
    def of(cls, amount: Decimal | str | int, currency: str) -> Money:
        """Money from an amount in major units ("29.99" USD); raises `ValueError` like `to_minor`."""
        return cls(to_minor(amount, currency), currency)

    @property
    def decimal(self) -> Decimal:
        """The amount in major units, with the currency's exponent as decimal places (`Decimal("29.00")`)."""
        return from_minor(self.amount, self.currency)

    def format(self) -> str:
        """The amount as a plain decimal string with the currency's exponent ("29.00", "1500", "1.500")."""
        return format_amount(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.format()} {self.currency}"
