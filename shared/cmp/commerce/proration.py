"""Plan changes by Stripe Billing's rules: which changes are upgrades, where a billing period ends, and what
an immediate change costs.

Pure functions, no I/O. The local provider computes its figures with them; the Stripe adapter asks Stripe
(which applies the same rules) and refuses what `change_kind` sends to the end of the period. Amounts are
integers in the currency's minor unit (JPY yen, USD cents, KWD fils); nothing here needs the currency's
exponent, because every result is rounded to a whole minor unit.

Sources: Stripe docs "Prorations" (docs.stripe.com/billing/subscriptions/prorations: proration is
calculated to the second from the billing period's start and end and the proration date; one line credits
the unused time on the old price, one line charges the remaining time on the new price) and "Set the
subscription billing renewal date" (docs.stripe.com/billing/subscriptions/billing-cycle: a monthly anchor
of January 31 bills on February 28, or 29 in a leap year, then March 31, April 30 ...).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

from cmp.commerce.payment_model import BillingPeriod, Price, ProrationQuote

ChangeKind = Literal["upgrade", "downgrade"]

_MONTHS: dict[str, int] = {"monthly": 1, "yearly": 12}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def change_kind(current: Price, new: Price) -> ChangeKind:
    """The one rule for a change of plan or billing period: `"upgrade"` takes effect at once and is
    prorated (`prorate`), `"downgrade"` takes effect at the end of the current period and costs nothing now.

    - Same billing period: a higher `unit_amount` is an upgrade; a lower **or equal** one is a downgrade. An
      equal price moves no money either way, so it waits for the period end like any other downgrade:
      a buyer never gets a plan's extra capabilities before the period that pays for them.
    - monthly -> yearly: an upgrade, whatever the amounts (Stripe starts the yearly period at once and
      charges it in full, crediting the unused month).
    - yearly -> monthly: always a downgrade at the period end. It is never treated as an upgrade and
      never charged now (other billing systems are reported to do both; both are bugs).

    Raises `ValueError` when the two prices are in different currencies (a proration cannot mix them).
    """
    if current.currency != new.currency:
        raise ValueError(f"cannot change from a price in {current.currency} to a price in {new.currency}")
    _months(current.billing_period)
    _months(new.billing_period)
    if current.billing_period == new.billing_period:
        return "upgrade" if new.unit_amount > current.unit_amount else "downgrade"
    return "upgrade" if current.billing_period == "monthly" else "downgrade"


def next_period_end(
    start: datetime, billing_period: BillingPeriod, anchor_day: int | None = None
) -> datetime:
    """The end of the billing period that starts at `start`: one calendar month or year later, at the same
    time of day, on the billing cycle anchor's day of the month (`anchor_day`, 1-31; `start.day` when None)
    clamped to the month's last day. So an anchor of the 31st goes Jan 31 -> Feb 28 (29 in a leap year) ->
    Mar 31 -> Apr 30, as Stripe's billing cycle anchor does (docs "Set the subscription billing renewal date").

    `start` must be timezone-aware (Stripe's periods are UTC timestamps) and fall on the anchor day (or on
    its clamped day, e.g. Feb 28 for an anchor of 31). Raises `ValueError` otherwise, or for an unknown
    billing period or an anchor day outside 1-31.
    """
    _require_aware(start, "start")
    months = _months(billing_period)
    day = start.day if anchor_day is None else anchor_day
    if not 1 <= day <= 31:
        raise ValueError(f"anchor_day must be between 1 and 31, not {day}")
    if start.day != min(day, _last_day(start.year, start.month)):
        raise ValueError(f"{start.date()} is not a billing date of a cycle anchored on day {day}")
    year, month_index = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month_index + 1
    return start.replace(year=year, month=month, day=min(day, _last_day(year, month)))


def prorate(
    current: Price, new: Price, period_start: datetime, period_end: datetime, at: datetime
) -> ProrationQuote:
    """What an immediate upgrade from `current` to `new` at `at` costs, by Stripe's proration rules.

    Time is measured in whole seconds (Stripe's timestamps; sub-second parts are dropped), the fraction of
    the period left is `(period_end - at) / (period_end - period_start)`, and each line is rounded to the
    minor unit on its own:

    - same billing period: `credit = round(current.unit_amount x left)`,
      `charge = round(new.unit_amount x left)`; the period is unchanged.
    - monthly -> yearly: `credit = round(current.unit_amount x left)`, `charge = new.unit_amount` in full,
      and a new yearly period starts at `at` (Stripe resets the billing cycle anchor when the interval
      changes), ending `next_period_end(at, "yearly")`.

    Rounding is half up (x.5 minor units -> x+1; amounts are never negative, so this is also half away
    from zero). Stripe's proration pages do not name a tie rule; Stripe documents rounding to the nearest
    unit with halves going up for the amounts it does describe ("Rounding rules for Stripe fees": 0.025
    rounds to 0.03; tax rates: commercial rounding), and we apply the same to proration lines. Arithmetic
    is exact (`Fraction`), never floating point.

    Returns a `ProrationQuote` with `proration_date` = `at` to the second. Raises `ValueError` for prices in
    different currencies, a negative amount, a change `change_kind` calls a downgrade (it is applied at the
    period end with nothing to prorate), naive datetimes, an empty period, or `at` outside the period.
    """
    if change_kind(current, new) == "downgrade":
        raise ValueError(
            f"{current.billing_period} {current.unit_amount} -> {new.billing_period} {new.unit_amount} "
            "is a downgrade: it takes effect at the end of the period, without proration"
        )
    if current.unit_amount < 0 or new.unit_amount < 0:
        raise ValueError("prices cannot be negative")
    start, end = _seconds(period_start, "period_start"), _seconds(period_end, "period_end")
    now = _seconds(at, "at")
    if start >= end:
        raise ValueError("the billing period must end after it starts")
    if not start <= now <= end:
        raise ValueError("the change must happen within the billing period")
    left = Fraction(end - now, end - start)
    credit = _round_half_up(current.unit_amount * left)
    proration_date = _from_seconds(now, at)
    if current.billing_period == new.billing_period:
        return ProrationQuote(
            currency=current.currency,
            credit=credit,
            charge=_round_half_up(new.unit_amount * left),
            proration_date=proration_date,
            period_start=_from_seconds(start, period_start),
            period_end=_from_seconds(end, period_end),
        )
    return ProrationQuote(
        currency=current.currency,
        credit=credit,
        charge=new.unit_amount,
        proration_date=proration_date,
        period_start=proration_date,
        period_end=next_period_end(proration_date, new.billing_period),
    )


def _round_half_up(value: Fraction) -> int:
    """`value` (>= 0) rounded to the nearest integer, halves up: floor(value + 1/2)."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _months(billing_period: str) -> int:
    try:
        return _MONTHS[billing_period]
    except KeyError:
        raise ValueError(f"unknown billing period {billing_period!r}") from None


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _seconds(value: datetime, name: str) -> int:
    """Whole seconds since the Unix epoch (floor), as Stripe's integer timestamps count them."""
    _require_aware(value, name)
    return (value - _EPOCH) // _SECOND


def _from_seconds(seconds: int, like: datetime) -> datetime:
    """The instant `seconds` after the epoch, in `like`'s timezone."""
    return (_EPOCH + timedelta(seconds=seconds)).astimezone(like.tzinfo)
