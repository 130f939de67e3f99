"""Subscriptions for tests that need one before checkout exists: written straight through the commerce
repository (as `tests/integration/test_commerce_repository.py` does), with a capability snapshot built by the
real validation from a category's defaults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cmp.capabilities.validation import validate_capabilities
from cmp.commerce.model import Subscription
from cmp.db import Database

PRO_PLAN = {"id": "plan_pro", "name": "Pro", "tier": "pro", "limits": {"rateLimitRpm": 300}}


def capabilities(category: str = "agent", subcategory: str = "single", **overrides: Any) -> dict[str, Any]:
    """A valid stored capability document: the category's defaults with `overrides` (camelCase, nested)."""
    result = validate_capabilities(
        {"category": category, "subcategory": {category: subcategory}, **overrides}
    )
    assert result.capabilities is not None, result.errors
    return result.capabilities.to_document()


def seller_product(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """A seller organization and one of its products: (seller tenant id, product id)."""
    seller, product = uuid.uuid4(), uuid.uuid4()
    with db.session(seller) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, 'Seller', %s)", (seller, f"s-{seller}")
        )
        session.execute(
            "insert into products (id, tenant_id, category, subcategory) values (%s, %s, 'agent', 'single')",
            (product, seller),
        )
    return seller, product


def subscribe(
    db: Database,
    buyer_tenant: str | uuid.UUID,
    document: dict[str, Any] | None = None,
    *,
    plan: dict[str, Any] | None = None,
    status: str = "active",
    configuration: dict[str, Any] | None = None,
    slug: str = "support-agent",
    product: tuple[uuid.UUID, uuid.UUID] | None = None,
) -> Subscription:
    """A subscription of `buyer_tenant` (which gets a new project) to `product` (seller tenant id, product id),
    by default a new product of a new seller."""
    buyer = uuid.UUID(str(buyer_tenant))
    seller, product_id = product or seller_product(db)
    project = uuid.uuid4()
    with db.session(buyer) as session:
        session.execute(
            "insert into projects (id, tenant_id, name) values (%s, %s, %s)", (project, buyer, f"P {project}")
        )
    start = datetime.now(UTC) - timedelta(days=1)
    subscription = Subscription(
        id=uuid.uuid4(),
        tenant_id=buyer,
        project_id=project,
        seller_tenant_id=seller,
        product_id=product_id,
        product_version="1.0.0",
        product_name="Support Agent",
        product_slug=slug,
        category="agent",
        plan_id="plan_pro",
        plan=plan or PRO_PLAN,
        capabilities=document or capabilities(),
        runtime_type="shared",
        status=status,  # type: ignore[arg-type]
        billing_period="monthly",
        currency="USD",
        amount=2900,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
        payment_provider="local",
        configuration=configuration or {},
    )
    with db.unit_of_work(buyer) as uow:
        uow.subscriptions.add(subscription)
        uow.commit()
    return subscription
