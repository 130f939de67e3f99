"""The seller's sales dashboard and customers through the provider function, on real PostgreSQL: each seller
sees exactly its own products' subscribers, customers, revenue (per period and currency, paid and active
orders only) and orders, read through the SECURITY DEFINER functions of migration 0012; buyers get 403."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database

from . import commerce_data as data
from .conftest import Platform, caller_of
from .test_catalog import call

RANGE = {"from": "2025-12-01", "to": "2026-03-31"}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


def provider(platform: Platform, path: str, who: dict[str, str] | None, **query: str) -> tuple[int, Any]:
    return call(platform, "ProviderApiFunction", "GET", path, who, query=query or None)


@pytest.fixture
def market(services: Services) -> dict[str, Any]:
    """Seller A (two published products and a draft), seller B (one product), buyers X, Y and Z."""
    db = services.db
    seller_a, seller_b = caller_of(services, "Acme", "seller"), caller_of(services, "Rival", "seller")
    a, b = uuid.UUID(seller_a["tenant_id"]), uuid.UUID(seller_b["tenant_id"])
    agent, _ = data.published_product(db, a, "Agent")
    writer, _ = data.published_product(db, a, "Writer")
    with db.session(a) as session:
        session.execute(
            "insert into products (tenant_id, category, subcategory, name) values (%s, 'app', 'tool', 'Draft')",
            (a,),
        )
    rival, _ = data.published_product(db, b, "Rival Agent")
    (x, x1), (y, y1), (z, z1) = (data.organization(db, n) for n in ("Xenon", "Yotta", "Zeta"))
    _, x2 = data.organization(db, tenant_id=str(x))
    subs = {
        "x_agent": data.subscription(db, x, x1, a, agent, created_at=at("2026-01-10")),
        "x_agent_old": data.subscription(
            db, x, x2, a, agent, status="cancelled", plan="Starter", created_at=at("2025-12-05")
        ),
        "y_agent": data.subscription(
            db, y, y1, a, agent, status="past_due", currency="EUR", amount=2500, created_at=at("2026-02-03")
        ),
        "y_writer": data.subscription(
            db, y, y1, a, writer, currency="JPY", amount=1500, created_at=at("2026-02-20")
        ),
        "z_rival": data.subscription(db, z, z1, b, rival, created_at=at("2026-01-15")),
    }
    orders = [
        data.order(db, x, a, agent, amount=2900, plan="Starter", created_at=at("2025-12-05")),
        data.order(db, x, a, agent, amount=2900, status="refunded", created_at=at("2025-12-06")),
        data.order(db, x, a, agent, amount=2900, created_at=at("2026-01-10")),
        data.order(db, y, a, agent, amount=2500, currency="EUR", status="paid", created_at=at("2026-02-03")),
        data.order(
            db, y, a, agent, amount=2500, currency="EUR", status="failed", created_at=at("2026-02-04")
        ),
        data.order(db, y, a, writer, amount=1500, currency="JPY", created_at=at("2026-02-20")),
        data.order(db, x, a, writer, amount=4900, status="pending", created_at=at("2026-03-01")),
        data.order(db, z, b, rival, amount=9900, created_at=at("2026-01-15")),
    ]
    return {
        "seller_a": seller_a,
        "seller_b": seller_b,
        "agent": agent,
        "writer": writer,
        "rival": rival,
        "buyers": {"x": x, "y": y, "z": z},
        "subs": subs,
        "orders": orders,
    }


def test_a_seller_sees_its_subscribers_customers_revenue_and_orders(
    platform: Platform, market: dict[str, Any]
) -> None:
    status, board = provider(platform, "/v1/provider/sales", market["seller_a"], **RANGE)
    assert status == 200, board
    assert (board["period"], board["from"], board["to"]) == ("month", "2025-12-01", "2026-03-31")
    assert board["totals"] == {
        "subscribers": {"live": 3, "total": 4},
        "customers": {"live": 2, "total": 2},
        "revenue": [
            {"currency": "EUR", "amount": 2500},
            {"currency": "JPY", "amount": 1500},
            {"currency": "USD", "amount": 5800},
        ],
    }
    assert [p["name"] for p in board["products"]] == ["Agent", "Writer"]
    agent, writer = board["products"]
    assert (agent["subscribers"], agent["customers"]) == ({"live": 2, "total": 3}, {"live": 2, "total": 2})
    assert agent["revenue"] == [
        {"period_start": "2025-12-01", "currency": "USD", "amount": 2900, "orders": 1},
        {"period_start": "2026-01-01", "currency": "USD", "amount": 2900, "orders": 1},
        {"period_start": "2026-02-01", "currency": "EUR", "amount": 2500, "orders": 1},
    ]
    assert agent["revenue_total"] == [
        {"currency": "EUR", "amount": 2500},
        {"currency": "USD", "amount": 5800},
    ]
    assert (agent["rating_avg"], agent["rating_count"]) == (0.0, 0)
    assert [o["status"] for o in agent["recent_orders"]] == ["failed", "paid", "active", "refunded", "active"]
    assert (writer["subscribers"], writer["customers"]) == ({"live": 1, "total": 1}, {"live": 1, "total": 1})
    assert writer["revenue"] == [
        {"period_start": "2026-02-01", "currency": "JPY", "amount": 1500, "orders": 1}
    ]

    recent = board["recent_orders"]
    assert [o["id"] for o in recent] == [str(o.id) for o in reversed(market["orders"][:7])]
    assert recent[0] == {
        "id": str(market["orders"][6].id),
        "product": {"id": str(market["writer"]), "name": "Writer"},
        "organization": {"id": str(market["buyers"]["x"]), "name": "Xenon"},
        "plan": {"id": "plan_pro", "name": "Pro"},
        "billing_period": "monthly",
        "amount": 4900,
        "currency": "USD",
        "status": "pending",
        "created_at": "2026-03-01T09:00:00+00:00",
    }


def test_revenue_by_year_and_within_a_narrow_range(platform: Platform, market: dict[str, Any]) -> None:
    status, board = provider(platform, "/v1/provider/sales", market["seller_a"], period="year", **RANGE)
    assert status == 200, board
    assert board["products"][0]["revenue"] == [
        {"period_start": "2025-01-01", "currency": "USD", "amount": 2900, "orders": 1},
        {"period_start": "2026-01-01", "currency": "EUR", "amount": 2500, "orders": 1},
        {"period_start": "2026-01-01", "currency": "USD", "amount": 2900, "orders": 1},
    ]
    status, board = provider(
        platform, "/v1/provider/sales", market["seller_a"], **{"from": "2026-01-10", "to": "2026-01-10"}
    )
    assert board["totals"]["revenue"] == [{"currency": "USD", "amount": 2900}]
    status, body = provider(
        platform, "/v1/provider/sales", market["seller_a"], period="week", **{"from": "2026-02-30"}
    )
    assert status == 422 and {e["path"] for e in body["errors"]} == {"query.period", "query.from"}


def test_another_seller_sees_only_its_own_sales(platform: Platform, market: dict[str, Any]) -> None:
    status, board = provider(platform, "/v1/provider/sales", market["seller_b"], **RANGE)
    assert status == 200, board
    assert [p["id"] for p in board["products"]] == [str(market["rival"])]
    assert board["totals"] == {
        "subscribers": {"live": 1, "total": 1},
        "customers": {"live": 1, "total": 1},
        "revenue": [{"currency": "USD", "amount": 9900}],
    }
    assert [o["id"] for o in board["recent_orders"]] == [str(market["orders"][7].id)]
    status, body = provider(
        platform, f"/v1/provider/products/{market['agent']}/customers", market["seller_b"]
    )
    assert status == 404 and body["message"] == "product not found"


def test_a_products_customers_page_newest_first(platform: Platform, market: dict[str, Any]) -> None:
    path = f"/v1/provider/products/{market['agent']}/customers"
    status, page = provider(platform, path, market["seller_a"], limit="2")
    assert status == 200, page
    subs = market["subs"]
    assert [c["subscription_id"] for c in page["items"]] == [str(subs["y_agent"].id), str(subs["x_agent"].id)]
    assert page["items"][0] == {
        "subscription_id": str(subs["y_agent"].id),
        "organization": {"id": str(market["buyers"]["y"]), "name": "Yotta"},
        "plan": {"id": "plan_pro", "name": "Pro"},
        "billing_period": "monthly",
        "status": "past_due",
        "since": "2026-02-03T09:00:00+00:00",
        "current_period_end": "2026-03-05T09:00:00+00:00",
        "cancel_at_period_end": False,
    }
    status, rest = provider(platform, path, market["seller_a"], limit="2", cursor=page["next_cursor"])
    assert [(c["subscription_id"], c["status"], c["plan"]["name"]) for c in rest["items"]] == [
        (str(subs["x_agent_old"].id), "cancelled", "Starter")
    ]
    assert rest["next_cursor"] is None
    assert provider(platform, f"/v1/provider/products/{uuid.uuid4()}/customers", market["seller_a"])[0] == 404


def test_buyers_get_403_and_strangers_401(
    platform: Platform, services: Services, market: dict[str, Any]
) -> None:
    buyer = caller_of(services, "Buyer Only", "buyer")
    for path in ("/v1/provider/sales", f"/v1/provider/products/{market['agent']}/customers"):
        status, body = provider(platform, path, buyer)
        assert status == 403 and body["error"] == "forbidden", body
        assert provider(platform, path, None)[0] == 401


def test_the_sales_functions_take_the_seller_only_from_the_transaction(
    db: Database, market: dict[str, Any]
) -> None:
    """A buyer's (or no) tenant reads nothing of anyone's sales, whatever it passes."""
    for tenant in (market["buyers"]["x"], None):
        with db.session(tenant, read_only=True) as session:
            assert (
                session.fetch_all(
                    "select * from seller_revenue('month', '2000-01-01', '2100-01-01', array['paid', 'active'])"
                )
                == []
            )
            assert session.fetch_all("select * from seller_recent_orders(null, 50)") == []
            assert (
                session.fetch_all(
                    "select * from seller_product_customers(%s, null, null, 50)", (market["agent"],)
                )
                == []
            )
            counts = session.fetch_all("select * from seller_subscription_counts(array['active'])")
            assert [(c["product_id"], c["total_subscriptions"]) for c in counts] == [(None, 0)]
