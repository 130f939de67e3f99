"""Stripe events reduced to `PaymentEvent`s, from recorded event shapes in both API layouts, including
events that arrive out of order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cmp.commerce.payment_model import PaymentEvent
from cmp.commerce.stripe_events import is_proration, reduce_event
from cmp.errors import BadRequest
from tests.unit.commerce.stripe_http import fixture

TENANT = "0b0c0d0e-0000-4000-8000-000000000001"
ORDER = "5f1e2d3c-0000-4000-8000-0000000000a1"
CUSTOMER = "cus_RkT3pXw9bQ2mZa"
SUB = "sub_1QkU2hB7WZ01zgkWv4Ns8Dq1"
SESSION = "cs_test_a1Vq8pGXzL2m4eKJcR7tY9wB3nD6fH0sQ5uE1iO"
JAN1, FEB1, MAR1 = (datetime(2025, m, 1, tzinfo=UTC) for m in (1, 2, 3))


def event(name: str) -> PaymentEvent:
    return reduce_event(fixture(f"events/{name}"))


def test_checkout_completed_and_paid() -> None:
    e = event("checkout.session.completed")
    assert (e.provider, e.raw_type, e.kind) == ("stripe", "checkout.session.completed", "checkout.completed")
    assert (e.order_id, e.tenant_id, e.session_id) == (ORDER, TENANT, SESSION)
    assert (e.subscription_ref, e.customer_ref) == (SUB, CUSTOMER)
    assert (e.amount, e.currency) == (2900, "USD")
    assert e.created == datetime.fromtimestamp(1735689630, UTC)


def test_checkout_completed_with_the_payment_pending_waits_for_the_async_result() -> None:
    assert event("checkout.session.completed.unpaid").kind == "ignored"
    succeeded = event("checkout.session.async_payment_succeeded")
    assert (succeeded.kind, succeeded.order_id, succeeded.subscription_ref) == (
        "checkout.completed",
        ORDER,
        SUB,
    )
    failed = event("checkout.session.async_payment_failed")
    assert (failed.kind, failed.order_id, failed.failure_reason) == (
        "payment.failed",
        ORDER,
        "the delayed payment failed",
    )


def test_checkout_expired() -> None:
    e = event("checkout.session.expired")
    assert (e.kind, e.order_id, e.tenant_id, e.session_id, e.subscription_ref) == (
        "checkout.expired",
        ORDER,
        TENANT,
        SESSION,
        None,
    )


def test_checkout_falls_back_to_the_client_reference_id() -> None:
    raw = fixture("events/checkout.session.completed")
    raw["data"]["object"]["metadata"] = {}
    e = reduce_event(raw)
    assert (e.order_id, e.tenant_id) == (ORDER, None)


def test_invoice_paid_in_the_current_layout() -> None:
    e = event("invoice.paid")
    assert (e.kind, e.order_id, e.tenant_id) == ("invoice.paid", ORDER, TENANT)
    assert (e.subscription_ref, e.customer_ref, e.amount, e.currency) == (SUB, CUSTOMER, 2900, "USD")
    # the period paid for comes from the subscription line, not from the invoice's own (previous) period
    assert (e.period_start, e.period_end) == (FEB1, MAR1)
    assert e.data["invoice_id"] == "in_1QkX0aB7WZ01zgkWrenew01"
    assert e.data["billing_reason"] == "subscription_cycle"


def test_invoice_payment_succeeded_in_the_layout_before_2025_03_31() -> None:
    """Older endpoints send `invoice.subscription`, `invoice.subscription_details.metadata` and
    `line.proration`: the same invoice reduces to the same facts."""
    legacy, current = event("invoice.payment_succeeded.legacy"), event("invoice.paid")
    assert legacy.kind == "invoice.paid"
    assert legacy.event_id != current.event_id
    for name in (
        "order_id",
        "tenant_id",
        "subscription_ref",
        "customer_ref",
        "period_start",
        "period_end",
        "amount",
    ):
        assert getattr(legacy, name) == getattr(current, name), name
    assert legacy.data["invoice_id"] == current.data["invoice_id"]  # one invoice, two events: apply it once


def test_invoice_payment_failed() -> None:
    e = event("invoice.payment_failed")
    assert (e.kind, e.order_id, e.subscription_ref, e.amount) == ("payment.failed", ORDER, SUB, 2900)
    assert e.failure_reason == "the invoice payment failed (attempt 2)"
    assert e.data["next_payment_attempt"] == 1738368000 + 3 * 86400


def test_subscription_updated_in_the_current_layout() -> None:
    e = event("customer.subscription.updated")
    assert (e.kind, e.order_id, e.tenant_id, e.subscription_ref) == (
        "subscription.updated",
        ORDER,
        TENANT,
        SUB,
    )
    assert (e.subscription_status, e.period_start, e.period_end) == ("active", JAN1, FEB1)
    assert e.data["price_id"] == "price_1QkT4wB7WZ01zgkW8sLx2fRt"
    assert e.data["price_lookup_key"] == "cmp:7a7a7a7a-0000-4000-8000-000000000001:starter:monthly:USD:2900"
    assert (e.data["cancel_at_period_end"], e.data["pending_update"], e.data["schedule"]) == (
        False,
        False,
        None,
    )


def test_subscription_updated_in_the_layout_before_2025_03_31() -> None:
    e = event("customer.subscription.updated.legacy")
    assert (e.kind, e.subscription_status, e.order_id) == ("subscription.updated", "past_due", ORDER)
    assert (e.period_start, e.period_end) == (JAN1, FEB1)


def test_subscription_deleted() -> None:
    e = event("customer.subscription.deleted")
    assert (e.kind, e.subscription_status, e.order_id, e.tenant_id) == (
        "subscription.deleted",
        "canceled",
        ORDER,
        TENANT,
    )
    assert e.data["cancellation_reason"] == "cancellation_requested"


def test_charge_refunded() -> None:
    e = event("charge.refunded")
    assert (e.kind, e.amount, e.currency, e.customer_ref) == ("charge.refunded", 2900, "USD", CUSTOMER)
    assert e.data == {
        "charge_id": "ch_3QkU2hB7WZ01zgkW0v1Lr8sN",
        "payment_intent": "pi_3QkU2hB7WZ01zgkW0Gq3Tz1V",
        "fully_refunded": True,
    }


def test_other_types_are_ignored() -> None:
    e = event("customer.created")
    assert (e.kind, e.raw_type, e.event_id) == ("ignored", "customer.created", "evt_1QkU2fB7WZ01zgkWcustomer")
    assert e.order_id is None


def test_a_subscription_update_before_the_checkout_still_names_the_order() -> None:
    """Stripe does not order deliveries: the subscription's first update (created a second before the
    session completed) may come first. It carries the checkout's metadata through
    `subscription_data.metadata`, so it names the same order, tenant and subscription, and `created` says
    which happened first."""
    early = event("customer.subscription.updated")
    late = event("checkout.session.completed")
    assert (early.order_id, early.tenant_id, early.subscription_ref) == (
        late.order_id,
        late.tenant_id,
        late.subscription_ref,
    )
    assert early.created < late.created


def test_invoice_events_of_one_subscription_name_its_order_without_the_session() -> None:
    for name in ("invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded.legacy"):
        e = event(name)
        assert (e.order_id, e.tenant_id, e.subscription_ref) == (ORDER, TENANT, SUB), name


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"object": "event", "id": "evt_1", "type": "invoice.paid", "created": 1},
        {
            "object": "event",
            "id": "evt_1",
            "type": "invoice.paid",
            "created": "yesterday",
            "data": {"object": {}},
        },
        {"object": "event", "id": 7, "type": "invoice.paid", "created": 1, "data": {"object": {}}},
        {"object": "invoice", "id": "in_1", "type": "invoice.paid", "created": 1, "data": {"object": {}}},
        {"object": "event", "id": "evt_1", "type": "invoice.paid", "created": 1, "data": []},
    ],
)
def test_what_is_not_an_event_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(BadRequest, match="not a Stripe event"):
        reduce_event(broken)


def test_proration_lines_in_both_layouts() -> None:
    current = fixture("responses/invoice_preview_yearly")["lines"]["data"]
    assert [is_proration(line) for line in current] == [True, False]
    assert is_proration({"amount": -100, "proration": True})
    assert not is_proration({"amount": 2900, "proration": False, "type": "subscription"})
