"""What commerce needs from outside: the payment provider (Stripe, or the local provider of `make run`),
the local provider's store, and the repositories of the commerce unit of work (`CommerceUnitOfWork`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from cmp.commerce.model import Offer, Order, Subscription
from cmp.commerce.payment_model import CheckoutRequest, CheckoutSession, PaymentEvent, Price, ProrationQuote
from cmp.db.outbox import OutboxMessage


class PaymentProvider(Protocol):
    """A payment provider, shaped after Stripe Billing.

    Adapters turn vendor errors into domain errors: a card declined at checkout or renewal is not an error
    (the session comes back `complete`/`unpaid` with `failure_reason`, or a `payment.failed` event follows);
    a card declined on an immediate plan change (`change_now`) raises `ValidationFailed` at
    `payment_method` (422), since nothing changed; an unreachable provider
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


class OrderRepository(Protocol):
    """`cmp.commerce.repository.OrderRepository`."""

    def get(self, order_id: uuid.UUID, for_update: bool = False) -> Order: ...
    def add(self, order: Order) -> None: ...
    def save(self, order: Order) -> None: ...
    def by_idempotency_key(self, key: str) -> Order | None: ...
    def by_checkout_session(self, provider: str, session_id: str) -> Order | None: ...
    def paid_for(self, subscription_id: uuid.UUID) -> list[Order]: ...


class SubscriptionRepository(Protocol):
    """`cmp.commerce.repository.SubscriptionRepository`."""

    def get(self, subscription_id: uuid.UUID, for_update: bool = False) -> Subscription: ...
    def add(self, subscription: Subscription) -> None: ...
    def save(self, subscription: Subscription) -> None: ...
    def live_for_product(self, product_id: uuid.UUID) -> Subscription | None: ...
    def by_provider_ref(self, provider: str, subscription_ref: str) -> Subscription | None: ...
    def default_project(self, tenant_id: uuid.UUID) -> uuid.UUID: ...


class PaymentEventRepository(Protocol):
    def claim(self, event: PaymentEvent, tenant_id: uuid.UUID, order_id: uuid.UUID | None) -> bool: ...
    def owner(self, event: PaymentEvent) -> tuple[uuid.UUID, uuid.UUID | None] | None: ...


class PaymentCustomerRepository(Protocol):
    def get(self, tenant_id: uuid.UUID, provider: str) -> str | None: ...
    def email_of(self, user_id: uuid.UUID) -> str | None: ...
    def add(self, tenant_id: uuid.UUID, provider: str, customer_ref: str) -> None: ...


class OfferRepository(Protocol):
    def find(self, product: str) -> Offer: ...
    def version_plans(self, product_id: uuid.UUID, version: str) -> list[dict[str, Any]]: ...
    def published_version(self, product_id: uuid.UUID, version: str) -> dict[str, Any] | None: ...
    def refresh_subscriber_count(self, product_id: uuid.UUID) -> None: ...


class ReconciliationRepository(Protocol):
    def open(
        self,
        kind: str,
        reason: str,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID | None = None,
        subscription_id: uuid.UUID | None = None,
    ) -> bool: ...
    def resolve(self, kind: str, subject_id: uuid.UUID) -> bool: ...


class BillingScans(Protocol):
    def due_subscriptions(
        self, provider: str, now: datetime, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]: ...
    def stale_orders(self, cutoff: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]: ...
    def unpaid_subscriptions(self, cutoff: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]: ...


class Outbox(Protocol):
    def add(self, message: OutboxMessage) -> None: ...


class CommerceUnitOfWork(Protocol):
    """The unit of work as commerce services use it (`cmp.db.uow.UnitOfWork`)."""

    orders: OrderRepository
    subscriptions: SubscriptionRepository
    payment_events: PaymentEventRepository
    payment_customers: PaymentCustomerRepository
    offers: OfferRepository
    reconciliation: ReconciliationRepository
    billing_scans: BillingScans

    @property
    def outbox(self) -> Outbox: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


CommerceUnitOfWorkFactory = Callable[..., AbstractContextManager[CommerceUnitOfWork]]
"""`uow_factory(tenant_id=None)`: opens a (tenant-scoped) commerce unit of work."""
