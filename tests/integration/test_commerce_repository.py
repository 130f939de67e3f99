"""Orders and subscriptions belong to the buyer's organization: stored and read back whole, invisible to any
other tenant, and at most one live subscription per project and product."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cmp.commerce.model import Order, Subscription
from cmp.db import Database
from cmp.errors import Conflict, NotFound


def _tenant(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    tenant_id, project_id = uuid.uuid4(), uuid.uuid4()
    with db.session(tenant_id) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, 'T', %s)", (tenant_id, f"t-{tenant_id}")
        )
        session.execute(
            "insert into projects (id, tenant_id, name) values (%s, %s, 'Default')", (project_id, tenant_id)
        )
    return tenant_id, project_id


def _product(db: Database, seller: uuid.UUID) -> uuid.UUID:
    product_id = uuid.uuid4()
    with db.session(seller) as session:
        session.execute(
            "insert into products (id, tenant_id, category, subcategory) values (%s, %s, 'agent', 'single')",
            (product_id, seller),
        )
    return product_id


def _subscription(
    buyer: uuid.UUID, project: uuid.UUID, seller: uuid.UUID, product: uuid.UUID
) -> Subscription:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return Subscription(
        id=uuid.uuid4(),
        tenant_id=buyer,
        project_id=project,
        seller_tenant_id=seller,
        product_id=product,
        product_version="1.0.0",
        product_name="Support Agent",
        product_slug="support-agent",
        category="agent",
        plan_id="plan_abc",
        plan={"id": "plan_abc", "name": "Pro", "tier": "pro"},
        capabilities={"category": "agent"},
        runtime_type="shared",
        status="active",
        billing_period="monthly",
        currency="JPY",
        amount=1500,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
        payment_provider="local",
    )


def test_subscription_and_order_round_trip_and_stay_in_their_tenant(db: Database) -> None:
    buyer, project = _tenant(db)
    other, _ = _tenant(db)
    seller, _ = _tenant(db)
    product = _product(db, seller)
    subscription = _subscription(buyer, project, seller, product)
    order = Order(
        id=uuid.uuid4(),
        tenant_id=buyer,
        seller_tenant_id=seller,
        buyer_user_id=None,
        product_id=product,
        product_version="1.0.0",
        plan_id="plan_abc",
        plan_name="Pro",
        billing_period="monthly",
        currency="JPY",
        amount=1500,
        payment_provider="local",
    )
    with db.unit_of_work(buyer) as uow:
        uow.subscriptions.add(subscription)
        uow.orders.add(order)
        order.mark_paid()
        order.activate(subscription.id)
        uow.orders.save(order)
        subscription.configure("persona", {"name": "Ana"})
        uow.subscriptions.save(subscription)
        uow.commit()

    with db.unit_of_work(buyer) as uow:
        stored = uow.subscriptions.get(subscription.id)
        assert stored.configuration == {"persona": {"name": "Ana"}}
        assert (stored.amount, stored.currency, stored.plan["id"]) == (1500, "JPY", "plan_abc")
        assert uow.orders.get(order.id).status == "active"
        assert uow.orders.get(order.id).subscription_id == subscription.id

    for tenant in (other, seller):
        with db.unit_of_work(tenant) as uow:
            with pytest.raises(NotFound):
                uow.subscriptions.get(subscription.id)
            with pytest.raises(NotFound):
                uow.orders.get(order.id)


def test_one_live_subscription_per_project_and_product(db: Database) -> None:
    buyer, project = _tenant(db)
    seller, _ = _tenant(db)
    product = _product(db, seller)
    with db.unit_of_work(buyer) as uow:
        uow.subscriptions.add(_subscription(buyer, project, seller, product))
        with pytest.raises(Conflict):
            uow.subscriptions.add(_subscription(buyer, project, seller, product))
        ended = _subscription(buyer, project, seller, product)
        ended.status = "cancelled"
        uow.subscriptions.add(ended)
        uow.commit()
    with db.session(buyer) as session:
        assert session.fetch_one("select count(*) as n from subscriptions")["n"] == 2  # type: ignore[index]
