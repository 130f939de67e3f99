"""`GET /v1/orders` and `GET /v1/subscriptions` (with their one-item routes): newest first, cursor paging,
category and status filters, usage this period against plan limits, and nothing of another organization."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from cmp.db import Database
from cmp.metering.model import UsageEvent

from .commerce_support import buy, call, new_tenant, plan, publish
from .conftest import Platform, caller_of


@pytest.fixture
def auth(platform: Platform) -> Any:
    return platform.function("AuthApiFunction").services


@pytest.fixture
def shelf(platform: Platform) -> list[dict[str, Any]]:
    db = platform.function("CommerceApiFunction").services.db
    seller = new_tenant(db)
    return [
        publish(db, seller, [plan("Pro", "pro", "10.00", limits={"messages": 10_000})], category="agent"),
        publish(
            db,
            seller,
            [plan("Starter", "starter", "5.00")],
            category="assistant",
            subcategory="writer",
            name="Writer",
        ),
        publish(
            db,
            seller,
            [plan("Starter", "starter", "7.00")],
            category="automation",
            subcategory="scheduled",
            name="Sync",
        ),
    ]


def test_lists_are_newest_first_paged_and_filtered(
    platform: Platform, auth: Any, shelf: list[dict[str, Any]]
) -> None:
    buyer = caller_of(auth, "Lister", "buyer")
    bought = [buy(platform, buyer, offer)[1] for offer in shelf]
    assert all(o["status"] == "active" for o in bought)
    buy(platform, buyer, shelf[0], payment_method="4000000000000002")  # refused: held already (409)

    status, page = call(platform, "GET", "/v1/orders", buyer, query={"limit": "2"})
    assert status == 200 and [o["order_id"] for o in page["items"]] == [
        bought[2]["order_id"],
        bought[1]["order_id"],
    ]
    status, rest = call(
        platform, "GET", "/v1/orders", buyer, query={"limit": "2", "cursor": page["next_cursor"]}
    )
    assert [o["order_id"] for o in rest["items"]] == [bought[0]["order_id"]] and rest["next_cursor"] is None

    status, subscriptions = call(platform, "GET", "/v1/subscriptions", buyer)
    assert status == 200
    assert [s["product"]["category"] for s in subscriptions["items"]] == ["automation", "assistant", "agent"]
    status, agents = call(platform, "GET", "/v1/subscriptions", buyer, query={"category": "agent"})
    assert [s["subscription_id"] for s in agents["items"]] == [bought[0]["subscription_id"]]
    status, none = call(platform, "GET", "/v1/subscriptions", buyer, query={"status": "past_due"})
    assert none["items"] == []
    status, paged = call(
        platform, "GET", "/v1/subscriptions", buyer, query={"limit": "1", "status": "active"}
    )
    assert len(paged["items"]) == 1 and paged["next_cursor"]

    status, body = call(
        platform, "GET", "/v1/subscriptions", buyer, query={"category": "robot", "limit": "0"}
    )
    assert status == 422 and sorted(e["path"] for e in body["errors"]) == ["query.category"], body
    status, body = call(platform, "GET", "/v1/orders", buyer, query={"limit": "0", "cursor": "junk"})
    assert status == 422 and sorted(e["path"] for e in body["errors"]) == ["query.cursor", "query.limit"]


def test_usage_this_period_is_summed_per_metric_against_the_plan_limits(
    platform: Platform,
    auth: Any,
    shelf: list[dict[str, Any]],
    owner_conn: psycopg.Connection[Any],
    db: Database,
) -> None:
    buyer = caller_of(auth, "User", "buyer")
    order = buy(platform, buyer, shelf[0])[1]
    [(start, end)] = owner_conn.execute(
        "select current_period_start, current_period_end from subscriptions where id = %s",
        (order["subscription_id"],),
    ).fetchall()
    rows = [
        ("messages", 8000, start),
        ("messages", 234, end - timedelta(seconds=1)),
        ("messages", 999, end),  # the next period
        ("tokens_in", 12000, start + timedelta(days=1)),
        ("tokens_out", 345, start + timedelta(days=1)),
        ("documents", 3, start + timedelta(days=2)),
    ]
    with db.unit_of_work(buyer["tenant_id"]) as uow:
        for metric, quantity, at in rows:
            subscription_id = uuid.UUID(order["subscription_id"])
            uow.usage.record(UsageEvent(subscription_id, metric, quantity, at, uuid.uuid4().hex))
        uow.commit()
    status, subscription = call(platform, "GET", f"/v1/subscriptions/{order['subscription_id']}", buyer)
    assert status == 200, subscription
    assert subscription["usage"] == {
        "messages": {"used": 8234, "limit": 10_000},
        "tokens": {"used": 12345, "limit": 1_000_000},
        "tokens_in": {"used": 12000, "limit": None},
        "tokens_out": {"used": 345, "limit": None},
        "documents": {"used": 3, "limit": None},
    }
    assert (subscription["plan"]["tier"], subscription["amount"], subscription["amount_display"]) == (
        "pro",
        1000,
        "10.00",
    )
    status, listed = call(platform, "GET", "/v1/subscriptions", buyer)
    assert listed["items"][0]["usage"] == subscription["usage"]


def test_another_organization_sees_nothing_and_roles_are_enforced(
    platform: Platform, auth: Any, shelf: list[dict[str, Any]], owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(auth, "Owner", "buyer")
    order = buy(platform, buyer, shelf[1])[1]
    intruder = caller_of(auth, "Intruder", "both")
    for path in ("/v1/orders", "/v1/subscriptions"):
        status, body = call(platform, "GET", path, intruder)
        assert status == 200 and body == {"items": [], "next_cursor": None}
        assert call(platform, "GET", path, caller_of(auth, "Seller", "seller"))[0] == 403
        assert call(platform, "GET", path, None)[0] == 401
    for path in (
        f"/v1/orders/{order['order_id']}",
        f"/v1/subscriptions/{order['subscription_id']}",
        f"/v1/orders/{uuid.uuid4()}",
    ):
        status, body = call(platform, "GET", path, intruder)
        assert (status, body["error"]) == (404, "not_found")
    status, body = call(platform, "GET", "/v1/orders/not-a-uuid", buyer)
    assert status == 422
