"""Commerce rows made directly through the repositories (checkout is another module's work): organizations
with a project, published products with their listing, subscriptions and orders at chosen times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from cmp.catalog.model import ListingProjection
from cmp.commerce.model import Order, Subscription
from cmp.db import Database

START = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def organization(
    db: Database, name: str = "Org", tenant_id: str | None = None
) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant (created unless `tenant_id` names a signed-up one) and a new project in it."""
    tenant = uuid.UUID(tenant_id) if tenant_id else uuid.uuid4()
    project = uuid.uuid4()
    with db.session(tenant) as session:
        if tenant_id is None:
            session.execute(
                "insert into tenants (id, name, slug) values (%s, %s, %s)", (tenant, name, f"t-{tenant}")
            )
        session.execute(
            "insert into projects (id, tenant_id, name) values (%s, %s, %s)",
            (project, tenant, f"Project {project.hex[:6]}"),
        )
    return tenant, project


def published_product(db: Database, seller: uuid.UUID, name: str) -> tuple[uuid.UUID, str]:
    """A product of `seller` with version 1.0.0 published and listed on the marketplace; (id, slug)."""
    product, slug = uuid.uuid4(), f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:8]}"
    with db.session(seller) as session:
        session.execute(
            "insert into products (id, tenant_id, category, subcategory, name, slug, short_description,"
            " status, live_version, published_at) values (%s, %s, 'agent', 'single', %s, %s, 'Helps.',"
            " 'approved', '1.0.0', now())",
            (product, seller, name, slug),
        )
        session.execute(
            "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing)"
            " values (%s, %s, '1.0.0', '{}', '[]', '{}')",
            (seller, product),
        )
    with db.unit_of_work(seller) as uow:  # listed as an approval lists it
        uow.listings.publish(ListingProjection(uow.products.get(product), "1.0.0", []))
        uow.commit()
    return product, slug


def subscription(
    db: Database,
    buyer: uuid.UUID,
    project: uuid.UUID,
    seller: uuid.UUID,
    product: uuid.UUID,
    *,
    status: str = "active",
    plan: str = "Pro",
    currency: str = "USD",
    amount: int = 2900,
    created_at: datetime = START,
) -> Subscription:
    """A subscription of `buyer`'s project to `product`, created at `created_at`."""
    sub = Subscription(
        id=uuid.uuid4(),
        tenant_id=buyer,
        project_id=project,
        seller_tenant_id=seller,
        product_id=product,
        product_version="1.0.0",
        product_name="Product",
        product_slug="product",
        category="agent",
        plan_id=f"plan_{plan.lower()}",
        plan={"id": f"plan_{plan.lower()}", "name": plan},
        capabilities={},
        runtime_type="shared",
        status=status,  # type: ignore[arg-type]
        billing_period="monthly",
        currency=currency,
        amount=amount,
        current_period_start=created_at,
        current_period_end=created_at + timedelta(days=30),
        payment_provider="local",
    )
    with db.unit_of_work(buyer) as uow:
        uow.subscriptions.add(sub)
        uow.commit()
    with db.session(buyer) as session:
        session.execute("update subscriptions set created_at = %s where id = %s", (created_at, sub.id))
    return sub


def order(
    db: Database,
    buyer: uuid.UUID,
    seller: uuid.UUID,
    product: uuid.UUID,
    *,
    amount: int,
    currency: str = "USD",
    status: str = "active",
    plan: str = "Pro",
    created_at: datetime = START,
) -> Order:
    """An order of `buyer` for `product` in `status`, created at `created_at`."""
    placed = Order(
        id=uuid.uuid4(),
        tenant_id=buyer,
        seller_tenant_id=seller,
        buyer_user_id=None,
        product_id=product,
        product_version="1.0.0",
        plan_id=f"plan_{plan.lower()}",
        plan_name=plan,
        billing_period="monthly",
        currency=currency,
        amount=amount,
        payment_provider="local",
        status=status,  # type: ignore[arg-type]
    )
    with db.unit_of_work(buyer) as uow:
        uow.orders.add(placed)
        uow.commit()
    with db.session(buyer) as session:
        session.execute("update orders set created_at = %s where id = %s", (created_at, placed.id))
    return placed
