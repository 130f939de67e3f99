"""Proration by Stripe's rules: the upgrade/downgrade rule, billing period ends, and what an immediate
change costs, to the minor unit.

The matrix checks `prorate` against a reference written another way (calendar seconds, `Decimal` with
ROUND_HALF_UP, `dateutil.relativedelta` for the new period), and the literal cases were computed by hand,
so an assumption shared by the code and the reference still fails somewhere.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import product

import pytest
from dateutil.relativedelta import relativedelta

from cmp.commerce.payment_model import BillingPeriod, Price
from cmp.commerce.proration import change_kind, next_period_end, prorate


def price(amount: int, period: BillingPeriod = "monthly", currency: str = "USD", plan: str = "p") -> Price:
    return Price("prod-1", "Agent", plan, plan.title(), period, currency, amount)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------
# change_kind: the one rule


@pytest.mark.parametrize(
    ("current", "new", "kind"),
    [
        (price(2900), price(9900), "upgrade"),
        (price(9900), price(2900), "downgrade"),
        (price(2900), price(2900, plan="q"), "downgrade"),
        (price(29000, "yearly"), price(99000, "yearly"), "upgrade"),
        (price(99000, "yearly"), price(29000, "yearly"), "downgrade"),
        (price(2900), price(29000, "yearly"), "upgrade"),
        # monthly -> yearly is an upgrade even when the yearly price is lower than the monthly one
        (price(9900), price(5000, "yearly"), "upgrade"),
        # yearly -> monthly is a downgrade whatever the amounts: never an upgrade, never charged now
        (price(29000, "yearly"), price(2900), "downgrade"),
        (price(1000, "yearly"), price(99000), "downgrade"),
        (price(99000, "yearly"), price(99000), "downgrade"),
    ],
)
def test_change_kind(current: Price, new: Price, kind: str) -> None:
    assert change_kind(current, new) == kind


def test_change_kind_refuses_two_currencies() -> None:
    with pytest.raises(ValueError, match="from a price in USD to a price in EUR"):
        change_kind(price(2900), price(9900, currency="EUR"))


def test_change_kind_refuses_an_unknown_period() -> None:
    with pytest.raises(ValueError, match="unknown billing period 'weekly'"):
        change_kind(price(2900), price(9900, "weekly"))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------------------
# next_period_end: calendar months and years, back to the anchor day


def test_monthly_anchor_31_clamps_and_returns() -> None:
    end = utc(2024, 1, 31, 9, 30)
    seen = []
    for _ in range(7):
        end = next_period_end(end, "monthly", anchor_day=31)
        seen.append(end.date().isoformat())
    assert seen == [
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
        "2024-07-31",
        "2024-08-31",
    ]
    assert end.time().isoformat() == "09:30:00"


def test_monthly_anchor_31_outside_a_leap_year() -> None:
    assert next_period_end(utc(2025, 1, 31), "monthly") == utc(2025, 2, 28)
    assert next_period_end(utc(2025, 2, 28), "monthly", anchor_day=31) == utc(2025, 3, 31)
    assert next_period_end(utc(2025, 2, 28), "monthly", anchor_day=30) == utc(2025, 3, 30)
    assert next_period_end(utc(2025, 2, 28), "monthly") == utc(2025, 3, 28)


def test_yearly_anchor_on_february_29() -> None:
    ends = [utc(2024, 2, 29)]
    for _ in range(4):
        ends.append(next_period_end(ends[-1], "yearly", anchor_day=29))
    assert [e.date().isoformat() for e in ends[1:]] == [
        "2025-02-28",
        "2026-02-28",
        "2027-02-28",
        "2028-02-29",
    ]


def test_december_rolls_into_the_next_year() -> None:
    assert next_period_end(utc(2025, 12, 15), "monthly") == utc(2026, 1, 15)
    assert next_period_end(utc(2025, 12, 31), "yearly") == utc(2026, 12, 31)


def test_period_end_keeps_the_timezone() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert next_period_end(datetime(2025, 1, 31, 23, 0, tzinfo=tokyo), "monthly") == datetime(
        2025, 2, 28, 23, 0, tzinfo=tokyo
    )


@pytest.mark.parametrize(
    ("start", "anchor", "message"),
    [
        (datetime(2025, 1, 31), None, "timezone-aware"),
        (utc(2025, 1, 31), 0, "between 1 and 31"),
        (utc(2025, 1, 31), 32, "between 1 and 31"),
        (utc(2025, 3, 15), 10, "not a billing date"),
        (utc(2025, 2, 27), 31, "not a billing date"),
    ],
)
def test_next_period_end_refuses(start: datetime, anchor: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next_period_end(start, "monthly", anchor)


# ---------------------------------------------------------------------------------------------------------
# prorate: hand-computed cases


def test_stripe_documentation_example() -> None:
    """docs.stripe.com/billing/subscriptions/prorations: 10 USD -> 20 USD monthly, halfway through the period:
    -5 USD unused time, +10 USD remaining time, 5 USD due. April has 30 days; the 16th at 00:00 is halfway."""
    quote = prorate(price(1000), price(2000), utc(2025, 4, 1), utc(2025, 5, 1), utc(2025, 4, 16))
    assert (quote.credit, quote.charge, quote.amount_due) == (500, 1000, 500)
    assert (quote.period_start, quote.period_end) == (utc(2025, 4, 1), utc(2025, 5, 1))


def test_usd_31_day_month() -> None:
    # 21 of 31 days left: 2900 x 21/31 = 1964.52 -> 1965; 9900 x 21/31 = 6706.45 -> 6706
    quote = prorate(price(2900), price(9900), utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 11))
    assert (quote.credit, quote.charge, quote.amount_due) == (1965, 6706, 4741)


def test_jpy_leap_february() -> None:
    # 15 of 29 days left: 1000 x 15/29 = 517.24 -> 517; 3000 x 15/29 = 1551.72 -> 1552
    old, new = price(1000, currency="JPY"), price(3000, currency="JPY")
    quote = prorate(old, new, utc(2024, 2, 1), utc(2024, 3, 1), utc(2024, 2, 15))
    assert (quote.currency, quote.credit, quote.charge) == ("JPY", 517, 1552)


def test_kwd_rounds_half_up() -> None:
    # 21 of 28 days left (3/4): 9.900 KWD -> 7.425 exactly; 29.750 KWD x 3/4 = 22.3125 KWD = 22312.5 fils -> 22313
    old, new = price(9900, currency="KWD"), price(29750, currency="KWD")
    quote = prorate(old, new, utc(2025, 2, 1), utc(2025, 3, 1), utc(2025, 2, 8))
    assert (quote.credit, quote.charge, quote.amount_due) == (7425, 22313, 14888)


def test_half_a_minor_unit_rounds_up_on_each_line() -> None:
    # Halfway through a 30-day month: 101 -> 50.5 -> 51 and 201 -> 100.5 -> 101 (banker's rounding: 50, 100)
    quote = prorate(price(101), price(201), utc(2025, 6, 1), utc(2025, 7, 1), utc(2025, 6, 16))
    assert (quote.credit, quote.charge) == (51, 101)


def test_monthly_to_yearly_charges_the_year_and_starts_a_new_period() -> None:
    # 11 of 31 days left on 29 USD: 2900 x 11/31 = 1029.03 -> 1029 credited; 290 USD charged in full
    at = utc(2025, 3, 21, 14, 5, 9)
    quote = prorate(price(2900), price(29000, "yearly"), utc(2025, 3, 1), utc(2025, 4, 1), at)
    left = Decimal((utc(2025, 4, 1) - at).total_seconds()) / Decimal(31 * 86400)
    assert quote.credit == int((2900 * left).quantize(Decimal(1), ROUND_HALF_UP))
    assert (quote.charge, quote.amount_due) == (29000, 29000 - quote.credit)
    assert (quote.period_start, quote.period_end) == (at, utc(2026, 3, 21, 14, 5, 9))
    assert quote.proration_date == at


def test_monthly_to_yearly_on_the_31st_ends_on_the_anchor() -> None:
    quote = prorate(price(2900), price(29000, "yearly"), utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 31))
    assert (quote.credit, quote.period_end) == (94, utc(2026, 1, 31))  # 2900 x 1/31 = 93.5 -> 94


def test_time_is_counted_in_whole_seconds() -> None:
    with_micro = prorate(
        price(2900),
        price(9900),
        utc(2025, 1, 1),
        utc(2025, 2, 1),
        utc(2025, 1, 11, 0, 0, 0) + timedelta(microseconds=999_999),
    )
    whole = prorate(price(2900), price(9900), utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 11))
    assert with_micro == whole


def test_other_timezones_measure_the_same_seconds() -> None:
    paris = timezone(timedelta(hours=1))
    local = prorate(
        price(2900), price(9900), utc(2025, 1, 1), utc(2025, 2, 1), datetime(2025, 1, 11, 1, 0, tzinfo=paris)
    )
    assert (local.credit, local.charge) == (1965, 6706)
    assert local.proration_date.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (price(9900), price(2900)),
        (price(2900), price(2900, plan="q")),
        (price(29000, "yearly"), price(2900)),
        (price(29000, "yearly"), price(99000)),
        (price(99000, "yearly"), price(29000, "yearly")),
    ],
)
def test_downgrades_are_never_prorated(current: Price, new: Price) -> None:
    with pytest.raises(ValueError, match="is a downgrade"):
        prorate(current, new, utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 11))


@pytest.mark.parametrize(
    ("start", "end", "at", "message"),
    [
        (utc(2025, 2, 1), utc(2025, 1, 1), utc(2025, 1, 11), "end after it starts"),
        (utc(2025, 1, 1), utc(2025, 1, 1), utc(2025, 1, 1), "end after it starts"),
        (utc(2025, 1, 1), utc(2025, 2, 1), utc(2024, 12, 31), "within the billing period"),
        (utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 2, 1, 0, 0, 1), "within the billing period"),
        (utc(2025, 1, 1), utc(2025, 2, 1), datetime(2025, 1, 11), "timezone-aware"),
    ],
)
def test_prorate_refuses_impossible_periods(
    start: datetime, end: datetime, at: datetime, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        prorate(price(2900), price(9900), start, end, at)


def test_prorate_refuses_mixed_currencies_and_negative_amounts() -> None:
    with pytest.raises(ValueError, match="EUR"):
        prorate(price(2900), price(9900, currency="EUR"), utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 2))
    with pytest.raises(ValueError, match="negative"):
        prorate(price(-1), price(9900), utc(2025, 1, 1), utc(2025, 2, 1), utc(2025, 1, 2))


# ---------------------------------------------------------------------------------------------------------
# The matrix, against a reference written differently


def reference(
    current: Price, new: Price, start: datetime, end: datetime, at: datetime
) -> tuple[int, int, datetime, datetime]:
    """Stripe's proration from Unix seconds (calendar.timegm), Decimal division and ROUND_HALF_UP; a new
    period from relativedelta when the interval changes."""

    def seconds(value: datetime) -> int:
        return calendar.timegm(value.utctimetuple())

    def rounded(amount: int) -> int:
        with localcontext() as ctx:
            ctx.prec = 60
            exact = (
                Decimal(amount) * Decimal(seconds(end) - seconds(at)) / Decimal(seconds(end) - seconds(start))
            )
            return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    if current.billing_period == new.billing_period:
        return rounded(current.unit_amount), rounded(new.unit_amount), start, end
    return rounded(current.unit_amount), new.unit_amount, at, at + relativedelta(years=1)


# (period, start) pairs: months of 31, 28, 29 and 30 days, a month anchored on the 31st, years of 365 and
# 366 days and a year anchored on February 29.
PERIODS: list[tuple[BillingPeriod, datetime]] = [
    ("monthly", utc(2025, 1, 1)),
    ("monthly", utc(2025, 2, 1)),
    ("monthly", utc(2024, 2, 1)),
    ("monthly", utc(2025, 4, 1)),
    ("monthly", utc(2024, 1, 31, 17, 45, 3)),
    ("yearly", utc(2024, 3, 1)),
    ("yearly", utc(2023, 3, 1)),
    ("yearly", utc(2024, 2, 29, 6)),
]
# (currency, monthly low, monthly high, yearly low, yearly high), amounts in each currency's minor unit.
CURRENCIES = [
    ("JPY", 980, 2980, 9800, 29800),
    ("USD", 2900, 9900, 29000, 99000),
    ("KWD", 9900, 29750, 99000, 297500),
]


def moments(start: datetime, end: datetime) -> list[datetime]:
    """The first second, one second in, a day in, the middle, a day before the end, the last second, the end."""
    middle = start + (end - start) / 2
    return [
        start,
        start + timedelta(seconds=1),
        start + timedelta(days=1),
        middle.replace(microsecond=0),
        end - timedelta(days=1),
        end - timedelta(seconds=1),
        end,
    ]


MATRIX = [
    (period, start, currency, target, direction)
    for (period, start), currency, target, direction in product(
        PERIODS, CURRENCIES, ["monthly", "yearly"], ["up", "down"]
    )
]


@pytest.mark.parametrize(
    ("period", "start", "currency", "target", "direction"),
    [pytest.param(*row, id=f"{row[0]}-{row[1]:%Y%m%d}-{row[2][0]}-to-{row[3]}-{row[4]}") for row in MATRIX],
)
def test_matrix(
    period: BillingPeriod,
    start: datetime,
    currency: tuple[str, int, int, int, int],
    target: BillingPeriod,
    direction: str,
) -> None:
    code, month_low, month_high, year_low, year_high = currency
    amounts = {"monthly": (month_low, month_high), "yearly": (year_low, year_high)}
    low_or_high = 1 if direction == "up" else 0
    current = price(amounts[period][1 - low_or_high], period, code, "current")
    new = price(amounts[target][low_or_high], target, code, "new")
    end = next_period_end(start, period)
    expected_kind = (
        "upgrade"
        if (period, target) == ("monthly", "yearly") or (period == target and direction == "up")
        else "downgrade"
    )
    assert change_kind(current, new) == expected_kind

    for at in moments(start, end):
        if expected_kind == "downgrade":
            with pytest.raises(ValueError, match="downgrade"):
                prorate(current, new, start, end, at)
            continue
        quote = prorate(current, new, start, end, at)
        credit, charge, new_start, new_end = reference(current, new, start, end, at)
        assert (quote.credit, quote.charge) == (credit, charge), at
        assert (quote.period_start, quote.period_end) == (new_start, new_end), at
        assert quote.currency == code
        assert quote.proration_date == at
        # properties that hold for every upgrade
        assert 0 <= quote.credit <= current.unit_amount
        assert 0 <= quote.charge <= new.unit_amount
        if period == target:
            assert quote.amount_due >= 0
            if at == start:
                assert (quote.credit, quote.charge) == (current.unit_amount, new.unit_amount)
            if at == end:
                assert (quote.credit, quote.charge) == (0, 0)
        else:
            assert quote.charge == new.unit_amount
            if at == start:
                assert quote.credit == current.unit_amount


def test_the_matrix_covers_every_case() -> None:
    upgrades = [
        row
        for row in MATRIX
        if (row[0], row[3]) == ("monthly", "yearly") or (row[0] == row[3] and row[4] == "up")
    ]
    assert len(MATRIX) == 8 * 3 * 2 * 2
    # per currency: 5 monthly periods x (up within monthly + both directions to yearly), 3 yearly periods x up
    assert len(upgrades) == 3 * (5 * 3 + 3 * 1)


def test_two_upgrades_at_one_moment_cost_the_direct_upgrade() -> None:
    """A->B then B->C at the same second: B's charge and B's credit are the same rounded line, so the total
    is exactly A->C. The same second step made later charges C for less time, so it costs less."""
    start, end = utc(2024, 2, 1), utc(2024, 3, 1)
    a, b, c = price(2900), price(4900, plan="b"), price(9900, plan="c")
    first, later = utc(2024, 2, 5, 13), utc(2024, 2, 20, 8, 30)
    same_moment = prorate(a, b, start, end, first).amount_due + prorate(b, c, start, end, first).amount_due
    assert same_moment == prorate(a, c, start, end, first).amount_due
    assert (
        prorate(a, b, start, end, first).amount_due + prorate(b, c, start, end, later).amount_due
        < same_moment
    )
