"""What commerce needs from outside: the payment provider (Stripe, or the local provider of `make run`).

Repository Protocols of the commerce unit of work are added beside it as the services need them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from cmp.commerce.payment_model import CheckoutRequest, CheckoutSession, PaymentEvent, Price, ProrationQuote


class PaymentProvider(Protocol):
    """A payment provider, shaped after Stripe Billing.

    Adapters turn vendor errors into domain errors: a declined card is not an error (the session comes back
    `complete`/`unpaid` with `failure_reason`, or a `payment.failed` event follows); an unreachable provider
    raises `cmp.errors.PaymentUnavailable` (503); a webhook with a bad signature raises `Unauthorized`.
    """

    name: str
    """`stripe` or `local`; stored on orders so events are matched to the provider that made them."""

    renews_itself: bool
    """True when the provider charges each new billing period itself and reports it by event (Stripe
    `invoice.paid`); False when the renewal job must call `charge_renewal` (the local provider)."""

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Open a checkout session in subscription mode for `request.price` (created or looked up by its
        `lookup_key`, never duplicated) and the customer (created when `customer_ref` is None)."""
        ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        """The session's current state (reconciliation asks this of orders left pending);
        raises `NotFound` for an unknown id."""
        ...

    def parse_event(self, payload: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify the webhook signature (Stripe: `stripe.Webhook.construct_event` with the endpoint secret
        and its default 300 s tolerance) and reduce the event; raises `Unauthorized` on a missing or bad
        signature and `BadRequest` on a payload that is not an event."""
        ...

    def quote_change(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """What changing from `current` to `new` at `at` costs now, by Stripe's proration rules
        (`cmp.commerce.proration`), without changing anything."""
        ...

    def change_now(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """Move the subscription to `new` at once, invoicing the proration (`proration_behavior=always_invoice`);
        returns what was charged or credited."""
        ...

    def schedule_change(self, subscription_ref: str, new: Price, effective: datetime) -> None:
        """Move the subscription to `new` from `effective` (the end of the current period), without proration
        (Stripe: a subscription schedule with a second phase)."""
        ...

    def cancel(self, subscription_ref: str, at_period_end: bool) -> None:
        """Cancel at the end of the current period (`cancel_at_period_end`) or at once."""
        ...

    def charge_renewal(
        self, subscription_ref: str, price: Price, period_start: datetime, period_end: datetime
    ) -> PaymentEvent:
        """Charge one new billing period (only called when `renews_itself` is False); returns the
        `invoice.paid` or `payment.failed` event it produced."""
        ...


class LocalPaymentStore(Protocol):
    """Where the local payment provider keeps its Stripe-shaped objects (a platform table behind SECURITY
    DEFINER functions: `cmp.commerce.payment_repository.LocalPaymentObjects`)."""

    def put(self, object_id: str, kind: str, data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Store a new object; when `idempotency_key` was used before, nothing is stored and the first
        object is returned instead."""
        ...

    def get(self, object_id: str) -> dict[str, Any] | None:
        """The object, or None."""
        ...

    def update(self, object_id: str, data: dict[str, Any]) -> None:
        """Replace the object's data."""
        ...
