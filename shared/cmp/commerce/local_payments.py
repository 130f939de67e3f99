"""The local payment provider: the default of `make run`, no network, behaving like Stripe for commerce.

Stripe's test cards decide the outcome (docs.stripe.com/testing): `4242424242424242` / `pm_card_visa` pays
(the default when no card is given), `4000000000000002` / `pm_card_chargeDeclined` is declined
(`card_declined`), `4000000000009995` / `pm_card_chargeDeclinedInsufficientFunds` is declined for
`insufficient_funds`, and `4000000000000341` / `pm_card_chargeCustomerFail` pays at checkout but fails every
later renewal. Any other card is refused (422 at `payment_method`).

A checkout completes at once: the session comes back `complete` and `paid` (with a subscription whose first
period starts now), or `complete` and `unpaid` with `failure_reason`. Like Stripe, the provider then sends an
event (`checkout.session.completed` or `checkout.session.async_payment_failed`); instead of an HTTP webhook
it hands the event to `deliver` (commerce's event application) in the same process. An event that could
not be delivered is not lost: reconciliation asks `retrieve_checkout` about orders left pending.

Objects (customers, sessions, subscriptions, invoices, events) are JSON shaped like Stripe's, stored through
a `LocalPaymentStore` with Stripe-like ids (`cus_local_…`, `cs_local_…`, `sub_local_…`, `in_local_…`,
`evt_local_…`). Calls that create something take an idempotency key, so a retried checkout or a renewal
charged twice (two billing jobs at once) returns the first result. Events are signed like Stripe's
(`Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">`, 300 s tolerance), so a stored event
re-signed with `sign` is accepted by `POST /v1/payments/webhooks/local` (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cmp.commerce.payment_model import (
    CheckoutRequest,
    CheckoutSession,
    EventKind,
    PaymentEvent,
    Price,
    ProrationQuote,
)
from cmp.commerce.ports import LocalPaymentStore
from cmp.commerce.proration import next_period_end, prorate
from cmp.errors import BadRequest, FieldError, NotFound, Unauthorized, ValidationFailed
from cmp.ports import Clock

log = logging.getLogger(__name__)

DEFAULT_CARD = "pm_card_visa"
SIGNATURE_TOLERANCE_SECONDS = 300
"""Stripe's default tolerance for a webhook signature's timestamp (`stripe.Webhook.construct_event`)."""

_DECLINES = {
    "card_declined": "card_declined: the card was declined",
    "insufficient_funds": "insufficient_funds: the card has insufficient funds",
}
TEST_CARDS: dict[str, tuple[str | None, str | None]] = {
    "4242424242424242": (None, None),
    "pm_card_visa": (None, None),
    "4000000000000002": ("card_declined", "card_declined"),
    "pm_card_chargeDeclined": ("card_declined", "card_declined"),
    "4000000000009995": ("insufficient_funds", "insufficient_funds"),
    "pm_card_chargeDeclinedInsufficientFunds": ("insufficient_funds", "insufficient_funds"),
    "4000000000000341": (None, "card_declined"),
    "pm_card_chargeCustomerFail": (None, "card_declined"),
}
"""Card → (decline code at checkout, decline code at a later renewal); None pays."""

_EVENT_KINDS: dict[str, EventKind] = {
    "checkout.session.completed": "checkout.completed",
    "checkout.session.async_payment_succeeded": "checkout.completed",
    "checkout.session.async_payment_failed": "payment.failed",
    "checkout.session.expired": "checkout.expired",
    "invoice.paid": "invoice.paid",
    "invoice.payment_failed": "payment.failed",
    "customer.subscription.updated": "subscription.updated",
    "customer.subscription.deleted": "subscription.deleted",
    "charge.refunded": "charge.refunded",
}


def _timestamp(when: datetime) -> int:
    return int(when.timestamp())


def _datetime(seconds: Any) -> datetime | None:
    return datetime.fromtimestamp(int(seconds), UTC) if isinstance(seconds, int) else None


def _new_id(prefix: str) -> str:
    return f"{prefix}_local_{secrets.token_hex(12)}"


def card_outcome(payment_method: str | None) -> tuple[str | None, str | None]:
    """(decline code at checkout, decline code at renewals) of a test card; raises ValidationFailed at
    `payment_method` for a card that is not one of `TEST_CARDS`."""
    card = (payment_method or DEFAULT_CARD).replace(" ", "")
    if card not in TEST_CARDS:
        raise ValidationFailed(
            "the local payment provider only knows Stripe's test cards",
            errors=[
                FieldError(
                    "payment_method",
                    "use 4242424242424242 (pays), 4000000000000002 (declined), 4000000000009995 "
                    "(insufficient funds) or 4000000000000341 (pays now, fails renewals), or their "
                    "pm_card_* ids",
                )
            ],
        )
    return TEST_CARDS[card]


class LocalPayments:
    """`PaymentProvider` without a network: Stripe-shaped objects in a `LocalPaymentStore`.

    `secret` returns the webhook signing secret; `deliver` receives each checkout event as Stripe would
    send it to the webhook (commerce's event application; None: events are only stored).
    """

    name = "local"
    renews_itself = False

    def __init__(
        self,
        store: LocalPaymentStore,
        secret: Callable[[], str],
        clock: Clock,
        deliver: Callable[[PaymentEvent], object] | None = None,
    ) -> None:
        self._store = store
        self._secret = secret
        self._clock = clock
        self.deliver = deliver

    # ------------------------------------------------------------------------------------------ checkout
    # The completion event carries the subscription expanded (Stripe's `expand[]=subscription`), so the
    # first billing period is the provider's, to the second.
    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Pay for `request.price` with `request.payment_method` at once; a retry for the same order returns
        the first session (and charges nothing twice). Raises ValidationFailed for an unknown card."""
        decline, renewal_decline = card_outcome(request.payment_method)
        now = self._clock.now()
        metadata = {**request.metadata, "order_id": request.order_id, "tenant_id": request.tenant_id}
        customer = (
            request.customer_ref
            or self._put(
                "cus",
                "customer",
                {
                    "object": "customer",
                    "email": request.customer_email,
                    "metadata": {"tenant_id": request.tenant_id},
                },
                f"customer:{request.order_id}",
            )["id"]
        )
        subscription: dict[str, Any] | None = None
        if decline is None:
            start = now.replace(microsecond=0)
            subscription = self._put(
                "sub",
                "subscription",
                {
                    "object": "subscription",
                    "status": "active",
                    "customer": customer,
                    "default_payment_method": request.payment_method or DEFAULT_CARD,
                    "renewal_decline": renewal_decline,
                    "price": _price_object(request.price),
                    "current_period_start": _timestamp(start),
                    "current_period_end": _timestamp(next_period_end(start, request.price.billing_period)),
                    "billing_cycle_anchor_day": start.day,
                    "cancel_at_period_end": False,
                    "metadata": metadata,
                },
                f"subscription:{request.order_id}",
            )
        session = self._put(
            "cs",
            "checkout.session",
            {
                "object": "checkout.session",
                "mode": "subscription",
                "status": "complete",
                "payment_status": "unpaid" if decline else "paid",
                "customer": customer,
                "subscription": subscription["id"] if subscription else None,
                "amount_total": request.price.unit_amount,
                "currency": request.price.currency.lower(),
                "failure_reason": _DECLINES[decline] if decline else None,
                "success_url": request.success_url,
                "cancel_url": request.cancel_url,
                "metadata": metadata,
            },
            f"checkout:{request.order_id}",
        )
        kind = "checkout.session.async_payment_failed" if decline else "checkout.session.completed"
        expanded = {**session, "subscription": subscription} if decline is None else session
        event = self._event(kind, expanded, f"{session['id']}:{kind}")
        if self.deliver is not None:
            try:
                self.deliver(event)
            except Exception:
                log.exception(
                    "local payment event not applied; reconciliation will complete the order",
                    extra={"event_id": event.event_id, "order_id": request.order_id},
                )
        return _session(session)

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        """The stored session; raises NotFound for an unknown id."""
        stored = self._store.get(session_id)
        if stored is None or stored.get("object") != "checkout.session":
            raise NotFound(f"no checkout session {session_id}")
        return _session(stored)

    # ------------------------------------------------------------------------------------------ events
    def sign(self, payload: bytes, at: datetime | None = None) -> str:
        """A `Stripe-Signature` header for `payload` signed at `at` (now by default)."""
        timestamp = _timestamp(at or self._clock.now())
        return f"t={timestamp},v1={self._signature(timestamp, payload)}"

    def event_payload(self, event_id: str) -> bytes:
        """The stored event's JSON as the webhook receives it; raises NotFound."""
        stored = self._store.get(event_id)
        if stored is None or stored.get("object") != "event":
            raise NotFound(f"no event {event_id}")
        return json.dumps(stored, sort_keys=True).encode()

    def parse_event(self, payload: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify the signature (Unauthorized when missing, wrong or older than 300 s) and reduce the event
        (BadRequest when the payload is not an event)."""
        self._verify(payload, signature_header)
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadRequest("the webhook payload is not JSON") from e
        if not isinstance(document, dict) or document.get("object") != "event":
            raise BadRequest("the webhook payload is not an event")
        try:
            return _reduce(document)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadRequest(f"the webhook payload is not a valid event ({type(e).__name__})") from e

    def _verify(self, payload: bytes, header: str | None) -> None:
        if not header:
            raise Unauthorized("the webhook has no Stripe-Signature header")
        parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
        timestamps = [v for k, v in parts if k.strip() == "t"]
        signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
        if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
            raise Unauthorized("the Stripe-Signature header is malformed")
        timestamp = int(timestamps[0])
        expected = self._signature(timestamp, payload)
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise Unauthorized("the webhook signature does not match")
        if abs(_timestamp(self._clock.now()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise Unauthorized("the webhook signature is too old")

    def _signature(self, timestamp: int, payload: bytes) -> str:
        signed = f"{timestamp}.".encode() + payload
        return hmac.new(self._secret().encode(), signed, hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------------------------------ changes
    def quote_change(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """Stripe's proration for an immediate change (`cmp.commerce.proration.prorate`); changes nothing."""
        self._subscription(subscription_ref)
        return prorate(current, new, period_start, period_end, at)

    def change_now(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """Move the subscription to `new` now and invoice the proration (recorded as a paid invoice)."""
        subscription = self._subscription(subscription_ref)
        quote = prorate(current, new, period_start, period_end, at)
        self._put(
            "in",
            "invoice",
            {
                "object": "invoice",
                "status": "paid",
                "billing_reason": "subscription_update",
                "subscription": subscription_ref,
                "customer": subscription["customer"],
                "amount_paid": max(quote.amount_due, 0),
                "amount_due": quote.amount_due,
                "currency": quote.currency.lower(),
                "lines": {"credit": quote.credit, "charge": quote.charge},
            },
            f"change:{subscription_ref}:{_timestamp(at)}:{new.lookup_key}",
        )
        subscription.update(
            price=_price_object(new),
            current_period_start=_timestamp(quote.period_start),
            current_period_end=_timestamp(quote.period_end),
            billing_cycle_anchor_day=quote.period_start.day,
            schedule=None,
        )
        self._store.update(subscription_ref, subscription)
        return quote

    def schedule_change(self, subscription_ref: str, new: Price, effective: datetime) -> None:
        """Record that `new` applies from `effective` (the renewal job charges it then)."""
        subscription = self._subscription(subscription_ref)
        subscription["schedule"] = {"price": _price_object(new), "effective": _timestamp(effective)}
        self._store.update(subscription_ref, subscription)

    def cancel(self, subscription_ref: str, at_period_end: bool) -> None:
        """Cancel at the period end or at once."""
        subscription = self._subscription(subscription_ref)
        if at_period_end:
            subscription["cancel_at_period_end"] = True
        else:
            subscription.update(status="canceled", canceled_at=_timestamp(self._clock.now()))
        subscription["schedule"] = None
        self._store.update(subscription_ref, subscription)

    def charge_renewal(
        self, subscription_ref: str, price: Price, period_start: datetime, period_end: datetime
    ) -> PaymentEvent:
        """Charge the period [`period_start`, `period_end`) once (a second call for the same period returns
        the first event): `invoice.paid`, or `payment.failed` for a card that fails renewals."""
        subscription = self._subscription(subscription_ref)
        decline = subscription.get("renewal_decline")
        invoice = self._put(
            "in",
            "invoice",
            {
                "object": "invoice",
                "status": "open" if decline else "paid",
                "billing_reason": "subscription_cycle",
                "subscription": subscription_ref,
                "customer": subscription["customer"],
                "amount_due": price.unit_amount,
                "amount_paid": 0 if decline else price.unit_amount,
                "currency": price.currency.lower(),
                "period_start": _timestamp(period_start),
                "period_end": _timestamp(period_end),
                "failure_reason": _DECLINES[decline] if decline else None,
                "subscription_details": {"metadata": subscription.get("metadata", {})},
            },
            f"renewal:{subscription_ref}:{_timestamp(period_start)}",
        )
        if not decline and subscription.get("current_period_end", 0) < invoice["period_end"]:
            subscription.update(
                price=_price_object(price),
                current_period_start=invoice["period_start"],
                current_period_end=invoice["period_end"],
                status="active",
            )
            self._store.update(subscription_ref, subscription)
        kind = "invoice.payment_failed" if decline else "invoice.paid"
        return self._event(kind, invoice, f"{invoice['id']}:{kind}")

    # ------------------------------------------------------------------------------------------ store
    def _put(self, prefix: str, kind: str, data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        object_id = _new_id(prefix)
        return self._store.put(object_id, kind, {"id": object_id, **data}, idempotency_key)

    def _subscription(self, subscription_ref: str) -> dict[str, Any]:
        stored = self._store.get(subscription_ref)
        if stored is None or stored.get("object") != "subscription":
            raise NotFound(f"no subscription {subscription_ref}")
        return stored

    def _event(self, kind: str, obj: dict[str, Any], idempotency_key: str) -> PaymentEvent:
        event = self._put(
            "evt",
            "event",
            {
                "object": "event",
                "type": kind,
                "created": _timestamp(self._clock.now()),
                "data": {"object": obj},
            },
            idempotency_key,
        )
        return _reduce(event)


def _price_object(price: Price) -> dict[str, Any]:
    return {
        "lookup_key": price.lookup_key,
        "unit_amount": price.unit_amount,
        "currency": price.currency.lower(),
        "recurring": {"interval": "month" if price.billing_period == "monthly" else "year"},
        "product": price.product_id,
        "nickname": price.plan_name,
    }


def _session(stored: dict[str, Any]) -> CheckoutSession:
    return CheckoutSession(
        provider=LocalPayments.name,
        session_id=stored["id"],
        status=stored["status"],
        payment_status=stored["payment_status"],
        url=None,
        customer_ref=stored.get("customer"),
        subscription_ref=stored.get("subscription"),
        amount_total=int(stored["amount_total"]),
        currency=str(stored["currency"]).upper(),
        failure_reason=stored.get("failure_reason"),
    )


def _reduce(event: dict[str, Any]) -> PaymentEvent:
    """A stored (Stripe-shaped) event reduced to what commerce acts on."""
    raw_type = str(event["type"])
    obj: dict[str, Any] = event["data"]["object"]
    kind = obj.get("object")
    metadata = obj.get("metadata") or (obj.get("subscription_details") or {}).get("metadata") or {}
    subscription = obj.get("subscription")
    expanded: dict[str, Any] = subscription if isinstance(subscription, dict) else {}
    period_start = obj.get(
        "current_period_start", obj.get("period_start", expanded.get("current_period_start"))
    )
    period_end = obj.get("current_period_end", obj.get("period_end", expanded.get("current_period_end")))
    amount = obj.get("amount_total", obj.get("amount_paid", obj.get("amount_refunded")))
    currency = obj.get("currency")
    return PaymentEvent(
        provider=LocalPayments.name,
        event_id=str(event["id"]),
        raw_type=raw_type,
        kind=_EVENT_KINDS.get(raw_type, "ignored"),
        created=datetime.fromtimestamp(int(event["created"]), UTC),
        order_id=metadata.get("order_id"),
        tenant_id=metadata.get("tenant_id"),
        session_id=obj["id"] if kind == "checkout.session" else None,
        subscription_ref=obj["id"] if kind == "subscription" else expanded.get("id", subscription),
        customer_ref=obj.get("customer"),
        subscription_status=obj.get("status") if kind == "subscription" else None,
        period_start=_datetime(period_start),
        period_end=_datetime(period_end),
        amount=int(amount) if isinstance(amount, int) else None,
        currency=str(currency).upper() if currency else None,
        failure_reason=obj.get("failure_reason"),
        data={"object": kind, "billing_reason": obj.get("billing_reason")},
    )
