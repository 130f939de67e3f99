"""Read side of the seller's and the admin's catalog screens: product lists, product detail, versions and
the review queue, shaped as the API returns them.

`product_detail` is shared with the write services (they answer with the product as it is after the
change), so it reads through the repositories; the lists are raw SQL shaped for their screen.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from cmp.catalog.asset_model import Asset
from cmp.catalog.ids import parse_product_id
from cmp.catalog.model import WIZARD_STEPS, Product
from cmp.catalog.paging import ProductPage, encode_cursor
from cmp.catalog.ports import AssetRepository, PlanRepository, ProductRepository, ReviewRunRepository
from cmp.catalog.repository import (
    AssetRepository as SqlAssets,
)
from cmp.catalog.repository import (
    PlanRepository as SqlPlans,
)
from cmp.catalog.repository import (
    ProductRepository as SqlProducts,
)
from cmp.catalog.repository import (
    ReviewRunRepository as SqlReviewRuns,
)
from cmp.catalog.repository import (
    product_from_row,
)
from cmp.catalog.review_model import ReviewRun
from cmp.db.session import Session

RECENT_REVIEW_RUNS = 5
"""How many review runs the product detail shows, newest first."""


class DetailReads(Protocol):
    """What `product_detail` reads: a unit of work, or the read-only repositories of `ProductViews`."""

    plans: PlanRepository
    assets: AssetRepository
    review_runs: ReviewRunRepository


def product_summary(product: Product, review_status: str | None = None) -> dict[str, Any]:
    """The product as a list row: ids, names, status, wizard progress, ISO-8601 timestamps."""
    return {
        "id": str(product.id),
        "name": product.listing.name,
        "slug": product.listing.slug,
        "category": product.category,
        "subcategory": product.subcategory,
        "status": product.status,
        "live_version": product.live_version,
        "has_unpublished_changes": product.has_unpublished_changes,
        "published_at": product.published_at.isoformat() if product.published_at else None,
        "review_status": review_status,
        "review_reasons": list(product.review_reasons),
        "wizard": {
            "completed": [s for s in WIZARD_STEPS if s in product.completed_steps],
            "next": product.next_step,
        },
        "updated_at": product.updated_at.isoformat(),
    }


def product_detail(reads: DetailReads, product: Product) -> dict[str, Any]:
    """The product as its detail screen shows it: summary, capabilities (stored JSON), flow, listing,
    plans (stored JSON), assets and the last `RECENT_REVIEW_RUNS` review runs (`review_status` is the
    newest run's, as in the list)."""
    runs = reads.review_runs.recent(product.id, RECENT_REVIEW_RUNS)
    return {
        **product_summary(product, runs[0].status if runs else None),
        "capabilities": product.capabilities.to_document(),
        "flow": {"format": product.flow.format, "report": product.flow.report} if product.flow else None,
        "template": product.template,
        "listing": product.listing.to_dict(),
        "plans": [plan.to_document() for plan in reads.plans.for_product(product.id)],
        "assets": [_asset(a) for a in reads.assets.for_product(product.id)],
        "reviews": [_run(r) for r in runs],
    }


def _asset(asset: Asset) -> dict[str, Any]:
    return {
        "id": str(asset.id),
        "kind": asset.kind,
        "content_type": asset.content_type,
        "size_bytes": asset.size_bytes,
        "status": asset.status,
        "created_at": asset.created_at.isoformat(),
    }


def _run(run: ReviewRun) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "status": run.status,
        "checks": run.checks,
        "reasons": run.reasons,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }


class _Reads:
    """The catalog repositories on a read-only session."""

    def __init__(self, session: Session) -> None:
        self.products: ProductRepository = SqlProducts(session)
        self.plans: PlanRepository = SqlPlans(session)
        self.assets: AssetRepository = SqlAssets(session)
        self.review_runs: ReviewRunRepository = SqlReviewRuns(session)


_SUMMARIES = (
    "select p.*, r.status as review_status from products p left join lateral (select status"
    " from product_review_runs rr where rr.product_id = p.id order by created_at desc limit 1) r on true"
)
"""The product rows of a list, each with its latest review run's status (filters and order appended)."""

SessionFactory = Callable[..., AbstractContextManager[Session]]
"""`Database.session(tenant_id=None, read_only=True)`."""


class ProductViews:
    """Read-only queries of the seller's products and the admin's review queue."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def list_products(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every product of the tenant (`product_summary` rows), most recently changed first; for tools
        that need them all (the demo seed). The API pages with `page_products`."""
        with self._sessions(tenant_id, read_only=True) as session:
            rows = session.fetch_all(f"{_SUMMARIES} order by p.updated_at desc, p.id desc")
        return [product_summary(product_from_row(r), r["review_status"]) for r in rows]

    def page_products(self, tenant_id: str, page: ProductPage) -> dict[str, Any]:
        """One page of the tenant's products, most recently changed first (ties by id), each with its
        latest review run's status: `{"items", "next_cursor"}` (`next_cursor` null on the last page)."""
        where, params = (
            ("", ()) if page.after is None else ("where (p.updated_at, p.id) < (%s, %s)", page.after)
        )
        with self._sessions(tenant_id, read_only=True) as session:
            rows = session.fetch_all(
                f"{_SUMMARIES} {where} order by p.updated_at desc, p.id desc limit %s",
                (*params, page.limit + 1),
            )
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        last = rows[-1] if more else None
        return {
            "items": [product_summary(product_from_row(r), r["review_status"]) for r in rows],
            "next_cursor": encode_cursor(last["updated_at"], last["id"]) if last else None,
        }

    def get(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        """One product's detail (`product_detail`); raises `NotFound`."""
        pid = parse_product_id(product_id)
        with self._sessions(tenant_id, read_only=True) as session:
            reads = _Reads(session)
            return product_detail(reads, reads.products.get(pid))

    def versions(self, tenant_id: str, product_id: str) -> list[dict[str, Any]]:
        """The product's published versions, newest first: `version`, the frozen `capabilities`, `plans`
        and `listing` (stored JSON) and `created_at` (ISO 8601); raises `NotFound`."""
        pid = parse_product_id(product_id)
        with self._sessions(tenant_id, read_only=True) as session:
            _Reads(session).products.get(pid)
            rows = session.fetch_all(
                "select version, capabilities, plans, listing, created_at from product_versions"
                " where product_id = %s order by created_at desc",
                (pid,),
            )
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]

    def review_queue(self, page: ProductPage) -> dict[str, Any]:
        """One page of the products waiting for an admin's decision (all tenants), oldest submission first
        (ties by product id): `{"items", "next_cursor"}` (`next_cursor` null on the last page)."""
        where, params = (
            ("", ()) if page.after is None else ("where (submitted_at, product_id) > (%s, %s)", page.after)
        )
        with self._sessions(read_only=True) as session:
            rows = session.fetch_all(
                f"select * from admin_review_queue() {where} order by submitted_at, product_id limit %s",
                (*params, page.limit + 1),
            )
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        last = rows[-1] if more else None
        return {
            "items": [
                {
                    **r,
                    "product_id": str(r["product_id"]),
                    "tenant_id": str(r["tenant_id"]),
                    "review_run_id": str(r["review_run_id"]),
                    "submitted_at": r["submitted_at"].isoformat(),
                }
                for r in rows
            ],
            "next_cursor": encode_cursor(last["submitted_at"], last["product_id"]) if last else None,
        }
