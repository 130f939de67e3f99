"""The usage routes through the real handlers and database: the buyer's usage by metric and day against
the plan's limits (current and past periods), the seller's usage per product and customer, the same
numbers everywhere, and nothing for another organization."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from cmp.db import Database
from cmp.metering.model import UsageEvent
from cmp.metering.services import UsageRollupJob
from tests.fakes import FixedClock

from .commerce_support import buy, call, plan, portal_runtime, publish
from .conftest import Platform, caller_of


def record(db: Database, tenant: str, subscription_id: str, metric: str, quantity: int, at: Any) -> None:
    with db.unit_of_work(tenant) as uow:
        uow.usage.record(UsageEvent(uuid.UUID(subscription_id), metric, quantity, at, uuid.uuid4().hex))
        uow.commit()


def test_buyer_and_seller_see_the_same_usage_and_nobody_else_sees_it(platform: Platform) -> None:
    auth = platform.function("AuthApiFunction").services
    db = platform.function("CommerceApiFunction").services.db
    seller = caller_of(auth, "Usage Seller", "seller")
    offer = publish(db, seller["tenant_id"], [plan("Pro", "pro", "10.00", limits={"messages": 100})])
    buyer = caller_of(auth, "Usage Buyer", "buyer")
    status, order = buy(platform, buyer, offer)
    assert status == 201, order
    sid = order["subscription_id"]
    _, sub = call(platform, "GET", f"/v1/subscriptions/{sid}", buyer)
    start = sub["current_period"]["start"]
    begin = datetime.fromisoformat(start)
    record(db, buyer["tenant_id"], sid, "messages", 3, begin + timedelta(minutes=1))
    record(db, buyer["tenant_id"], sid, "messages", 4, begin + timedelta(days=1, minutes=1))
    record(db, buyer["tenant_id"], sid, "tokens_in", 500, begin + timedelta(days=1, minutes=2))
    UsageRollupJob(db.unit_of_work, FixedClock(begin + timedelta(minutes=5))).run()
    record(db, buyer["tenant_id"], sid, "messages", 2, begin + timedelta(days=1, minutes=3))  # the live tail

    owner = portal_runtime(db, buyer, sid)  # a runtime route: the buyer's portal token, as authorized
    status, usage = call(platform, "GET", f"/v1/subscriptions/{sid}/usage", owner)
    assert status == 200, usage
    assert usage["usage"]["messages"] == {"used": 9, "limit": 100}
    assert usage["usage"]["tokens_in"] == {"used": 500, "limit": None}
    day0, day1 = begin.date().isoformat(), (begin + timedelta(days=1)).date().isoformat()
    assert usage["days"] == [
        {"date": day0, "usage": {"messages": 3}},
        {"date": day1, "usage": {"messages": 6, "tokens_in": 500}},
    ]
    assert usage["period"] == {**usage["periods"][0], "current": True, "closed": False}
    assert usage["adjustments"] == {}
    _, shown = call(platform, "GET", f"/v1/subscriptions/{sid}", buyer)
    assert shown["usage"]["messages"] == usage["usage"]["messages"]

    status, same = call(
        platform, "GET", f"/v1/subscriptions/{sid}/usage", owner, query={"period": start[:10]}
    )
    assert status == 200 and same["usage"] == usage["usage"]
    status, body = call(
        platform, "GET", f"/v1/subscriptions/{sid}/usage", owner, query={"period": "1999-01-01"}
    )
    assert status == 404, body
    status, body = call(platform, "GET", f"/v1/subscriptions/{sid}/usage", owner, query={"period": "May"})
    assert status == 422 and body["errors"][0]["path"] == "query.period", body

    status, product = call(
        platform,
        "GET",
        f"/v1/provider/products/{offer['id']}/usage",
        seller,
        function="ProviderApiFunction",
    )
    assert status == 200, product
    assert product["totals"] == {"messages": 9, "tokens_in": 500}
    [customer] = product["customers"]
    assert customer["subscription_id"] == sid and customer["organization"]["id"] == buyer["tenant_id"]
    assert customer["usage"] == {"messages": 9, "tokens_in": 500}

    intruder = caller_of(auth, "Usage Intruder", "both")  # on the buyer's usage route: test_analytics_read.py
    status, _ = call(
        platform,
        "GET",
        f"/v1/provider/products/{offer['id']}/usage",
        intruder,
        function="ProviderApiFunction",
    )
    assert status == 404
    status, _ = call(
        platform, "GET", f"/v1/provider/products/{offer['id']}/usage", buyer, function="ProviderApiFunction"
    )
    assert status == 403
    status, _ = call(platform, "GET", f"/v1/subscriptions/{sid}/usage", None)
    assert status == 401
