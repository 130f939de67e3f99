"""The local payment provider without a database: test cards decide, calls are idempotent, events are
signed like Stripe's and reduced to what commerce acts on, renewals and changes follow proration.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cmp.commerce.local_payments import LocalPayments
from cmp.commerce.payment_model import CheckoutRequest, PaymentEvent, Price
from cmp.commerce.proration import prorate
from cmp.errors import NotFound, Unauthorized, ValidationFailed
from tests.fakes import FixedClock

from .memory import MemoryPaymentStore

SECRET = "whsec_unit_test"


def price(amount: int = 2900, period: str = "monthly", currency: str = "USD") -> Price:
    return Price("prod-1", "Support Agent", "plan_aaaaaaaaaaaa", "Starter", period, currency, amount)  # type: ignore[arg-type]


def request(card: str | None = None, order: str = "order-1") -> CheckoutRequest:
    return CheckoutRequest(
        order_id=order,
        tenant_id="tenant-1",
        customer_email="buyer@example.com",
        customer_ref=None,
        price=price(),
        success_url="https://portal.test/ok",
        cancel_url="https://portal.test/no",
        payment_method=card,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 1, 31, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def store() -> MemoryPaymentStore:
    return MemoryPaymentStore()


@pytest.fixture
def delivered() -> list[PaymentEvent]:
    return []


@pytest.fixture
def payments(store: MemoryPaymentStore, clock: FixedClock, delivered: list[PaymentEvent]) -> LocalPayments:
    return LocalPayments(store, lambda: SECRET, clock, delivered.append)


def test_the_default_card_pays_and_delivers_a_completed_checkout_with_its_first_period(
    payments: LocalPayments, delivered: list[PaymentEvent]
) -> None:
    session = payments.create_checkout(request())
    assert (session.status, session.payment_status, session.failure_reason) == ("complete", "paid", None)
    assert session.amount_total == 2900 and session.currency == "USD"
    assert session.subscription_ref and session.subscription_ref.startswith("sub_local_")
    [event] = delivered
    assert (event.kind, event.raw_type) == ("checkout.completed", "checkout.session.completed")
    assert (event.order_id, event.tenant_id, event.session_id) == ("order-1", "tenant-1", session.session_id)
    assert event.subscription_ref == session.subscription_ref
    # Anchored on the 31st: the first period ends on the last day of February (Stripe's billing anchor).
    assert (event.period_start, event.period_end) == (
        datetime(2026, 1, 31, 10, tzinfo=UTC),
        datetime(2026, 2, 28, 10, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("4000000000000002", "card_declined: the card was declined"),
        ("4000000000009995", "insufficient_funds: the card has insufficient funds"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds: the card has insufficient funds"),
    ],
)
def test_declining_cards_leave_the_session_unpaid_with_the_reason(
    payments: LocalPayments, delivered: list[PaymentEvent], card: str, reason: str
) -> None:
    session = payments.create_checkout(request(card))
    assert (session.status, session.payment_status, session.failure_reason) == ("complete", "unpaid", reason)
    assert session.subscription_ref is None
    [event] = delivered
    assert (event.kind, event.failure_reason, event.order_id) == ("payment.failed", reason, "order-1")


def test_an_unknown_card_is_a_422_at_payment_method(
    payments: LocalPayments, store: MemoryPaymentStore
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        payments.create_checkout(request("4111111111111111"))
    assert [e.path for e in refused.value.errors] == ["payment_method"]
    assert store.objects == {}


def test_a_retried_checkout_returns_the_first_session_and_charges_once(
    payments: LocalPayments, store: MemoryPaymentStore, delivered: list[PaymentEvent]
) -> None:
    first = payments.create_checkout(request())
    second = payments.create_checkout(request())
    assert second == first
    assert len(store.of_kind("checkout.session")) == 1 and len(store.of_kind("subscription")) == 1
    assert [e.event_id for e in delivered] == [delivered[0].event_id] * 2  # the same event, re-sent
    assert payments.retrieve_checkout(first.session_id) == first
    with pytest.raises(NotFound):
        payments.retrieve_checkout("cs_local_missing")


def test_a_delivery_that_fails_does_not_fail_the_checkout(
    store: MemoryPaymentStore, clock: FixedClock
) -> None:
    def broken(event: PaymentEvent) -> None:
        raise RuntimeError("database down")

    session = LocalPayments(store, lambda: SECRET, clock, broken).create_checkout(request())
    assert session.payment_status == "paid"


def test_events_are_signed_like_stripe_and_verified_with_a_tolerance(
    payments: LocalPayments, clock: FixedClock, delivered: list[PaymentEvent]
) -> None:
    payments.create_checkout(request())
    payload = payments.event_payload(delivered[0].event_id)
    header = payments.sign(payload)
    assert header.startswith(f"t={int(clock.now().timestamp())},v1=")
    assert payments.parse_event(payload, header) == delivered[0]

    for bad in (None, "", "t=1", "v1=abc", header.replace("v1=", "v1=0"), "t=x,v1=y"):
        with pytest.raises(Unauthorized):
            payments.parse_event(payload, bad)
    with pytest.raises(Unauthorized):
        payments.parse_event(payload.replace(b"order-1", b"order-2"), header)
    clock.advance(seconds=301)
    with pytest.raises(Unauthorized, match="too old"):
        payments.parse_event(payload, header)
    assert payments.parse_event(payload, payments.sign(payload)).event_id == delivered[0].event_id  # a replay


def test_a_card_that_fails_later_pays_the_checkout_and_fails_each_renewal_once(
    payments: LocalPayments, clock: FixedClock, delivered: list[PaymentEvent]
) -> None:
    session = payments.create_checkout(request("4000000000000341"))
    assert session.payment_status == "paid"
    ref = str(session.subscription_ref)
    start, end = datetime(2026, 2, 28, 10, tzinfo=UTC), datetime(2026, 3, 31, 10, tzinfo=UTC)
    failed = payments.charge_renewal(ref, price(), start, end)
    assert (failed.kind, failed.failure_reason) == ("payment.failed", "card_declined: the card was declined")
    assert failed.order_id == "order-1"
    assert payments.charge_renewal(ref, price(), start, end).event_id == failed.event_id


def test_a_renewal_is_charged_once_per_period(payments: LocalPayments, store: MemoryPaymentStore) -> None:
    ref = str(payments.create_checkout(request()).subscription_ref)
    start, end = datetime(2026, 2, 28, 10, tzinfo=UTC), datetime(2026, 3, 31, 10, tzinfo=UTC)
    paid = payments.charge_renewal(ref, price(3100), start, end)
    assert (paid.kind, paid.amount, paid.currency, paid.period_start, paid.period_end) == (
        "invoice.paid",
        3100,
        "USD",
        start,
        end,
    )
    assert payments.charge_renewal(ref, price(3100), start, end) == paid
    assert len([i for i in store.of_kind("invoice") if i["billing_reason"] == "subscription_cycle"]) == 1
    assert store.get(ref)["current_period_end"] == int(end.timestamp())  # type: ignore[index]


def test_changes_follow_stripe_proration_and_move_the_provider_subscription(
    payments: LocalPayments, store: MemoryPaymentStore, clock: FixedClock
) -> None:
    ref = str(payments.create_checkout(request()).subscription_ref)
    start, end = datetime(2026, 1, 31, 10, tzinfo=UTC), datetime(2026, 2, 28, 10, tzinfo=UTC)
    at = start + timedelta(days=7)
    expected = prorate(price(), price(9900), start, end, at)
    assert payments.quote_change(ref, price(), price(9900), start, end, at) == expected
    assert payments.change_now(ref, price(), price(9900), start, end, at) == expected
    stored = store.get(ref)
    assert stored is not None and stored["price"]["unit_amount"] == 9900
    payments.schedule_change(ref, price(900), end)
    assert store.get(ref)["schedule"]["effective"] == int(end.timestamp())  # type: ignore[index]
    payments.cancel(ref, at_period_end=True)
    assert store.get(ref)["cancel_at_period_end"] is True  # type: ignore[index]
    payments.cancel(ref, at_period_end=False)
    assert store.get(ref)["status"] == "canceled"  # type: ignore[index]
    with pytest.raises(NotFound):
        payments.change_now("sub_local_missing", price(), price(9900), start, end, at)


def test_a_payload_that_is_not_an_event_is_a_bad_request(payments: LocalPayments) -> None:
    from cmp.errors import BadRequest

    for payload in (b"not json", b"[]", json.dumps({"object": "event"}).encode()):
        with pytest.raises(BadRequest):
            payments.parse_event(payload, payments.sign(payload))
