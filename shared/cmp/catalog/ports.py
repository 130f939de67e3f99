"""What the catalog's services need: its repositories, and a unit of work carrying them.

`cmp.catalog.repository` implements these over PostgreSQL; the unit tests' in-memory repositories implement
them over dicts. Object storage, clock and ids come from `cmp.ports`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol

from cmp.capabilities import PlanSpec
from cmp.catalog.asset_model import Asset
from cmp.catalog.model import ListingProjection, Product
from cmp.catalog.rating_model import Rating
from cmp.catalog.review_model import ReviewRun
from cmp.commerce.model import Subscription
from cmp.db.outbox import OutboxMessage


class ProductRepository(Protocol):
    def get(self, product_id: uuid.UUID, for_update: bool = False) -> Product:
        """The product (locked for the transaction when `for_update`); raises `NotFound`."""
        ...

    def add(self, product: Product) -> None:
        """Insert a new product."""
        ...

    def save(self, product: Product) -> None:
        """Write every field of the product; raises `Conflict` (field `slug`) when its slug is taken."""
        ...

    def delete(self, product_id: uuid.UUID) -> None:
        """Delete the product with its plans, assets, runs and versions."""
        ...

    def tenant_of(self, product_id: uuid.UUID) -> uuid.UUID | None:
        """The owning tenant of any product (platform admins only; no tenant scope needed)."""
        ...


class PlanRepository(Protocol):
    def for_product(self, product_id: uuid.UUID) -> list[PlanSpec]:
        """The product's plans in their order."""
        ...

    def replace(self, product: Product, plans: list[PlanSpec]) -> None:
        """Make `plans` (in this order) the product's plans."""
        ...

    def known(self, product_id: uuid.UUID) -> list[tuple[str, str]]:
        """Every (plan id, plan name) the product ever had: its current plans in order, then those of its
        published versions, newest version first (repeats included; `assign_plan_ids` takes the first)."""
        ...


class AssetRepository(Protocol):
    def get(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
        """One asset of the product; raises `NotFound`."""
        ...

    def for_product(self, product_id: uuid.UUID) -> list[Asset]:
        """The product's assets, oldest first."""
        ...

    def add(self, asset: Asset) -> None: ...

    def save(self, asset: Asset) -> None: ...

    def delete(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
        """Delete one asset; False when the product has no such asset."""
        ...


class ReviewRunRepository(Protocol):
    def get(self, product_id: uuid.UUID, run_id: uuid.UUID, for_update: bool = False) -> ReviewRun | None:
        """One run of the product, or None."""
        ...

    def latest(self, product_id: uuid.UUID) -> ReviewRun | None:
        """The product's newest run, or None."""
        ...

    def recent(self, product_id: uuid.UUID, limit: int) -> list[ReviewRun]:
        """The product's newest `limit` runs, newest first."""
        ...

    def add(self, run: ReviewRun) -> None: ...

    def save(self, run: ReviewRun) -> None: ...

    def supersede_open(self, product_id: uuid.UUID, now: datetime) -> None:
        """Mark every open run (queued or checks passed) of the product superseded."""
        ...


class VersionRepository(Protocol):
    def snapshot(self, product_id: uuid.UUID, version: str) -> dict[str, object] | None:
        """The `{"capabilities", "plans", "listing"}` of a published version (stored JSON), or None."""
        ...

    def add(
        self, product: Product, version: str, snapshot: dict[str, object], approved_by: uuid.UUID
    ) -> None:
        """Freeze `snapshot` (as `snapshot()` returns it) as `version` of the product."""
        ...


class ListingRepository(Protocol):
    def publish(self, projection: ListingProjection) -> None:
        """Create or replace the product's marketplace listing."""
        ...

    def remove(self, product_id: uuid.UUID) -> None:
        """Take the product's listing off the marketplace (nothing to do when it has none)."""
        ...

    def set_featured(self, product_id: uuid.UUID, featured: bool) -> bool:
        """Feature (or not) a live listing; False when the product has none."""
        ...


class CatalogUnitOfWork(Protocol):
    """The unit of work as catalog services use it."""

    products: ProductRepository
    plans: PlanRepository
    assets: AssetRepository
    review_runs: ReviewRunRepository
    versions: VersionRepository
    listings: ListingRepository

    @property
    def outbox(self) -> Outbox: ...

    def commit(self) -> None: ...


class Outbox(Protocol):
    def add(self, message: OutboxMessage) -> None: ...


CatalogUnitOfWorkFactory = Callable[..., AbstractContextManager[CatalogUnitOfWork]]
"""`uow_factory(tenant_id=None)`: opens a (tenant-scoped) catalog unit of work."""


# ---------------------------------------------------------------------------------------------- ratings
class RatingRepository(Protocol):
    """Product reviews by subscribers (`cmp.catalog.rating_repository`), in the buyer's tenant."""

    def for_subscription(self, subscription_id: uuid.UUID) -> Rating | None:
        """The review written for the subscription, or None."""
        ...

    def add(self, rating: Rating) -> None: ...

    def save(self, rating: Rating) -> None: ...

    def delete(self, rating_id: uuid.UUID) -> None: ...

    def author(self, user_id: uuid.UUID) -> tuple[str | None, str]:
        """The user's display name (None when unset) and the current organization's name."""
        ...

    def refresh_listing(self, product_id: uuid.UUID) -> None:
        """Make the product's listing rating (average, count) equal its reviews', under a lock on the
        listing row, in this transaction (nothing to do when the product has no listing)."""
        ...


class SubscriptionReader(Protocol):
    """What ratings read of `cmp.commerce`'s subscriptions (`uow.subscriptions`)."""

    def get(self, subscription_id: uuid.UUID, for_update: bool = False) -> Subscription:
        """The current tenant's subscription; raises `NotFound` (also for another tenant's)."""
        ...


class RatingUnitOfWork(Protocol):
    """The unit of work as the rating service uses it."""

    ratings: RatingRepository
    subscriptions: SubscriptionReader

    def commit(self) -> None: ...


RatingUnitOfWorkFactory = Callable[..., AbstractContextManager[RatingUnitOfWork]]
"""`uow_factory(tenant_id)`: opens a tenant-scoped unit of work carrying `ratings` and `subscriptions`."""
