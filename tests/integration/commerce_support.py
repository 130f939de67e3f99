"""Helpers of the commerce integration tests: published offers (listing + version rows, as approval
writes them, with plan ids), buyers, and calls through the commerce and webhook functions."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from cmp.capabilities import plan_defaults, validate_capabilities
from cmp.commerce.model import Subscription
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.tenancy.credentials import SCOPES

from .conftest import Platform, api_event

BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def plan_id() -> str:
    return "plan_" + "".join(secrets.choice(BASE32) for _ in range(12))


def plan(
    name: str,
    tier: str,
    monthly: str | None,
    yearly: str | None = None,
    *,
    currency: str = "USD",
    runtime: str | None = None,
    limits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A stored plan document: camelCase, tier defaults applied, prices as text, a stable id."""
    defaults = plan_defaults(tier)
    return {
        "id": plan_id(),
        "name": name,
        "tier": tier,
        "priceMonthly": monthly,
        "priceYearly": yearly,
        "currency": currency,
        "limits": {**defaults["limits"], **(limits or {})},
        "runtimeType": runtime or defaults["runtimeType"],
        "features": [],
    }


def capabilities(category: str = "agent", subcategory: str = "single") -> dict[str, Any]:
    checked = validate_capabilities({"category": category, "subcategory": {category: subcategory}})
    assert checked.capabilities is not None
    return checked.capabilities.to_document()


def new_tenant(db: Database, name: str = "Seller") -> str:
    tenant_id = str(uuid.uuid4())
    with db.session(tenant_id) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, %s, %s)", (tenant_id, name, f"t-{tenant_id}")
        )
    return tenant_id


def publish(
    db: Database,
    seller: str,
    plans: list[dict[str, Any]],
    *,
    category: str = "agent",
    subcategory: str = "single",
    name: str = "Support Agent",
    version: str = "1.0.0",
) -> dict[str, Any]:
    """A published product: products row, its version and its marketplace listing."""
    caps = capabilities(category, subcategory)
    slug = f"{'-'.join(name.lower().split())}-{uuid.uuid4().hex[:8]}"
    with db.session(seller) as session:
        row = session.fetch_one(
            "insert into products (tenant_id, category, subcategory, capabilities, name, slug, short_description,"
            " status, live_version, published_at) values (%s, %s, %s, %s, %s, %s, %s, 'approved', %s, now())"
            " returning id",
            (seller, category, subcategory, Jsonb(caps), name, slug, name, version),
        )
        assert row is not None
        session.execute(
            "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing)"
            " values (%s, %s, %s, %s, %s, %s)",
            (seller, row["id"], version, Jsonb(caps), Jsonb(plans), Jsonb({"name": name, "slug": slug})),
        )
        session.execute(
            "insert into marketplace_listings (product_id, tenant_id, version, slug, name, short_description,"
            " category, subcategory, seller_name, capabilities, plans, runtime_types, currency, published_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, 'Seller', %s, %s, %s, %s, now())",
            (
                row["id"],
                seller,
                version,
                slug,
                name,
                name,
                category,
                subcategory,
                Jsonb(caps),
                Jsonb(plans),
                sorted({p["runtimeType"] for p in plans}),
                plans[0]["currency"],
            ),
        )
    return {"id": str(row["id"]), "slug": slug, "plans": plans, "seller": seller}


def call(
    platform: Platform,
    method: str,
    path: str,
    caller: dict[str, str] | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    function: str = "CommerceApiFunction",
) -> tuple[int, Any]:
    event = api_event(method, path, body, caller, query)
    event["headers"].update(headers or {})
    response = platform.invoke(function, event)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def buy(
    platform: Platform,
    caller: dict[str, str],
    offer: dict[str, Any],
    plan_index: int = 0,
    billing_period: str = "monthly",
    **extra: Any,
) -> tuple[int, Any]:
    body = {
        "product": offer["slug"],
        "plan_id": offer["plans"][plan_index]["id"],
        "billing_period": billing_period,
    }
    return call(platform, "POST", "/v1/checkout", caller, {**body, **extra})


def portal_runtime(db: Database, caller: dict[str, str], subscription_id: object) -> dict[str, str]:
    """The runtime authorizer's context for `caller` (a `caller_of` buyer) acting on its own subscription
    with its portal token (every scope): what the read-only runtime routes (usage, dashboard) receive. The
    authorizer's own checks (another organization, a key's scope) are tested through the function in
    test_analytics_read.py."""
    with db.unit_of_work(caller["tenant_id"]) as uow:
        subscription = uow.subscriptions.get(uuid.UUID(str(subscription_id)))
    return portal_context(subscription, caller)


def portal_context(subscription: Subscription, caller: dict[str, str]) -> dict[str, str]:
    """The runtime authorizer's context (`RuntimeContext.to_authorizer`) of `caller`, the buyer of
    `subscription` signed in to the portal (every scope)."""
    return RuntimeContext(
        "portal",
        subscription.tenant_id,
        subscription.id,
        subscription.product_id,
        subscription.plan_id,
        subscription.runtime_type,
        None,
        SCOPES,
        user_id=uuid.UUID(caller["user_id"]),
    ).to_authorizer()
