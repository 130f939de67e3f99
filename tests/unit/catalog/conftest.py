"""A catalog wired to in-memory repositories and the port fakes: every service, no PostgreSQL, no AWS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import pytest

from cmp.catalog.assets import ProductAssets
from cmp.catalog.lifecycle import ProductLifecycle
from cmp.catalog.messages import ReviewJob
from cmp.catalog.ports import CatalogUnitOfWorkFactory
from cmp.catalog.review import ReviewService
from cmp.catalog.wizard import ProductWizard
from tests.fakes import FakeObjectStorage, FakeUnitOfWorkFactory, FixedClock, SequentialIds
from tests.unit.catalog.memory import (
    MemoryAssets,
    MemoryListings,
    MemoryPlans,
    MemoryProducts,
    MemoryReviewRuns,
    MemoryVersions,
)

TENANT = "0b0c0d0e-0000-4000-8000-000000000001"
ADMIN = "0b0c0d0e-0000-4000-8000-0000000000ad"
BUCKET = "assets-bucket"
REVIEW_QUEUE = "https://sqs.test/review"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100
LISTING = {
    "name": "Support Agent",
    "slug": "support-agent",
    "short_description": "Answers customers 24/7.",
    "full_description": "Answers your customers from your own documents, around the clock, in their language.",
    "tags": ["support"],
}
PLANS = [{"name": "Starter", "tier": "starter", "priceMonthly": 29}]


class TickingClock(FixedClock):
    """A clock one second further on every reading, so creation order is observable."""

    def now(self) -> datetime:
        self.advance(seconds=1)
        return self.current


@dataclass
class Catalog:
    """The catalog services over shared in-memory repositories, with the fakes they were given."""

    uow: FakeUnitOfWorkFactory
    objects: FakeObjectStorage
    products: MemoryProducts
    plans: MemoryPlans
    assets_repo: MemoryAssets
    runs: MemoryReviewRuns
    versions: MemoryVersions
    listings: MemoryListings
    clock: TickingClock = field(default_factory=TickingClock)
    ids: SequentialIds = field(default_factory=SequentialIds)

    def __post_init__(self) -> None:
        # FakeUnitOfWork carries the in-memory repositories as plain attributes: the same shape as the Protocol.
        uow = cast(CatalogUnitOfWorkFactory, self.uow)
        self.wizard = ProductWizard(uow, self.clock, self.ids)
        self.assets = ProductAssets(uow, self.objects, lambda: BUCKET, self.clock, self.ids)
        self.lifecycle = ProductLifecycle(uow, lambda: REVIEW_QUEUE, self.clock, self.ids)
        self.reviews = ReviewService(uow, self.objects, lambda: BUCKET, self.clock)

    def ready_product(self, logo: bool = True) -> str:
        """A draft with every required step done (and a logo uploaded unless `logo` is False)."""
        product_id: str = self.wizard.create_draft(TENANT, "agent", "single")["id"]
        self.wizard.set_capabilities(TENANT, product_id, {})
        self.wizard.set_plans(TENANT, product_id, PLANS)
        self.wizard.set_listing(TENANT, product_id, LISTING)
        if logo:
            self.upload_logo(product_id)
        return product_id

    def upload_logo(self, product_id: str, content_type: str = "image/png") -> dict[str, Any]:
        upload = self.assets.request_upload(TENANT, product_id, "logo", "image/png", len(PNG))
        self.objects.put(BUCKET, upload["upload"]["fields"]["key"], PNG, content_type)
        return self.assets.complete_upload(TENANT, product_id, upload["asset_id"])

    def run_review(self, product_id: str, run_id: str) -> str:
        return self.reviews.run_checks(
            ReviewJob(tenant_id=TENANT, product_id=product_id, review_run_id=run_id)
        )

    def publish(self, product_id: str) -> str:
        """Submit, check and approve; returns the published version."""
        submitted = self.lifecycle.submit(TENANT, product_id)
        assert self.run_review(product_id, submitted["review_run_id"]) == "checks_passed"
        version: str = self.reviews.approve(ADMIN, product_id)["version"]
        return version

    def product(self, product_id: str) -> Any:
        return self.products.rows[uuid.UUID(product_id)]


@pytest.fixture
def catalog() -> Catalog:
    runs, versions, listings = MemoryReviewRuns(), MemoryVersions(), MemoryListings()
    products, plans, assets = MemoryProducts(), MemoryPlans(versions), MemoryAssets()
    uow = FakeUnitOfWorkFactory(
        products=products,
        plans=plans,
        assets=assets,
        review_runs=runs,
        versions=versions,
        listings=listings,
    )
    return Catalog(uow, FakeObjectStorage(), products, plans, assets, runs, versions, listings)
