"""Demo data for `make run`: idempotent, so a restart finds what it left and adds nothing twice.

Demo products go through the same path a seller's do (wizard, presigned logo upload, automated checks,
admin approval), so the demo marketplace shows exactly what the platform would publish.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from cmp.bootstrap import Services
from cmp.catalog.messages import ReviewJob
from cmp.catalog.paging import PRODUCTS_MAX_LIMIT, ProductPage
from cmp.commerce.checkout import CheckoutInput
from cmp.errors import NotFound
from cmp_dev.demo_agent import seed_demo_agent
from cmp_dev.demo_sync import seed_data_sync

# A valid 1×1 PNG, the demo products' logo.
LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    organization: str
    roles: tuple[str, ...]
    is_platform_admin: bool = False


@dataclass(frozen=True)
class DemoProduct:
    slug: str
    category: str
    subcategory: str
    template: str
    listing: dict[str, Any]
    capabilities: dict[str, Any] = field(default_factory=dict)
    plans: list[dict[str, Any]] = field(default_factory=list)


SELLER = DemoAccount("seller@demo.cmp.dev", "Acme-Sells-2026!", "Acme AI Labs", ("owner", "seller", "buyer"))
BUYER = DemoAccount("buyer@demo.cmp.dev", "Globex-Buys-2026!", "Globex Retail", ("owner", "buyer"))
ADMIN = DemoAccount("admin@demo.cmp.dev", "Platform-Ops-2026!", "CMP Platform", ("owner", "admin"), True)
DEMO_ACCOUNTS = (SELLER, BUYER, ADMIN)
DEMO_AGENT = "techcorp-support-agent"
"""The demo buyer's agent that answers from TechCorp's catalog and return policy, and from the warranty its
seller provides with the product (`cmp_dev.demo_agent`)."""
DEMO_AUTOMATION = "acme-crm-sync"
"""The demo automation: its subscription holds the Data Sync Automation workflow (`cmp_dev.demo_sync`)."""
DEMO_PURCHASES = (DEMO_AGENT, "acme-support-agent", "acme-blog-writer", DEMO_AUTOMATION)
"""What the demo buyer holds: the TechCorp agent, the demo agent, assistant and automation, each on its first
plan, monthly. The docs' examples select the demo agent (an empty knowledge base) by its slug, not by its
place in the list."""

_DESCRIPTION = (
    "{name} is a demo product of the CMP marketplace. It shows how a listing reads: what the "
    "product does, who it is for, and what a buyer can configure after purchase."
)

DEMO_PRODUCTS = (
    DemoProduct(
        "acme-support-agent",
        "agent",
        "single",
        "customer_support",
        {
            "name": "Acme Support Agent",
            "tags": ["support", "customer-service", "rag"],
            "short_description": "Answers customer questions from your documents, with citations, around the clock.",
        },
        capabilities={"runtime": {"deployment": "hybrid", "compute": {"cpu": "medium", "memory": "medium"}}},
        plans=[
            {"name": "Starter", "tier": "starter", "priceMonthly": "29", "priceYearly": "290"},
            {"name": "Pro", "tier": "pro", "priceMonthly": "99", "priceYearly": "990"},
            {"name": "Enterprise", "tier": "enterprise", "priceMonthly": "999", "priceYearly": "9990"},
        ],
    ),
    DemoProduct(
        DEMO_AGENT,
        "agent",
        "single",
        "customer_support",
        {
            "name": "TechCorp Support Agent",
            "tags": ["support", "multilingual", "rag"],
            "short_description": "Answers TechCorp's customers about its products and returns, in English"
            " and Spanish, with citations.",
        },
        capabilities={"runtime": {"deployment": "hybrid", "compute": {"cpu": "medium", "memory": "medium"}}},
        plans=[{"name": "Starter", "tier": "starter", "priceMonthly": "19", "priceYearly": "190"}],
    ),
    DemoProduct(
        "acme-faq-bot",
        "agent",
        "single",
        "faq_bot",
        {
            "name": "Acme FAQ Bot",
            "tags": ["faq", "support"],
            "short_description": "Answers frequently asked questions from your Q&A file, and only those.",
        },
    ),
    DemoProduct(
        "acme-blog-writer",
        "assistant",
        "writer",
        "sales_assistant",
        {
            "name": "Acme Blog Writer",
            "tags": ["marketing", "writing"],
            "short_description": "Drafts blog posts and newsletters in your brand's voice.",
        },
    ),
    DemoProduct(
        "acme-crm-sync",
        "automation",
        "scheduled",
        "blank",
        {
            "name": "Acme CRM Sync",
            "tags": ["sales", "crm", "sync"],
            "short_description": "Keeps your CRM and billing system in step, every hour.",
        },
        plans=[
            {"name": "Starter", "tier": "starter", "priceMonthly": "49", "priceYearly": "490"},
            {"name": "Pro", "tier": "pro", "priceMonthly": "149", "priceYearly": "1490"},
        ],
    ),
)


def seed(services: Services) -> dict[str, Any]:
    """Create what does not exist yet: the demo accounts, then the seller's published demo products.

    Returns `tenants` (demo email → tenant id), `products` (the demo products' slugs), `unpublished`
    (slug → product status, for each demo product that is not in the marketplace now), `subscriptions`
    (the demo buyer's, slug → subscription id) and `demo_agent` (`cmp_dev.demo_agent.DemoAgent` as a dict: the
    TechCorp knowledge ingested into the buyer's demo agent and its product's, and a new API key;
    None when the buyer holds no demo agent) and `data_sync` (`cmp_dev.demo_sync.DataSyncDemo` as a dict: the
    buyer's active Data Sync Automation workflow; None without the demo automation or outside the local
    stack). A demo product that exists is left as it is: one archived after an earlier run stays archived,
    and `unpublished` says so.
    """
    tenants: dict[str, str] = {}
    users: dict[str, str] = {}
    for account in DEMO_ACCOUNTS:
        if services.tenancy.find_account(account.email) is None:
            services.tenancy.create_account(
                account.email,
                account.password,
                account.organization,
                list(account.roles),
                is_platform_admin=account.is_platform_admin,
            )
        found = services.tenancy.find_account(account.email)
        assert found is not None and found["tenant_id"] is not None
        tenants[account.email], users[account.email] = found["tenant_id"], found["user_id"]
    published = [
        _publish(services, tenants[SELLER.email], users[ADMIN.email], product) for product in DEMO_PRODUCTS
    ]
    unpublished = _unpublished(services, tenants[SELLER.email], published)
    buyable = [slug for slug in DEMO_PURCHASES if slug not in unpublished]
    subscriptions = _subscribe(services, tenants[BUYER.email], users[BUYER.email], buyable)
    agent = subscriptions.get(DEMO_AGENT)
    sync = subscriptions.get(DEMO_AUTOMATION)
    data_sync = seed_data_sync(services, tenants[BUYER.email], sync) if sync else None
    demo_agent = None
    if agent:
        seller = tenants[SELLER.email]
        product_id = next(
            p["id"] for p in services.product_views.list_products(seller) if p["slug"] == DEMO_AGENT
        )
        demo_agent = seed_demo_agent(
            services, tenants[BUYER.email], users[BUYER.email], agent, seller, str(product_id)
        )
    return {
        "tenants": tenants,
        "products": published,
        "unpublished": unpublished,
        "subscriptions": subscriptions,
        "demo_agent": asdict(demo_agent) if demo_agent else None,
        "data_sync": asdict(data_sync) if data_sync else None,
    }


def _subscribe(services: Services, tenant_id: str, user_id: str, slugs: list[str]) -> dict[str, str]:
    """The demo buyer's live subscription to each of `slugs` (slug → subscription id), bought through
    checkout with the local provider's paying test card the first time, found again afterwards."""
    page = ProductPage.from_query(str(PRODUCTS_MAX_LIMIT), None)
    held = {
        item["product"]["slug"]: item["subscription_id"]
        for item in services.commerce_views.page_subscriptions(tenant_id, page)["items"]
        if item["status"] in ("active", "provisioning")
    }
    for slug in slugs:
        if slug in held:
            continue
        plan_id = services.marketplace.product(slug)["plans"][0]["id"]
        order_id = services.checkout.checkout(
            tenant_id, user_id, CheckoutInput(slug, plan_id, "monthly", "pm_card_visa"), f"demo-{slug}"
        )
        order = services.commerce_views.order(tenant_id, order_id)
        held[slug] = str(order["subscription_id"])
    return {slug: held[slug] for slug in slugs}


def _unpublished(services: Services, tenant_id: str, slugs: list[str]) -> dict[str, str]:
    """The status of each of `slugs` that the marketplace does not show (what the buyer would see)."""
    statuses = {p["slug"]: p["status"] for p in services.product_views.list_products(tenant_id)}
    missing: dict[str, str] = {}
    for slug in slugs:
        try:
            services.marketplace.product(slug)
        except NotFound:
            missing[slug] = statuses.get(slug, "missing")
    return missing


def _publish(services: Services, tenant_id: str, admin_user_id: str, demo: DemoProduct) -> str:
    existing = {p["slug"]: p for p in services.product_views.list_products(tenant_id)}
    if demo.slug in existing:
        return demo.slug
    product_id = services.wizard.create_draft(tenant_id, demo.category, demo.subcategory)["id"]
    product = services.wizard.apply_template(tenant_id, product_id, demo.template)
    services.wizard.set_capabilities(tenant_id, product_id, {**product["capabilities"], **demo.capabilities})
    if demo.plans or not product["plans"]:
        services.wizard.set_plans(
            tenant_id,
            product_id,
            demo.plans
            or [{"name": "Starter", "tier": "starter", "priceMonthly": "19", "priceYearly": "190"}],
        )
    else:
        services.wizard.set_plans(tenant_id, product_id, product["plans"])
    services.wizard.set_listing(
        tenant_id,
        product_id,
        {
            **demo.listing,
            "slug": demo.slug,
            "full_description": _DESCRIPTION.format(name=demo.listing["name"]),
            "documentation_url": f"https://docs.example.com/{demo.slug}",
        },
    )
    upload = services.product_assets.request_upload(tenant_id, product_id, "logo", "image/png", len(LOGO_PNG))
    post = upload["upload"]
    httpx.post(
        post["url"], data=post["fields"], files={"file": ("logo.png", LOGO_PNG, "image/png")}, timeout=30
    ).raise_for_status()
    services.product_assets.complete_upload(tenant_id, product_id, upload["asset_id"])
    submitted = services.lifecycle.submit(tenant_id, product_id)
    services.reviews.run_checks(
        ReviewJob(tenant_id=tenant_id, product_id=product_id, review_run_id=submitted["review_run_id"])
    )
    services.reviews.approve(admin_user_id, product_id)
    return demo.slug
