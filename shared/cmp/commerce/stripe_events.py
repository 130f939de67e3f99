"""Stripe webhook events reduced to the `PaymentEvent`s commerce acts on. Pure: no I/O, no `stripe` import.

Events are read in both layouts a webhook endpoint may be pinned to: since API version 2025-03-31.basil an
invoice names its subscription and the subscription's metadata under `parent.subscription_details`, a
line item says whether it is a proration under `parent.*_details.proration`, and billing periods live on
subscription items (`items.data[].current_period_start/end`); before it, `invoice.subscription`,
`invoice.subscription_details.metadata`, `line.proration` and `subscription.current_period_*` (Stripe
changelog 2025-03-31.basil "Invoicing resources now specify how they were generated" and "Adds subscription
item-level billing periods").

Every event names `order_id` and `tenant_id` when the object carries the metadata set at checkout (the
session and, through `subscription_data.metadata`, the subscription and its invoices), so an event that
arrives before `checkout.session.completed` is still attributable. Duplicates keep their `event_id`; Stripe
sends `invoice.paid` and `invoice.payment_succeeded` for one paid invoice, both reduced to `invoice.paid`
with the invoice id in `data["invoice_id"]`, so consumers apply a period once per invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cmp.commerce.payment_model import EventKind, PaymentEvent
from cmp.errors import BadRequest

Reducer = Callable[[dict[str, Any], dict[str, Any]], PaymentEvent]


def reduce_event(event: Mapping[str, Any]) -> PaymentEvent:
    """The `PaymentEvent` for one Stripe event (a dict as Stripe sends it). Types commerce does not act on,
    and a completed checkout whose payment is still pending (`payment_status=unpaid`: a delayed method that
    reports later with `checkout.session.async_payment_succeeded` or `_failed`), are `ignored`.

    Raises `BadRequest` when `event` is not a Stripe event (object `event` with id, type, created and
    `data.object`)."""
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if (
        event.get("object") != "event"
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("created"), int)
        or not isinstance(obj, dict)
    ):
        raise BadRequest("the webhook payload is not a Stripe event")
    base: dict[str, Any] = {
        "provider": "stripe",
        "event_id": event["id"],
        "raw_type": event["type"],
        "created": from_timestamp(event["created"]),
    }
    reducer = _REDUCERS.get(event["type"])
    if reducer is None:
        return PaymentEvent(kind="ignored", **base)
    return reducer(base, obj)


def is_proration(line: Mapping[str, Any]) -> bool:
    """Whether an invoice line item is a proration, in either layout."""
    parent = line.get("parent") or {}
    details = parent.get(parent.get("type") or "") or {}
    return bool(details.get("proration") or line.get("proration"))


def _checkout(kind: EventKind, failure: str | None = None) -> Reducer:
    def reduce(base: dict[str, Any], session: dict[str, Any]) -> PaymentEvent:
        metadata = session.get("metadata") or {}
        completed_but_unpaid = kind == "checkout.completed" and session.get("payment_status") == "unpaid"
        return PaymentEvent(
            **base,
            kind="ignored" if completed_but_unpaid else kind,
            order_id=metadata.get("order_id") or session.get("client_reference_id"),
            tenant_id=metadata.get("tenant_id"),
            session_id=session.get("id"),
            subscription_ref=object_id(session.get("subscription")),
            customer_ref=object_id(session.get("customer")),
            amount=session.get("amount_total"),
            currency=_currency(session),
            failure_reason=failure,
            data={"payment_status": session.get("payment_status")},
        )

    return reduce


def _invoice(kind: EventKind) -> Reducer:
    def reduce(base: dict[str, Any], invoice: dict[str, Any]) -> PaymentEvent:
        details = (invoice.get("parent") or {}).get("subscription_details") or invoice.get(
            "subscription_details"
        )
        details = details or {}
        metadata = details.get("metadata") or {}
        period = _subscription_period(invoice)
        failed = kind == "payment.failed"
        return PaymentEvent(
            **base,
            kind=kind,
            order_id=metadata.get("order_id"),
            tenant_id=metadata.get("tenant_id"),
            subscription_ref=object_id(details.get("subscription") or invoice.get("subscription")),
            customer_ref=object_id(invoice.get("customer")),
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            amount=invoice.get("amount_due" if failed else "amount_paid"),
            currency=_currency(invoice),
            failure_reason=(
                f"the invoice payment failed (attempt {invoice.get('attempt_count') or 1})"
                if failed
                else None
            ),
            data={
                "invoice_id": invoice.get("id"),
                "billing_reason": invoice.get("billing_reason"),
                "next_payment_attempt": invoice.get("next_payment_attempt"),
            },
        )

    return reduce


def _subscription(kind: EventKind) -> Reducer:
    def reduce(base: dict[str, Any], subscription: dict[str, Any]) -> PaymentEvent:
        metadata = subscription.get("metadata") or {}
        items = (subscription.get("items") or {}).get("data") or [{}]
        item = items[0]
        price = item.get("price") or {}
        start = item.get("current_period_start") or subscription.get("current_period_start")
        end = item.get("current_period_end") or subscription.get("current_period_end")
        return PaymentEvent(
            **base,
            kind=kind,
            order_id=metadata.get("order_id"),
            tenant_id=metadata.get("tenant_id"),
            subscription_ref=subscription.get("id"),
            customer_ref=object_id(subscription.get("customer")),
            subscription_status=subscription.get("status"),
            period_start=from_timestamp(start) if start else None,
            period_end=from_timestamp(end) if end else None,
            currency=_currency(subscription),
            data={
                "cancel_at_period_end": subscription.get("cancel_at_period_end"),
                "price_id": price.get("id"),
                "price_lookup_key": price.get("lookup_key"),
                "schedule": object_id(subscription.get("schedule")),
                "pending_update": subscription.get("pending_update") is not None,
                "cancellation_reason": (subscription.get("cancellation_details") or {}).get("reason"),
            },
        )

    return reduce


def _refund(base: dict[str, Any], charge: dict[str, Any]) -> PaymentEvent:
    metadata = charge.get("metadata") or {}
    return PaymentEvent(
        **base,
        kind="charge.refunded",
        order_id=metadata.get("order_id"),
        tenant_id=metadata.get("tenant_id"),
        customer_ref=object_id(charge.get("customer")),
        amount=charge.get("amount_refunded"),
        currency=_currency(charge),
        data={
            "charge_id": charge.get("id"),
            "payment_intent": object_id(charge.get("payment_intent")),
            "fully_refunded": bool(charge.get("refunded")),
        },
    )


_REDUCERS: dict[str, Reducer] = {
    "checkout.session.completed": _checkout("checkout.completed"),
    "checkout.session.async_payment_succeeded": _checkout("checkout.completed"),
    "checkout.session.async_payment_failed": _checkout("payment.failed", "the delayed payment failed"),
    "checkout.session.expired": _checkout("checkout.expired"),
    "invoice.paid": _invoice("invoice.paid"),
    "invoice.payment_succeeded": _invoice("invoice.paid"),
    "invoice.payment_failed": _invoice("payment.failed"),
    "customer.subscription.updated": _subscription("subscription.updated"),
    "customer.subscription.deleted": _subscription("subscription.deleted"),
    "charge.refunded": _refund,
}


def _subscription_period(invoice: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """The billing period an invoice pays: its subscription line that is not a proration. (The invoice's own
    `period_start`/`period_end` describe the previous period for a renewal invoice, so they are not used.)"""
    for line in (invoice.get("lines") or {}).get("data") or []:
        if not is_proration(line) and line.get("period"):
            return from_timestamp(line["period"]["start"]), from_timestamp(line["period"]["end"])
    return None


def _currency(obj: Mapping[str, Any]) -> str | None:
    currency = obj.get("currency")
    return currency.upper() if isinstance(currency, str) else None


def object_id(value: Any) -> str | None:
    """An object's id whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


def from_timestamp(timestamp: int) -> datetime:
    """A Stripe timestamp (seconds since the Unix epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(timestamp, UTC)
