"""The public marketplace: categories, search, product details, comparison and featured listings.

Reads only `marketplace_catalog`, the read-only view of `marketplace_listings` (the public projection of
each published product's live version), so drafts, products in review and archived products cannot
appear. Every read runs without a tenant; the view exists so the planner can use the table's statistics
(see migration 0003). Listings hold S3 keys for logos and screenshots; `asset_url` turns a
key into a URL a browser can load (a presigned GET in production). A card's starting price is the listing's
`min_price_minor` in its one `currency`, shown as a decimal string with the currency's ISO 4217 exponent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from cmp.capabilities import CATEGORIES
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
from cmp.money import format_amount

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


class MarketplaceService:
    """The buyer's read side of the catalog. Public: no tenant, no caller."""

    def __init__(self, db: Database, asset_url: Callable[[str], str] | None = None) -> None:
        self._db = db
        self._asset_url = asset_url

    def categories(self) -> dict[str, Any]:
        """All four categories with their subcategories, in spec order, with live listing counts."""
        with self._db.session(read_only=True) as session:
            rows = session.fetch_all(
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
        with self._db.session(read_only=True) as session:
            rows = session.fetch_all(query, params)
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
        with self._db.session(read_only=True) as session:
            rows = session.fetch_all(
                f"select {CARD_COLUMNS} from marketplace_catalog l"
                " order by l.featured desc, l.rating_avg desc, l.rating_count desc, l.published_at desc,"
                " l.product_id limit %s",
                (limit,),
            )
        return {"items": [self._card(row) for row in rows]}

    def product(self, slug_or_id: str) -> dict[str, Any]:
        """Everything a product page shows: the card, the description, screenshots, the stored capability
        document and plan specs (`cmp.web.presentation` turns them into the summary and the comparison).

        Raises NotFound (404) for a slug or id that names no published product."""
        with self._db.session(read_only=True) as session:
            rows = session.fetch_all(
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
            "capabilities": row["capabilities"],
            "plans": row["plans"],
        }

    def compare(self, refs: Sequence[str]) -> dict[str, Any]:
        """2 to 4 products (slugs or ids), in the order asked: each card with its capability document and
        plan specs. Raises ValidationFailed (422) for a wrong count or a repeat, NotFound (404) per missing one."""
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
        with self._db.session(read_only=True) as session:
            rows = session.fetch_all(
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
                    "capabilities": row["capabilities"],
                    "plans": row["plans"],
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
            "min_price_monthly": None
            if row["min_price_minor"] is None
            else format_amount(row["min_price_minor"], row["currency"]),
            "currency": row["currency"],
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
