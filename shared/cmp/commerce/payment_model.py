"""What the payments port speaks: prices, checkout sessions, provider events and proration quotes.

The shapes follow Stripe's objects (Price, Checkout Session, Event, upcoming-invoice proration lines) so the
Stripe adapter maps them one to one and the local provider imitates them. Amounts are integers in the
currency's minor unit (ISO 4217 exponent: JPY 0, USD 2, KWD 3); currencies are upper-case ISO 4217 codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

BillingPeriod = Literal["monthly", "yearly"]
CheckoutStatus = Literal["open", "complete", "expired"]
PaymentStatus = Literal["paid", "unpaid", "no_payment_required"]
EventKind = Literal[
    "checkout.completed",
    "checkout.expired",
    "payment.failed",
    "invoice.paid",
    "subscription.updated",
    "subscription.deleted",
    "charge.refunded",
    "ignored",
]


@dataclass(frozen=True)
class Price:
    """A recurring price of one plan of one product version (Stripe `Price` with `recurring.interval`).

    `lookup_key` identifies it across calls (`cmp:{product_id}:{plan_id}:{billing_period}:{currency}:{amount}`)
    so the provider finds an existing price instead of creating a duplicate.
    """

    product_id: str
    product_name: str
    plan_id: str
    plan_name: str
    billing_period: BillingPeriod
    currency: str
    unit_amount: int

    @property
    def lookup_key(self) -> str:
        return (
            f"cmp:{self.product_id}:{self.plan_id}:{self.billing_period}:{self.currency}:{self.unit_amount}"
        )


@dataclass(frozen=True)
class CheckoutRequest:
    """One buyer paying for one order.

    `metadata` is copied onto the session and onto the provider's subscription (Stripe
    `subscription_data.metadata`), so every later event names `order_id` and `tenant_id` even when it
    arrives before `checkout.session.completed`. `payment_method` is for the local provider only (a Stripe
    test card number or `pm_card_*` id); Stripe collects the card on its hosted page.
    """

    order_id: str
    tenant_id: str
    customer_email: str | None
    customer_ref: str | None
    price: Price
    success_url: str
    cancel_url: str
    payment_method: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutSession:
    """The provider's checkout session (Stripe `checkout.session`): where to send the buyer and its state."""

    provider: str
    session_id: str
    status: CheckoutStatus
    payment_status: PaymentStatus
    url: str | None
    customer_ref: str | None
    subscription_ref: str | None
    amount_total: int
    currency: str
    failure_reason: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True)
class PaymentEvent:
    """A provider event reduced to what commerce acts on.

    `event_id` is the provider's id (idempotency key: the same event is applied once). `created` orders
    events about one object (a stale `subscription.updated` is ignored). `order_id`/`tenant_id` come from
    the metadata set at checkout; `period_start`/`period_end` and `subscription_status` from subscription
    and invoice objects; `raw_type` is the provider's own type (e.g. `customer.subscription.updated`).
    """

    provider: str
    event_id: str
    raw_type: str
    kind: EventKind
    created: datetime
    order_id: str | None = None
    tenant_id: str | None = None
    session_id: str | None = None
    subscription_ref: str | None = None
    customer_ref: str | None = None
    subscription_status: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    amount: int | None = None
    currency: str | None = None
    failure_reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProrationQuote:
    """What a plan change costs now (Stripe proration invoice items).

    `credit` is the unused time on the old price (a non-negative amount refunded as a credit line),
    `charge` the remaining time on the new price, `amount_due = charge - credit` (negative: the buyer's
    balance is credited). `period_start`/`period_end` are the billing period after the change (a new period
    when the billing interval changes, as Stripe resets the billing cycle anchor).
    """

    currency: str
    credit: int
    charge: int
    proration_date: datetime
    period_start: datetime
    period_end: datetime

    @property
    def amount_due(self) -> int:
        return self.charge - self.credit
