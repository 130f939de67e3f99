"""Checkout through the commerce function with the local provider, on real PostgreSQL and moto: a paid order
has its subscription, a declined one has none, amounts are exact minor units, and every refusal is the
right 4xx without anything half-written."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from .commerce_support import buy, call, new_tenant, plan, publish
from .conftest import Platform, caller_of


@pytest.fixture
def auth(platform: Platform) -> Any:
    return platform.function("AuthApiFunction").services


@pytest.fixture
def buyer(auth: Any) -> dict[str, str]:
    return caller_of(auth, "Buyer Org", "buyer")


@pytest.fixture
def offer(platform: Platform, auth: Any) -> dict[str, Any]:
    db = platform.function("CommerceApiFunction").services.db
    seller = new_tenant(db)
    return publish(
        db,
        seller,
        [plan("Starter", "starter", "29.99", "299.00"), plan("Pro", "pro", "99.00")],
    )


def _rows(owner_conn: psycopg.Connection[Any], query: str, *params: Any) -> list[dict[str, Any]]:
    cursor = owner_conn.cursor(row_factory=psycopg.rows.dict_row)
    return cursor.execute(query, params).fetchall()


def test_a_paid_checkout_is_active_with_its_subscription_at_once(
    platform: Platform, buyer: dict[str, str], offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    assert _rows(owner_conn, "select id from projects where tenant_id = %s", buyer["tenant_id"]) == []

    status, order = buy(platform, buyer, offer, payment_method="4242424242424242")

    assert status == 201, order
    assert (order["status"], order["amount"], order["currency"], order["amount_display"]) == (
        "active",
        2999,
        "USD",
        "29.99",
    )
    assert order["payment"]["provider"] == "local"
    assert order["payment"]["checkout_session_id"].startswith("cs_local_")
    assert order["payment"]["failure_reason"] is None
    [subscription] = _rows(owner_conn, "select * from subscriptions where tenant_id = %s", buyer["tenant_id"])
    assert str(subscription["id"]) == order["subscription_id"]
    assert subscription["status"] == "active" and subscription["runtime_type"] == "shared"
    assert subscription["plan"]["id"] == offer["plans"][0]["id"]
    assert subscription["capabilities"]["category"] == "agent"
    assert subscription["configuration"] == {}
    assert subscription["provider_subscription_ref"].startswith("sub_local_")
    period = subscription["current_period_end"] - subscription["current_period_start"]
    assert 28 <= period.days <= 31
    [project] = _rows(owner_conn, "select id, name from projects where tenant_id = %s", buyer["tenant_id"])
    assert (project["id"], project["name"]) == (subscription["project_id"], "Default")
    [listing] = _rows(
        owner_conn, "select subscriber_count from marketplace_listings where product_id = %s", offer["id"]
    )
    assert listing["subscriber_count"] == 1
    [customer] = _rows(owner_conn, "select * from payment_customers where tenant_id = %s", buyer["tenant_id"])
    assert customer["customer_ref"].startswith("cus_local_")
    [claimed] = _rows(owner_conn, "select * from payment_events where tenant_id = %s", buyer["tenant_id"])
    assert claimed["raw_type"] == "checkout.session.completed"

    status, again = call(platform, "GET", f"/v1/orders/{order['order_id']}", buyer)
    assert status == 200 and again == order


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("4000000000000002", "card_declined: the card was declined"),
        ("pm_card_chargeDeclined", "card_declined: the card was declined"),
        ("4000000000009995", "insufficient_funds: the card has insufficient funds"),
    ],
)
def test_a_declined_card_fails_the_order_and_creates_no_subscription(
    platform: Platform,
    buyer: dict[str, str],
    offer: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
    card: str,
    reason: str,
) -> None:
    status, order = buy(platform, buyer, offer, payment_method=card)
    assert status == 201, order
    assert (order["status"], order["failure_reason"], order["subscription_id"]) == ("failed", reason, None)
    assert order["payment"]["failure_reason"] == reason
    assert _rows(owner_conn, "select id from subscriptions where tenant_id = %s", buyer["tenant_id"]) == []
    [listing] = _rows(
        owner_conn, "select subscriber_count from marketplace_listings where product_id = %s", offer["id"]
    )
    assert listing["subscriber_count"] == 0

    status, retried = buy(platform, buyer, offer)  # a good card afterwards buys it
    assert status == 201 and retried["status"] == "active", retried


@pytest.mark.parametrize(
    ("price", "currency", "minor", "display"),
    [("1500", "JPY", 1500, "1500"), ("29.99", "USD", 2999, "29.99"), ("1.5", "KWD", 1500, "1.500")],
)
def test_amounts_are_exact_minor_units_of_the_plan_currency(
    platform: Platform,
    buyer: dict[str, str],
    owner_conn: psycopg.Connection[Any],
    price: str,
    currency: str,
    minor: int,
    display: str,
) -> None:
    db = platform.function("CommerceApiFunction").services.db
    offer = publish(db, new_tenant(db), [plan("Starter", "starter", price, currency=currency)])
    status, order = buy(platform, buyer, offer)
    assert status == 201, order
    assert (order["amount"], order["currency"], order["amount_display"]) == (minor, currency, display)
    [subscription] = _rows(
        owner_conn, "select amount, currency from subscriptions where id = %s", order["subscription_id"]
    )
    assert (subscription["amount"], subscription["currency"]) == (minor, currency)


def test_refusals_are_4xx_naming_the_field_and_write_nothing(
    platform: Platform, buyer: dict[str, str], offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    status, body = call(
        platform,
        "POST",
        "/v1/checkout",
        buyer,
        {"product": "no-such-product", "plan_id": "plan_x", "billing_period": "monthly"},
    )
    assert (status, body["error"]) == (404, "not_found"), body
    status, body = call(
        platform,
        "POST",
        "/v1/checkout",
        buyer,
        {"product": offer["slug"], "plan_id": "plan_aaaaaaaaaaaa", "billing_period": "monthly"},
    )
    assert status == 422 and [e["path"] for e in body["errors"]] == ["plan_id"], body
    status, body = buy(platform, buyer, offer, plan_index=1, billing_period="yearly")
    assert status == 422 and [e["path"] for e in body["errors"]] == ["billing_period"], body
    assert "sold monthly" in body["errors"][0]["message"]
    status, body = call(
        platform,
        "POST",
        "/v1/checkout",
        buyer,
        {"product": offer["slug"], "plan_id": offer["plans"][0]["id"], "billing_period": "weekly"},
    )
    assert status == 422 and body["errors"][0]["path"] == "billing_period", body
    assert _rows(owner_conn, "select id from orders where tenant_id = %s", buyer["tenant_id"]) == []

    status, body = buy(platform, buyer, offer, payment_method="4111111111111111")
    assert status == 422 and body["errors"][0]["path"] == "payment_method", body
    [failed] = _rows(
        owner_conn, "select status, idempotency_key from orders where tenant_id = %s", buyer["tenant_id"]
    )
    assert failed["status"] == "failed"
    assert _rows(owner_conn, "select id from subscriptions where tenant_id = %s", buyer["tenant_id"]) == []


def test_a_product_the_organization_holds_cannot_be_bought_twice(
    platform: Platform, buyer: dict[str, str], offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    assert buy(platform, buyer, offer)[0] == 201
    status, body = buy(platform, buyer, offer, plan_index=1)
    assert (status, body["error"]) == (409, "conflict"), body
    assert "change its plan instead" in body["message"]
    assert len(_rows(owner_conn, "select id from orders where tenant_id = %s", buyer["tenant_id"])) == 1


def test_an_idempotency_key_returns_the_first_order_and_refuses_another_request(
    platform: Platform, buyer: dict[str, str], offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    body = {"product": offer["slug"], "plan_id": offer["plans"][0]["id"], "billing_period": "monthly"}
    key = {"Idempotency-Key": "retry-1"}
    status, first = call(platform, "POST", "/v1/checkout", buyer, body, headers=key)
    assert status == 201 and first["status"] == "active", first
    status, second = call(
        platform, "POST", "/v1/checkout", buyer, body, headers={"idempotency-key": "retry-1"}
    )
    assert status == 201 and second == first
    assert len(_rows(owner_conn, "select id from orders where tenant_id = %s", buyer["tenant_id"])) == 1
    assert (
        len(
            _rows(
                owner_conn,
                "select id from local_payment_objects where kind = 'checkout.session'"
                " and data -> 'metadata' ->> 'order_id' = %s",
                first["order_id"],
            )
        )
        == 1
    )

    other = {**body, "billing_period": "yearly"}
    status, refused = call(platform, "POST", "/v1/checkout", buyer, other, headers=key)
    assert (status, refused["error"]) == (409, "conflict"), refused
    assert "Idempotency-Key" in refused["message"]


def test_an_empty_idempotency_key_is_refused_not_ignored(
    platform: Platform, buyer: dict[str, str], offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    body = {"product": offer["slug"], "plan_id": offer["plans"][0]["id"], "billing_period": "monthly"}
    status, refused = call(platform, "POST", "/v1/checkout", buyer, body, headers={"Idempotency-Key": ""})
    assert status == 422, refused
    assert [e["path"] for e in refused["errors"]] == ["header.idempotency-key"], refused
    assert _rows(owner_conn, "select id from orders where tenant_id = %s", buyer["tenant_id"]) == []


def test_only_a_signed_in_buyer_may_check_out_and_orders_stay_in_their_organization(
    platform: Platform, auth: Any, buyer: dict[str, str], offer: dict[str, Any]
) -> None:
    status, order = buy(platform, buyer, offer)
    assert status == 201
    seller_only = caller_of(auth, "Seller Only", "seller")
    status, body = buy(platform, seller_only, offer)
    assert (status, body["error"]) == (403, "forbidden")
    status, body = call(
        platform,
        "POST",
        "/v1/checkout",
        None,
        {"product": offer["slug"], "plan_id": offer["plans"][0]["id"], "billing_period": "monthly"},
    )
    assert (status, body["error"]) == (401, "unauthorized")

    other = caller_of(auth, "Other Buyer", "buyer")
    for path in (f"/v1/orders/{order['order_id']}", f"/v1/subscriptions/{order['subscription_id']}"):
        status, body = call(platform, "GET", path, other)
        assert (status, body["error"]) == (404, "not_found"), path
        assert order["order_id"] not in str(body)
        status, body = call(platform, "GET", path, seller_only)
        assert status == 403
        status, body = call(platform, "GET", path, None)
        assert status == 401
    for path in ("/v1/orders", "/v1/subscriptions"):
        status, body = call(platform, "GET", path, other)
        assert status == 200 and body["items"] == [], body
