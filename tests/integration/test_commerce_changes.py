"""Plan changes and cancellation on real PostgreSQL with the local provider: upgrades now with Stripe's
proration (checked against the formula written out here, not against proration.py), downgrades and
yearly -> monthly at the period end for nothing now, cancellation now or at the period end with its reason,
and the HTTP routes across organizations and roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services, bootstrap
from cmp.commerce.checkout import CheckoutInput
from cmp.config import Settings
from cmp.db import Database
from cmp.errors import Conflict, ValidationFailed
from cmp.money import to_minor
from tests.fakes import FixedClock

from .commerce_support import buy, call, new_tenant, plan, publish
from .conftest import FAST_HASHER, Platform, caller_of

BOUGHT_AT = datetime(2026, 3, 15, 9, 30, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BOUGHT_AT)


@pytest.fixture
def services(db: Database, aws: None, fresh_outbox: None, clock: FixedClock) -> Services:
    settings = Settings(jwt_issuer="https://auth.test", jwt_audience="cmp-test")
    return bootstrap(
        settings,
        db=db,
        hasher=FAST_HASHER,
        jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
        local_payments_secret=lambda: "whsec_test",
        clock=clock,
    )


@pytest.fixture(scope="module")
def offers(postgres: Any) -> dict[str, dict[str, Any]]:
    db = Database(postgres.app_url)
    seller = new_tenant(db)
    made = {
        currency: publish(
            db,
            seller,
            [
                plan("Starter", "starter", starter, starter_yearly, currency=currency),
                plan("Pro", "pro", pro, pro_yearly, currency=currency),
            ],
        )
        for currency, starter, starter_yearly, pro, pro_yearly in (
            ("USD", "29.99", "299.00", "99.99", "999.99"),
            ("JPY", "1500", "15000", "4980", "49800"),
        )
    }
    db.close()
    return made


def half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)).__floor__())


def stripe_upgrade(
    old: int, new: int, start: datetime, end: datetime, at: datetime, same_interval: bool
) -> int:
    """Stripe's proration: a credit for the unused time on the old price, a charge for the remaining time on
    the new one (the whole new price when the interval changes), each rounded to the minor unit."""
    left = Fraction(int((end - at).total_seconds()), int((end - start).total_seconds()))
    credit = half_up(old * left)
    return (half_up(new * left) if same_interval else new) - credit


def _subscribe(
    services: Services, offer: dict[str, Any], plan_index: int, period: str
) -> tuple[str, uuid.UUID]:
    buyer = caller_of(services, "Changer", "buyer")
    order_id = services.checkout.checkout(
        buyer["tenant_id"],
        buyer["user_id"],
        CheckoutInput(offer["slug"], offer["plans"][plan_index]["id"], period),
    )
    order = services.commerce_views.order(buyer["tenant_id"], order_id)
    assert order["status"] == "active", order
    return buyer["tenant_id"], uuid.UUID(order["subscription_id"])


CASES = [
    # (from plan, from period, to plan, to period, change)
    (0, "monthly", 1, "monthly", "upgrade"),
    (1, "monthly", 0, "monthly", "downgrade"),
    (0, "monthly", 0, "yearly", "upgrade"),
    (1, "monthly", 0, "yearly", "upgrade"),  # to a cheaper plan, but yearly: still at once
    (1, "yearly", 1, "monthly", "downgrade"),  # never an upgrade, never charged now
    (0, "yearly", 1, "monthly", "downgrade"),
    (0, "yearly", 1, "yearly", "upgrade"),
    (1, "yearly", 0, "yearly", "downgrade"),
]


@pytest.mark.parametrize("currency", ["USD", "JPY"])
@pytest.mark.parametrize("day", [0, 1, 14, "last"])
@pytest.mark.parametrize(("old_plan", "old_period", "new_plan", "new_period", "kind"), CASES)
def test_the_proration_matrix_matches_stripes_formula(
    services: Services,
    clock: FixedClock,
    offers: dict[str, dict[str, Any]],
    owner_conn: psycopg.Connection[Any],
    currency: str,
    day: int | str,
    old_plan: int,
    old_period: str,
    new_plan: int,
    new_period: str,
    kind: str,
) -> None:
    offer = offers[currency]
    clock.current = BOUGHT_AT
    tenant, subscription_id = _subscribe(services, offer, old_plan, old_period)
    before = services.commerce_views.subscription(tenant, subscription_id)
    start = datetime.fromisoformat(before["current_period"]["start"])
    end = datetime.fromisoformat(before["current_period"]["end"])
    clock.current = end - timedelta(hours=1) if day == "last" else start + timedelta(days=int(day), hours=3)

    done = services.subscription_changes.change_plan(
        tenant, subscription_id, offer["plans"][new_plan]["id"], new_period
    )

    after = services.commerce_views.subscription(tenant, subscription_id)
    field = "priceMonthly" if new_period == "monthly" else "priceYearly"
    new_amount = to_minor(offer["plans"][new_plan][field], currency)
    assert done["change"] == kind
    if kind == "downgrade":
        assert (done["amount_due"], done["effective_at"], done["order_id"]) == (0, end.isoformat(), None)
        assert after["plan"]["id"] == before["plan"]["id"] and after["amount"] == before["amount"]
        assert after["pending_change"]["plan_id"] == offer["plans"][new_plan]["id"]
        assert (after["pending_change"]["amount"], after["pending_change"]["effective_at"]) == (
            new_amount,
            end.isoformat(),
        )
        return
    expected = stripe_upgrade(
        before["amount"],
        new_amount,
        start,
        end,
        clock.current.replace(microsecond=0),
        old_period == new_period,
    )
    assert done["amount_due"] == expected, (done, expected)
    assert done["effective_at"] == clock.current.replace(microsecond=0).isoformat()
    assert (after["plan"]["id"], after["billing_period"], after["amount"]) == (
        offer["plans"][new_plan]["id"],
        new_period,
        new_amount,
    )
    if old_period != new_period:  # a new yearly period from now (Stripe resets the anchor)
        assert after["current_period"]["start"] == clock.current.replace(microsecond=0).isoformat()
    else:
        assert after["current_period"] == before["current_period"]
    [order] = owner_conn.execute(
        "select kind, status, amount, subscription_id from orders where id = %s", (done["order_id"],)
    ).fetchall()
    assert order == ("plan_change", "active", expected, subscription_id)


def test_changes_refused_and_a_later_upgrade_replaces_a_scheduled_downgrade(
    services: Services, offers: dict[str, dict[str, Any]], db: Database
) -> None:
    offer = offers["USD"]
    tenant, subscription_id = _subscribe(services, offer, 1, "monthly")
    with pytest.raises(Conflict, match="already on this plan"):
        services.subscription_changes.change_plan(tenant, subscription_id, offer["plans"][1]["id"], "monthly")
    with pytest.raises(ValidationFailed) as unknown:
        services.subscription_changes.change_plan(tenant, subscription_id, "plan_aaaaaaaaaaaa", "monthly")
    assert unknown.value.errors[0].path == "plan_id"
    other_product = publish(db, new_tenant(db), [plan("Else", "pro", "1.00")])
    with pytest.raises(ValidationFailed):
        services.subscription_changes.change_plan(
            tenant, subscription_id, other_product["plans"][0]["id"], "monthly"
        )

    services.subscription_changes.change_plan(tenant, subscription_id, offer["plans"][0]["id"], "monthly")
    assert services.commerce_views.subscription(tenant, subscription_id)["pending_change"] is not None
    services.subscription_changes.change_plan(tenant, subscription_id, offer["plans"][1]["id"], "yearly")
    shown = services.commerce_views.subscription(tenant, subscription_id)
    assert shown["pending_change"] is None and shown["billing_period"] == "yearly"


def test_cancellation_at_the_period_end_or_at_once_records_the_reason(
    services: Services,
    clock: FixedClock,
    offers: dict[str, dict[str, Any]],
    owner_conn: psycopg.Connection[Any],
) -> None:
    offer = offers["USD"]
    count = "select subscriber_count from marketplace_listings where product_id = %s"
    tenant, later = _subscribe(services, offer, 0, "monthly")
    held = owner_conn.execute(count, (offer["id"],)).fetchone()[0]  # type: ignore[index]
    done = services.subscription_changes.cancel(tenant, later, True, "too expensive")
    shown = services.commerce_views.subscription(tenant, later)
    assert done == {"effective_at": shown["current_period"]["end"], "amount_due": 0, "currency": "USD"}
    assert (shown["status"], shown["cancel_at_period_end"], shown["cancellation_reason"]) == (
        "active",
        True,
        "too expensive",
    )
    with pytest.raises(Conflict, match="cancelled at the end"):
        services.subscription_changes.change_plan(tenant, later, offer["plans"][1]["id"], "monthly")
    assert owner_conn.execute(count, (offer["id"],)).fetchone()[0] == held  # type: ignore[index]

    done = services.subscription_changes.cancel(tenant, later, False, "found another")
    shown = services.commerce_views.subscription(tenant, later)
    assert (shown["status"], shown["cancelled_at"], shown["cancellation_reason"]) == (
        "cancelled",
        clock.current.isoformat(),
        "found another",
    )
    assert done["effective_at"] == clock.current.isoformat()
    assert owner_conn.execute(count, (offer["id"],)).fetchone()[0] == held - 1  # type: ignore[index]
    with pytest.raises(Conflict):
        services.subscription_changes.cancel(tenant, later, False, None)
    stored = owner_conn.execute(
        "select data ->> 'status' from local_payment_objects where id = (select provider_subscription_ref"
        " from subscriptions where id = %s)",
        (later,),
    ).fetchone()
    assert stored == ("canceled",)


def test_the_routes_answer_what_happens_and_when(platform: Platform) -> None:
    db = platform.function("CommerceApiFunction").services.db
    offer = publish(
        db, new_tenant(db), [plan("Starter", "starter", "10.00", "100.00"), plan("Pro", "pro", "20.00")]
    )
    auth = platform.function("AuthApiFunction").services
    buyer = caller_of(auth, "Router", "buyer")
    subscription_id = buy(platform, buyer, offer)[1]["subscription_id"]
    base = f"/v1/subscriptions/{subscription_id}"

    status, up = call(
        platform,
        "POST",
        f"{base}/plan",
        buyer,
        {"plan_id": offer["plans"][1]["id"], "billing_period": "monthly"},
    )
    assert status == 200, up
    assert (up["change"], up["currency"], up["subscription"]["plan"]["name"]) == ("upgrade", "USD", "Pro")
    assert 0 <= up["amount_due"] <= 1000 and up["order_id"]
    status, down = call(
        platform,
        "POST",
        f"{base}/plan",
        buyer,
        {"plan_id": offer["plans"][0]["id"], "billing_period": "monthly"},
    )
    assert (status, down["change"], down["amount_due"], down["order_id"]) == (200, "downgrade", 0, None)
    assert down["effective_at"] == down["subscription"]["current_period"]["end"]
    status, body = call(
        platform,
        "POST",
        f"{base}/plan",
        buyer,
        {"plan_id": offer["plans"][0]["id"], "billing_period": "weekly"},
    )
    assert status == 422 and body["errors"][0]["path"] == "billing_period"

    intruder = caller_of(auth, "Intruder", "both")
    for path, body in (
        (f"{base}/plan", {"plan_id": offer["plans"][1]["id"], "billing_period": "monthly"}),
        (f"{base}/cancel", {}),
    ):
        assert call(platform, "POST", path, intruder, body)[0] == 404
        assert call(platform, "POST", path, caller_of(auth, "Seller", "seller"), body)[0] == 403
        assert call(platform, "POST", path, None, body)[0] == 401

    status, cancelled = call(
        platform, "POST", f"{base}/cancel", buyer, {"at_period_end": False, "reason": "done"}
    )
    assert status == 200, cancelled
    assert (cancelled["amount_due"], cancelled["subscription"]["status"]) == (0, "cancelled")
    assert cancelled["subscription"]["cancellation_reason"] == "done"
    assert call(platform, "POST", f"{base}/cancel", buyer, {})[0] == 409
