"""The public marketplace: categories, search, product details, comparison and featured listings.

Reads only `marketplace_catalog`, the read-only view of `marketplace_listings` (the public projection of
each published product's live version), so drafts, products in review and archived products cannot
appear. Every read runs without a tenant; the view exists so the planner can use the table's statistics
(see migration 0003). Listings hold S3 keys for logos and screenshots; `asset_url` turns a
key into a URL a browser can load (a presigned GET in production).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from cmp.capabilities import CATEGORIES, capability_summary
from cmp.catalog.search import (
    CARD_COLUMNS,
    MAX_LIMIT,
    ProductSearch,
    build_search_sql,
    encode_cursor,
    row_sort_values,
)
from cmp.db import Database
from cmp.errors import FieldError, NotFound, ValidationFailed

CATEGORY_TEXT: dict[str, tuple[str, str]] = {
    "agent": ("Agents", "Conversational AI with context and memory"),
    "app": ("Apps", "Agentic applications with tools and integrations"),
    "assistant": ("Assistants", "Generative AI for content creation"),
    "automation": ("Automations", "Workflow automation with triggers and schedules"),
}
SUBCATEGORY_NAMES: dict[str, str] = {
    "single": "Single agent",
    "multi": "Multi-agent",
    "swarm": "Agent swarm",
    "orchestrator": "Orchestrator",
    "agentic": "Agentic app",
    "tool": "Tool",
    "connector": "Connector",
    "integration": "Integration",
    "writer": "Writer",
    "image": "Image",
    "voice": "Voice",
    "video": "Video",
    "code": "Code",
    "data": "Data",
    "general": "General",
    "workflow": "Workflow",
    "scheduled": "Scheduled",
    "triggered": "Triggered",
    "hybrid": "Hybrid",
}
FEATURED_DEFAULT_LIMIT = 12
COMPARE_MIN, COMPARE_MAX = 2, 4
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

DETAIL_COLUMNS = (
    f"{CARD_COLUMNS}, l.full_description, l.screenshot_keys, l.demo_url, l.documentation_url,"
    " l.capabilities, l.plans, l.subscriber_count, l.published_at"
)

QUOTA_LABELS = {
    "messages": "Messages / month",
    "tokens": "Tokens / month",
    "apiCalls": "API calls / month",
    "executions": "Workflow runs / month",
    "users": "Users",
}
"""Plan quotas; null means unlimited."""
CEILING_LABELS = {
    "rateLimitRpm": "Requests / minute",
    "concurrency": "Concurrent sessions",
    "storageMB": "Storage",
}
"""Plan limits where null means "as much as the product allows" (read from its capabilities)."""
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
INCLUDED, NOT_INCLUDED = "✓", "—"


class MarketplaceService:
    """The buyer's read side of the catalog. Public: no tenant, no caller."""

    def __init__(self, db: Database, asset_url: Callable[[str], str] | None = None) -> None:
        self._db = db
        self._asset_url = asset_url

    def categories(self) -> dict[str, Any]:
        """All four categories with their subcategories, in spec order, with live listing counts."""
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(
                "select category, subcategory, count(*)::int as n from marketplace_catalog"
                " group by category, subcategory"
            )
        counts = {(r["category"], r["subcategory"]): r["n"] for r in rows}
        return {
            "categories": [
                {
                    "id": category,
                    "name": CATEGORY_TEXT[category][0],
                    "description": CATEGORY_TEXT[category][1],
                    "product_count": sum(n for (c, _), n in counts.items() if c == category),
                    "subcategories": [
                        {
                            "id": sub,
                            "name": SUBCATEGORY_NAMES[sub],
                            "product_count": counts.get((category, sub), 0),
                        }
                        for sub in subcategories
                    ],
                }
                for category, subcategories in CATEGORIES.items()
            ]
        }

    def search(self, search: ProductSearch) -> dict[str, Any]:
        """One page of cards and the cursor of the next page (None on the last)."""
        query, params = build_search_sql(search)
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(query, params)
        page = rows[: search.limit]
        more = len(rows) > search.limit
        return {
            "items": [self._card(row) for row in page],
            "next_cursor": encode_cursor(search, row_sort_values(search, page[-1])) if more else None,
        }

    def featured(self, limit: int = FEATURED_DEFAULT_LIMIT) -> dict[str, Any]:
        """Featured listings first, then the best rated, then the newest."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationFailed(
                "the limit is invalid",
                errors=[FieldError("query.limit", f"must be a whole number from 1 to {MAX_LIMIT}")],
            )
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(
                f"select {CARD_COLUMNS} from marketplace_catalog l"
                " order by l.featured desc, l.rating_avg desc, l.rating_count desc, l.published_at desc,"
                " l.product_id limit %s",
                (limit,),
            )
        return {"items": [self._card(row) for row in rows]}

    def product(self, slug_or_id: str) -> dict[str, Any]:
        """Everything a product page shows: the card, the description, screenshots, what the product can
        do (capability summary) and its plans side by side."""
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(
                f"select {DETAIL_COLUMNS} from marketplace_catalog l where {_match_one()}",
                _match_params([slug_or_id]),
            )
        if not rows:
            raise NotFound(f"product '{slug_or_id[:120]}' not found")
        row = rows[0]
        screenshots = [self._asset_url(key) for key in row["screenshot_keys"]] if self._asset_url else []
        return {
            **self._card(row),
            "full_description": row["full_description"],
            "screenshot_urls": screenshots,
            "demo_url": row["demo_url"],
            "documentation_url": row["documentation_url"],
            "published_at": row["published_at"],
            "subscriber_count": row["subscriber_count"],
            "capabilities": _snake_keys(capability_summary(row["capabilities"])),
            "plans": [_plan_offer(plan) for plan in row["plans"]],
            "comparison": plan_comparison(row["plans"], row["capabilities"]),
        }

    def compare(self, refs: Sequence[str]) -> dict[str, Any]:
        """2 to 4 products (slugs or ids) side by side, in the order asked: capabilities and prices."""
        wanted = [ref.strip() for ref in refs if ref.strip()]
        if not COMPARE_MIN <= len(wanted) <= COMPARE_MAX:
            raise ValidationFailed(
                "compare needs 2 to 4 products",
                errors=[
                    FieldError(
                        "query.products",
                        f"give {COMPARE_MIN} to {COMPARE_MAX} comma-separated slugs or ids "
                        f"(got {len(wanted)})",
                    )
                ],
            )
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(
                f"select {DETAIL_COLUMNS} from marketplace_catalog l where {_match_one()}",
                _match_params(wanted),
            )
        by_ref = {key: row for row in rows for key in (row["slug"], str(row["product_id"]))}
        missing = [(i, ref) for i, ref in enumerate(wanted) if _normal_ref(ref) not in by_ref]
        if missing:
            names = ", ".join(f"'{ref[:120]}'" for _, ref in missing)
            problems = [FieldError(f"query.products[{i}]", f"'{ref[:120]}' not found") for i, ref in missing]
            raise NotFound(f"no such product: {names}", errors=problems)
        chosen = [by_ref[_normal_ref(ref)] for ref in wanted]
        if len({row["product_id"] for row in chosen}) != len(chosen):
            raise ValidationFailed(
                "a product is listed twice", errors=[FieldError("query.products", "name each product once")]
            )
        return {
            "products": [
                {
                    **self._card(row),
                    "price_range": price_range(row["plans"]),
                    "plan_names": [plan.get("name") for plan in row["plans"]],
                    "capabilities": _snake_keys(capability_summary(row["capabilities"])),
                }
                for row in chosen
            ]
        }

    def _card(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(row["product_id"]),
            "slug": row["slug"],
            "name": row["name"],
            "short_description": row["short_description"],
            "category": row["category"],
            "subcategory": row["subcategory"],
            "tags": list(row["tags"]),
            "seller_name": row["seller_name"],
            "logo_url": self._asset_url(row["logo_key"]) if self._asset_url and row["logo_key"] else None,
            "min_price_monthly": _money(row["min_price_monthly"]),
            "currency": row["currency"] or "USD",
            "runtime_types": list(row["runtime_types"]),
            "rating_avg": float(row["rating_avg"]),
            "rating_count": row["rating_count"],
            "featured": row["featured"],
            "version": row["version"],
        }


def _as_id(ref: str) -> str | None:
    """The canonical product id `ref` spells, or None if it is not an id."""
    try:
        return str(UUID(ref))
    except ValueError:
        return None


def _normal_ref(ref: str) -> str:
    """A reference as the lookup keys spell it: an id in canonical form, a slug as given."""
    return _as_id(ref) or ref


def _match_one() -> str:
    return "l.product_id = any(%(ids)s::uuid[]) or l.slug = any(%(slugs)s::text[])"


def _match_params(refs: Sequence[str]) -> dict[str, list[str]]:
    """Split references into ids and slugs (anything shaped like an id is one). A reference that is
    neither cannot match, so it is left out and reported as not found."""
    ids, slugs = [], []
    for ref in refs:
        product_id = _as_id(ref)
        if product_id is not None:
            ids.append(product_id)
        elif len(ref) <= 120 and SLUG_PATTERN.fullmatch(ref):
            slugs.append(ref)
    return {"ids": ids, "slugs": slugs}


def _snake_keys(summary: dict[str, Any]) -> dict[str, Any]:
    """The capability summary's keys in the API's snake_case (`youCanConfigure` → `you_can_configure`)."""
    return {_snake(key): value for key, value in summary.items()}


# ---------------------------------------------------------------------------------------------- plans
def _decimal(value: Any) -> Decimal | None:
    """Plan prices are stored as JSON strings ("29.00") or numbers; anything else is no price."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _money(value: Any) -> float | None:
    amount = _decimal(value)
    return None if amount is None else float(amount)


def _plan_offer(plan: dict[str, Any]) -> dict[str, Any]:
    """A stored (camelCase) plan in the API's snake_case."""
    limits = plan.get("limits") or {}
    return {
        "name": plan.get("name"),
        "tier": plan.get("tier"),
        "price_monthly": _money(plan.get("priceMonthly")),
        "price_yearly": _money(plan.get("priceYearly")),
        "currency": plan.get("currency") or "USD",
        "runtime_type": plan.get("runtimeType"),
        "limits": {_snake(key): value for key, value in limits.items()},
        "features": list(plan.get("features") or []),
    }


def _snake(name: str) -> str:
    """`rateLimitRpm` → `rate_limit_rpm`, `storageMB` → `storage_mb`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def price_range(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """Cheapest and dearest monthly price; `custom_pricing` when a plan has no price (contact the seller)."""
    prices = [p for p in (_decimal(plan.get("priceMonthly")) for plan in plans) if p is not None]
    return {
        "min_monthly": float(min(prices)) if prices else None,
        "max_monthly": float(max(prices)) if prices else None,
        "currency": next((plan["currency"] for plan in plans if plan.get("currency")), "USD"),
        "custom_pricing": len(prices) < len(plans),
    }


def _format_price(amount: Decimal | None, currency: str, *, when_missing: str) -> str:
    if amount is None:
        return when_missing
    if amount == 0:
        return "Free"
    number = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def _count(value: Any) -> str:
    if isinstance(value, bool):
        return INCLUDED if value else NOT_INCLUDED
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _storage(megabytes: int) -> str:
    if megabytes >= 1024 and megabytes % 1024 == 0:
        return f"{megabytes // 1024:,} GB"
    return f"{megabytes:,} MB"


def _capability_ceilings(capabilities: dict[str, Any]) -> dict[str, int | None]:
    """What a plan limit left open (null) grants: the product's own runtime and knowledge limits."""
    runtime_limits = (capabilities.get("runtime") or {}).get("limits") or {}
    configuration = capabilities.get("configuration") or {}
    storage = [
        block["limits"]["maxSizeMB"]
        for block in (configuration.get("knowledge") or {}, configuration.get("rag") or {})
        if block.get("enabled") and isinstance((block.get("limits") or {}).get("maxSizeMB"), int)
    ]
    return {
        "rateLimitRpm": runtime_limits.get("rateLimit"),
        "concurrency": runtime_limits.get("concurrency"),
        "storageMB": max(storage) if storage else None,
    }


def _runs_workflows(capabilities: dict[str, Any]) -> bool:
    configuration = capabilities.get("configuration") or {}
    return any((configuration.get(block) or {}).get("enabled") for block in ("workflow", "workflowAdvanced"))


def plan_comparison(plans: list[dict[str, Any]], capabilities: dict[str, Any]) -> dict[str, Any]:
    """Plans side by side: one column per plan, one row per price, limit and feature, as display text.

    Rows a buyer cannot act on are left out: workflow runs for a product without workflows, storage for a
    product without a knowledge base whose plans set none.
    """
    ceilings = _capability_ceilings(capabilities)
    monthly = [_decimal(p.get("priceMonthly")) for p in plans]
    currencies = [p.get("currency") or "USD" for p in plans]
    rows: list[dict[str, Any]] = [
        {
            "key": "price_monthly",
            "label": "Price / month",
            "values": [
                _format_price(price, currency, when_missing="Contact us")
                for price, currency in zip(monthly, currencies, strict=True)
            ],
        },
        {
            "key": "price_yearly",
            "label": "Price / year",
            "values": [
                _format_price(
                    _decimal(p.get("priceYearly")),
                    currency,
                    when_missing="Contact us" if price is None else NOT_INCLUDED,
                )
                for p, price, currency in zip(plans, monthly, currencies, strict=True)
            ],
        },
        {
            "key": "runtime_type",
            "label": "Runtime",
            "values": [str(p.get("runtimeType") or "shared").capitalize() for p in plans],
        },
    ]
    limits = [p.get("limits") or {} for p in plans]
    for key, label in QUOTA_LABELS.items():
        if key == "executions" and not _runs_workflows(capabilities):
            continue
        rows.append(
            {
                "key": f"limits.{_snake(key)}",
                "label": label,
                "values": ["Unlimited" if lim.get(key) is None else _count(lim[key]) for lim in limits],
            }
        )
    for key, label in CEILING_LABELS.items():
        values = [lim.get(key) if lim.get(key) is not None else ceilings[key] for lim in limits]
        if all(v is None for v in values):
            continue
        show = _storage if key == "storageMB" else _count
        rows.append(
            {
                "key": f"limits.{_snake(key)}",
                "label": label,
                "values": [NOT_INCLUDED if v is None else show(v) for v in values],
            }
        )
    offered = [{str(f).casefold() for f in p.get("features") or []} for p in plans]
    features: dict[str, str] = {}
    for plan in plans:
        for feature in plan.get("features") or []:
            features.setdefault(str(feature).casefold(), str(feature))
    for folded, feature in features.items():
        rows.append(
            {
                "key": "feature",
                "label": feature,
                "values": [
                    INCLUDED if folded in plan_features else NOT_INCLUDED for plan_features in offered
                ],
            }
        )
    return {"columns": [str(p.get("name") or "") for p in plans], "rows": rows}
