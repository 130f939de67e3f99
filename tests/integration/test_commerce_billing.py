"""The billing jobs on real PostgreSQL with the local provider: renewals (charged once per period even when
two runs overlap, scheduled downgrades and cancellations applied at the period end, declined renewals past
due) and reconciliation (a process killed between the payment and its application, a paid order without a
subscription, a subscription whose payment was refunded)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services, bootstrap
from cmp.commerce.checkout import CheckoutInput
from cmp.commerce.payment_model import PaymentEvent
from cmp.config import Settings
from cmp.db import Database
from cmp.errors import Conflict
from tests.fakes import FixedClock

from .commerce_support import new_tenant, plan, publish
from .conftest import FAST_HASHER, Postgres, caller_of

SECRET = "whsec_test"


def make_services(db: Database, clock: FixedClock) -> Services:
    settings = Settings(jwt_issuer="https://auth.test", jwt_audience="cmp-test")
    return bootstrap(
        settings,
        db=db,
        hasher=FAST_HASHER,
        jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
        local_payments_secret=lambda: SECRET,
        clock=clock,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def services(db: Database, aws: None, fresh_outbox: None, clock: FixedClock) -> Services:
    return make_services(db, clock)


@pytest.fixture
def offer(db: Database) -> dict[str, Any]:
    return publish(
        db,
        new_tenant(db),
        [plan("Starter", "starter", "10.00", "100.00"), plan("Pro", "pro", "30.00", "300.00")],
    )


def rows(owner_conn: psycopg.Connection[Any], query: str, *params: Any) -> list[dict[str, Any]]:
    return owner_conn.cursor(row_factory=psycopg.rows.dict_row).execute(query, params).fetchall()


def subscribe(
    services: Services,
    offer: dict[str, Any],
    plan_index: int = 1,
    period: str = "monthly",
    card: str | None = None,
) -> tuple[str, uuid.UUID, uuid.UUID]:
    buyer = caller_of(services, "Billed", "buyer")
    order_id = services.checkout.checkout(
        buyer["tenant_id"],
        buyer["user_id"],
        CheckoutInput(offer["slug"], offer["plans"][plan_index]["id"], period, card),
    )
    order = services.commerce_views.order(buyer["tenant_id"], order_id)
    subscription = uuid.UUID(order["subscription_id"]) if order["subscription_id"] else uuid.UUID(int=0)
    return buyer["tenant_id"], order_id, subscription


def to_period_end(services: Services, clock: FixedClock, tenant: str, subscription_id: uuid.UUID) -> datetime:
    end = datetime.fromisoformat(
        services.commerce_views.subscription(tenant, subscription_id)["current_period"]["end"]
    )
    clock.current = end + timedelta(minutes=1)
    return end


def test_a_renewal_charges_the_next_period_once_and_records_it(
    services: Services, clock: FixedClock, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    tenant, _, subscription_id = subscribe(services, offer)
    end = to_period_end(services, clock, tenant, subscription_id)

    services.billing.run()
    services.billing.run()

    shown = services.commerce_views.subscription(tenant, subscription_id)
    assert shown["status"] == "active"
    assert shown["current_period"]["start"] == end.isoformat()
    assert datetime.fromisoformat(shown["current_period"]["end"]) > clock.current
    renewals = rows(
        owner_conn, "select amount, status from orders where tenant_id = %s and kind = 'renewal'", tenant
    )
    assert renewals == [{"amount": 3000, "status": "active"}]
    invoices = rows(
        owner_conn,
        "select id from local_payment_objects where kind = 'invoice' and data ->> 'subscription' ="
        " (select provider_subscription_ref from subscriptions where id = %s)",
        subscription_id,
    )
    assert len(invoices) == 1


def test_two_runs_at_once_charge_once(
    db: Database,
    clock: FixedClock,
    services: Services,
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    tenant, _, subscription_id = subscribe(services, offer)
    to_period_end(services, clock, tenant, subscription_id)
    runners = [make_services(db, clock) for _ in range(3)]
    threads = [threading.Thread(target=r.billing.renew) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    renewals = rows(owner_conn, "select id from orders where tenant_id = %s and kind = 'renewal'", tenant)
    assert len(renewals) == 1
    claimed = rows(
        owner_conn, "select raw_type from payment_events where tenant_id = %s order by received_at", tenant
    )
    assert [c["raw_type"] for c in claimed] == ["checkout.session.completed", "invoice.paid"]


def test_a_scheduled_downgrade_and_a_yearly_to_monthly_change_apply_at_the_period_end(
    services: Services, clock: FixedClock, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    tenant, _, monthly = subscribe(services, offer, 1, "monthly")
    services.subscription_changes.change_plan(tenant, monthly, offer["plans"][0]["id"], "monthly")
    tenant_y, _, yearly = subscribe(services, offer, 1, "yearly")
    services.subscription_changes.change_plan(tenant_y, yearly, offer["plans"][1]["id"], "monthly")

    to_period_end(services, clock, tenant, monthly)
    services.billing.run()
    shown = services.commerce_views.subscription(tenant, monthly)
    assert (shown["plan"]["name"], shown["amount"], shown["pending_change"]) == ("Starter", 1000, None)
    assert rows(
        owner_conn, "select amount from orders where tenant_id = %s and kind = 'renewal'", tenant
    ) == [{"amount": 1000}]

    year_end = to_period_end(services, clock, tenant_y, yearly)
    services.billing.run()
    shown = services.commerce_views.subscription(tenant_y, yearly)
    assert (shown["billing_period"], shown["amount"], shown["pending_change"]) == ("monthly", 3000, None)
    next_end = datetime.fromisoformat(shown["current_period"]["end"])
    assert shown["current_period"]["start"] == year_end.isoformat() and 28 <= (next_end - year_end).days <= 31


def test_a_cancellation_at_the_period_end_ends_the_subscription_then(
    services: Services, clock: FixedClock, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    tenant, _, subscription_id = subscribe(services, offer)
    services.subscription_changes.cancel(tenant, subscription_id, True, "seasonal")
    count = "select subscriber_count from marketplace_listings where product_id = %s"
    before = rows(owner_conn, count, offer["id"])[0]["subscriber_count"]
    end = to_period_end(services, clock, tenant, subscription_id)
    services.billing.run()
    shown = services.commerce_views.subscription(tenant, subscription_id)
    assert (shown["status"], shown["cancelled_at"], shown["cancellation_reason"]) == (
        "cancelled",
        end.isoformat(),
        "seasonal",
    )
    assert rows(owner_conn, "select id from orders where tenant_id = %s and kind = 'renewal'", tenant) == []
    assert rows(owner_conn, count, offer["id"])[0]["subscriber_count"] == before - 1


def test_a_declined_renewal_makes_the_subscription_past_due_with_the_reason(
    services: Services, clock: FixedClock, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    tenant, order_id, subscription_id = subscribe(services, offer, card="4000000000000341")
    assert services.commerce_views.order(tenant, order_id)["status"] == "active"
    end = to_period_end(services, clock, tenant, subscription_id)
    services.billing.run()
    services.billing.run()
    shown = services.commerce_views.subscription(tenant, subscription_id)
    assert (shown["status"], shown["status_reason"]) == ("past_due", "card_declined: the card was declined")
    assert shown["current_period"]["end"] == end.isoformat()
    assert rows(owner_conn, "select id from orders where tenant_id = %s and kind = 'renewal'", tenant) == []
    plans = {p["name"]: p["id"] for p in offer["plans"]}
    for plan_id, period in (
        (plans["Pro"], "monthly"),
        (plans["Starter"], "yearly"),
        (plans["Pro"], "yearly"),
    ):
        with pytest.raises(Conflict, match="past due"):
            services.subscription_changes.change_plan(tenant, subscription_id, plan_id, period)
    assert services.commerce_views.subscription(tenant, subscription_id)["pending_change"] is None


class _DieOnDelivery:
    """Kills the process the moment the provider hands over its event (after the payment was taken)."""

    def __call__(self, event: PaymentEvent) -> None:
        os._exit(1)


@pytest.fixture
def child_db(postgres: Postgres) -> Iterator[str]:
    yield postgres.app_url


def test_a_process_killed_between_the_payment_and_its_application_is_repaired(
    services: Services,
    clock: FixedClock,
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
    child_db: str,
) -> None:
    buyer = caller_of(services, "Crashed Buyer", "buyer")
    pid = os.fork()
    if pid == 0:  # the child: a checkout whose process dies after the provider took the payment
        try:
            child = make_services(Database(child_db), clock)
            child.payments.deliver = _DieOnDelivery()  # type: ignore[attr-defined]
            child.checkout.checkout(
                buyer["tenant_id"],
                buyer["user_id"],
                CheckoutInput(offer["slug"], offer["plans"][0]["id"], "monthly"),
            )
        finally:
            os._exit(3)  # only reached when the delivery did not kill the process
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 1

    [order] = rows(owner_conn, "select * from orders where tenant_id = %s", buyer["tenant_id"])
    assert (order["status"], order["checkout_session_id"], order["subscription_id"]) == (
        "pending",
        None,
        None,
    )
    paid = rows(
        owner_conn,
        "select data ->> 'payment_status' as paid from local_payment_objects where kind = 'checkout.session'"
        " and data #>> '{metadata,order_id}' = %s",
        str(order["id"]),
    )
    assert paid == [{"paid": "paid"}]  # the provider has the money; we have no subscription yet

    services.billing.reconcile()
    assert rows(owner_conn, "select status from orders where id = %s", order["id"])[0]["status"] == "pending"
    clock.advance(minutes=6)
    report = services.billing.reconcile()
    assert report["completed"] == 1, report
    shown = services.commerce_views.order(buyer["tenant_id"], order["id"])
    assert shown["status"] == "active" and shown["subscription_id"]
    assert shown["payment"]["checkout_session_id"].startswith("cs_local_")
    assert services.billing.reconcile()["completed"] == 0
    sessions = rows(
        owner_conn,
        "select id from local_payment_objects where kind = 'checkout.session' and data #>> '{metadata,order_id}' = %s",
        str(order["id"]),
    )
    assert len(sessions) == 1  # asked again, charged once


def test_reconciliation_completes_fails_provisions_and_flags(
    services: Services, clock: FixedClock, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    held: list[PaymentEvent] = []
    services.payments.deliver = held.append  # type: ignore[attr-defined]
    declined_tenant, declined, _ = subscribe(services, offer, card="4000000000000002")
    paid_tenant, paid, _ = subscribe(services, offer)
    owner_conn.execute("update orders set status = 'paid' where id = %s", (paid,))  # paid, not provisioned
    services.payments.deliver = services.payment_events.apply  # type: ignore[attr-defined]
    refunded_tenant, refunded, refunded_subscription = subscribe(services, offer)
    assert [e.kind for e in held] == ["payment.failed", "checkout.completed"]  # never applied
    services.payment_events.apply(
        PaymentEvent(
            provider="local",
            event_id=f"evt_refund_{uuid.uuid4().hex}",
            raw_type="charge.refunded",
            kind="charge.refunded",
            created=clock.now(),
            order_id=str(refunded),
            tenant_id=refunded_tenant,
        )
    )
    clock.advance(minutes=6)

    report = services.billing.reconcile()

    failed = services.commerce_views.order(declined_tenant, declined)
    assert (failed["status"], failed["failure_reason"]) == ("failed", "card_declined: the card was declined")
    provisioned = services.commerce_views.order(paid_tenant, paid)
    assert provisioned["status"] == "active" and provisioned["subscription_id"]
    issues = rows(
        owner_conn,
        "select kind, reason from reconciliation_issues where subscription_id = %s",
        refunded_subscription,
    )
    assert [i["kind"] for i in issues] == ["subscription_without_payment"]
    assert "no paid order refers to it" in issues[0]["reason"]
    assert report["failed_orders"] >= 1 and report["provisioned"] >= 1 and report["flagged"] >= 1

    services.billing.reconcile()
    assert (
        len(
            rows(
                owner_conn,
                "select id from reconciliation_issues where subscription_id = %s",
                refunded_subscription,
            )
        )
        == 1
    )
    for tenant in (declined_tenant, paid_tenant, refunded_tenant):
        orphans = rows(
            owner_conn,
            "select id from orders where tenant_id = %s and status in ('paid', 'active') and subscription_id is null",
            tenant,
        )
        assert orphans == []
