"""Payment events on real PostgreSQL: applied once (claimed in the same transaction as their effect),
whatever their order, duplicates and replays harmless, stale updates ignored, unknown orders a no-op."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services, bootstrap
from cmp.commerce.checkout import CheckoutInput
from cmp.commerce.payment_model import PaymentEvent
from cmp.config import Settings
from cmp.db import Database

from .commerce_support import new_tenant, plan, publish
from .conftest import FAST_HASHER, Postgres, caller_of


@pytest.fixture
def services(db: Database, aws: None, fresh_outbox: None) -> Services:
    settings = Settings(jwt_issuer="https://auth.test", jwt_audience="cmp-test")
    return bootstrap(
        settings,
        db=db,
        hasher=FAST_HASHER,
        jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
        local_payments_secret=lambda: "whsec_test",
    )


@pytest.fixture
def captured(services: Services) -> list[PaymentEvent]:
    """The local provider's events, held back instead of applied (as a webhook not yet delivered)."""
    events: list[PaymentEvent] = []
    services.payments.deliver = events.append  # type: ignore[attr-defined]
    return events


@pytest.fixture
def offer(db: Database) -> dict[str, Any]:
    return publish(db, new_tenant(db), [plan("Starter", "starter", "20.00"), plan("Pro", "pro", "50.00")])


def _pending(
    services: Services, offer: dict[str, Any], card: str | None = None
) -> tuple[dict[str, str], uuid.UUID]:
    buyer = caller_of(services, "Buyer", "buyer")
    order_id = services.checkout.checkout(
        buyer["tenant_id"],
        buyer["user_id"],
        CheckoutInput(offer["slug"], offer["plans"][0]["id"], "monthly", card),
    )
    return buyer, order_id


def _one(owner_conn: psycopg.Connection[Any], query: str, *params: Any) -> list[dict[str, Any]]:
    return owner_conn.cursor(row_factory=psycopg.rows.dict_row).execute(query, params).fetchall()


def test_an_event_applies_once_however_often_it_arrives(
    services: Services,
    captured: list[PaymentEvent],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, order_id = _pending(services, offer)
    [completed] = captured
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "pending"

    first = services.payment_events.apply(completed)
    assert (first.applied, first.outcome, first.order_id) == (True, "applied", order_id)
    for _ in range(3):
        again = services.payment_events.apply(completed)
        assert (again.applied, again.outcome) == (False, "duplicate")
    assert len(_one(owner_conn, "select id from subscriptions where tenant_id = %s", buyer["tenant_id"])) == 1
    assert len(_one(owner_conn, "select * from payment_events where tenant_id = %s", buyer["tenant_id"])) == 1
    order = services.commerce_views.order(buyer["tenant_id"], order_id)
    assert order["status"] == "active" and order["subscription_id"] == str(first.subscription_id)


def test_a_failed_effect_releases_the_claim_so_the_next_delivery_applies_it(
    services: Services,
    captured: list[PaymentEvent],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buyer, order_id = _pending(services, offer)
    from cmp.commerce.repository import SubscriptionRepository

    real_add = SubscriptionRepository.add

    def broken(self: SubscriptionRepository, subscription: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SubscriptionRepository, "add", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        services.payment_events.apply(captured[0])
    assert _one(owner_conn, "select * from payment_events where tenant_id = %s", buyer["tenant_id"]) == []
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "pending"

    monkeypatch.setattr(SubscriptionRepository, "add", real_add)
    assert services.payment_events.apply(captured[0]).applied
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "active"


def test_an_active_subscription_update_before_the_checkout_completion_completes_the_purchase(
    services: Services,
    captured: list[PaymentEvent],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, order_id = _pending(services, offer)
    [completed] = captured
    early = replace(
        completed,
        event_id="evt_updated_early",
        raw_type="customer.subscription.updated",
        kind="subscription.updated",
        session_id=None,
        subscription_status="active",
        created=completed.created - timedelta(seconds=1),
    )
    assert services.payment_events.apply(early).outcome == "applied"
    late = services.payment_events.apply(completed)
    assert (late.applied, late.outcome) == (False, "ignored")
    [subscription] = _one(owner_conn, "select * from subscriptions where tenant_id = %s", buyer["tenant_id"])
    assert subscription["status"] == "active"
    assert subscription["provider_subscription_ref"] == completed.subscription_ref
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "active"


def test_stale_updates_are_ignored_and_periods_only_move_forward(
    services: Services,
    captured: list[PaymentEvent],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, _ = _pending(services, offer)
    [completed] = captured
    services.payment_events.apply(completed)
    assert completed.period_end is not None and completed.period_start is not None
    past_due = replace(
        completed,
        event_id="evt_past_due",
        raw_type="customer.subscription.updated",
        kind="subscription.updated",
        session_id=None,
        subscription_status="past_due",
        created=completed.created + timedelta(minutes=5),
    )
    assert services.payment_events.apply(past_due).outcome == "applied"
    stale = replace(
        past_due, event_id="evt_stale_active", subscription_status="active", created=completed.created
    )
    assert services.payment_events.apply(stale).outcome == "stale"
    [subscription] = _one(owner_conn, "select * from subscriptions where tenant_id = %s", buyer["tenant_id"])
    assert subscription["status"] == "past_due"

    renewed_end = completed.period_end + timedelta(days=31)
    paid = replace(
        completed,
        event_id="evt_invoice_paid",
        raw_type="invoice.paid",
        kind="invoice.paid",
        session_id=None,
        period_start=completed.period_end,
        period_end=renewed_end,
        amount=2000,
        created=completed.created + timedelta(minutes=10),
    )
    assert services.payment_events.apply(paid).outcome == "applied"
    older_period = replace(
        paid,
        event_id="evt_invoice_old",
        period_start=completed.period_start,
        period_end=completed.period_end,
        created=paid.created + timedelta(seconds=1),
    )
    assert services.payment_events.apply(older_period).outcome == "ignored"
    [subscription] = _one(owner_conn, "select * from subscriptions where tenant_id = %s", buyer["tenant_id"])
    assert (subscription["status"], subscription["current_period_end"]) == ("active", renewed_end)
    renewals = _one(
        owner_conn, "select * from orders where tenant_id = %s and kind = 'renewal'", buyer["tenant_id"]
    )
    assert [(r["status"], r["amount"], r["subscription_id"]) for r in renewals] == [
        ("active", 2000, subscription["id"])
    ]


def test_deletion_refund_and_failure_events(
    services: Services,
    captured: list[PaymentEvent],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, order_id = _pending(services, offer)
    [completed] = captured
    services.payment_events.apply(completed)
    count = "select subscriber_count from marketplace_listings where product_id = %s"
    assert _one(owner_conn, count, offer["id"])[0]["subscriber_count"] == 1

    deleted = replace(
        completed,
        event_id="evt_deleted",
        raw_type="customer.subscription.deleted",
        kind="subscription.deleted",
        session_id=None,
        created=completed.created + timedelta(hours=1),
    )
    assert services.payment_events.apply(deleted).applied
    [subscription] = _one(owner_conn, "select * from subscriptions where tenant_id = %s", buyer["tenant_id"])
    assert subscription["status"] == "cancelled" and subscription["cancelled_at"] == deleted.created
    assert _one(owner_conn, count, offer["id"])[0]["subscriber_count"] == 0

    refunded = replace(completed, event_id="evt_refund", raw_type="charge.refunded", kind="charge.refunded")
    assert services.payment_events.apply(refunded).applied
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "refunded"

    other, failed_order = _pending(services, offer, "4000000000000002")
    [_, declined] = captured
    assert services.payment_events.apply(declined).applied
    shown = services.commerce_views.order(other["tenant_id"], failed_order)
    assert (shown["status"], shown["failure_reason"]) == ("failed", "card_declined: the card was declined")


def test_an_event_about_nothing_of_ours_is_a_no_op(
    services: Services, captured: list[PaymentEvent], offer: dict[str, Any]
) -> None:
    _pending(services, offer)
    [completed] = captured
    strangers = [
        replace(completed, event_id="evt_x1", order_id=str(uuid.uuid4())),
        replace(completed, event_id="evt_x2", tenant_id=str(uuid.uuid4()), order_id=str(uuid.uuid4())),
        replace(
            completed,
            event_id="evt_x3",
            tenant_id=None,
            order_id=None,
            session_id="cs_nope",
            subscription_ref="sub_nope",
            customer_ref="cus_nope",
        ),
        replace(
            completed,
            event_id="evt_x4",
            tenant_id="not-a-uuid",
            order_id="nor-this",
            session_id=None,
            subscription_ref=None,
            customer_ref=None,
        ),
    ]
    for stranger in strangers:
        assert services.payment_events.apply(stranger).outcome == "unknown"
    assert (
        services.payment_events.apply(replace(completed, event_id="evt_x5", kind="ignored")).outcome
        == "ignored"
    )


def test_an_event_without_metadata_finds_its_order_by_the_checkout_session(
    services: Services, captured: list[PaymentEvent], offer: dict[str, Any]
) -> None:
    buyer, order_id = _pending(services, offer)
    [completed] = captured
    bare = replace(completed, tenant_id=None, order_id=None)
    assert services.payment_events.apply(bare).applied
    assert services.commerce_views.order(buyer["tenant_id"], order_id)["status"] == "active"


def test_the_subscriber_count_stays_true_under_concurrent_purchases_and_cancellations(
    postgres: Postgres, services: Services, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    """Each thread is its own process's worth of services (a Lambda instance serves one request at a time)."""
    buyers = [caller_of(services, f"Crowd {n}", "buyer") for n in range(6)]
    bought: list[tuple[str, uuid.UUID]] = []

    def instance() -> Services:
        return bootstrap(
            services.settings, db=Database(postgres.app_url), local_payments_secret=lambda: "whsec_test"
        )

    def purchase(buyer: dict[str, str]) -> None:
        own = instance()
        order_id = own.checkout.checkout(
            buyer["tenant_id"],
            buyer["user_id"],
            CheckoutInput(offer["slug"], offer["plans"][0]["id"], "monthly"),
        )
        bought.append((buyer["tenant_id"], order_id))
        own.db.close()

    def cancel(tenant: str, order_id: uuid.UUID) -> None:
        own = instance()
        subscription = own.commerce_views.order(tenant, order_id)["subscription_id"]
        own.subscription_changes.cancel(tenant, uuid.UUID(subscription), False, "crowd leaves")
        own.db.close()

    count = "select subscriber_count from marketplace_listings where product_id = %s"
    run_all([threading.Thread(target=purchase, args=(b,)) for b in buyers])
    assert len(bought) == 6
    assert _one(owner_conn, count, offer["id"])[0]["subscriber_count"] == 6
    run_all([threading.Thread(target=cancel, args=pair) for pair in bought[:4]])
    assert _one(owner_conn, count, offer["id"])[0]["subscriber_count"] == 2


def run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
