"""In-memory catalog repositories (the `cmp.catalog.ports` Protocols over dicts) for unit tests.

Entities are copied in and out, so a service's change is only visible after it saved it, as with SQL.
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime

from cmp.capabilities import PlanSpec
from cmp.catalog.asset_model import Asset
from cmp.catalog.model import ListingProjection, Product
from cmp.catalog.review_model import ReviewRun
from cmp.errors import Conflict, FieldError, NotFound


class MemoryProducts:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Product] = {}

    def get(self, product_id: uuid.UUID, for_update: bool = False) -> Product:
        if product_id not in self.rows:
            raise NotFound("product not found")
        return copy.deepcopy(self.rows[product_id])

    def add(self, product: Product) -> None:
        self.rows[product.id] = copy.deepcopy(product)

    def save(self, product: Product) -> None:
        slug = product.listing.slug
        if slug and any(p.listing.slug == slug and p.id != product.id for p in self.rows.values()):
            raise Conflict("slug is taken", errors=[FieldError("slug", f"'{slug}' is already in use")])
        self.rows[product.id] = copy.deepcopy(product)

    def delete(self, product_id: uuid.UUID) -> None:
        self.rows.pop(product_id, None)

    def tenant_of(self, product_id: uuid.UUID) -> uuid.UUID | None:
        product = self.rows.get(product_id)
        return product.tenant_id if product else None


class MemoryPlans:
    def __init__(self, versions: MemoryVersions) -> None:
        self.rows: dict[uuid.UUID, list[PlanSpec]] = {}
        self._versions = versions

    def for_product(self, product_id: uuid.UUID) -> list[PlanSpec]:
        return list(self.rows.get(product_id, []))

    def replace(self, product: Product, plans: list[PlanSpec]) -> None:
        self.rows[product.id] = list(plans)

    def known(self, product_id: uuid.UUID) -> list[tuple[str, str]]:
        current = [(p.id, p.name) for p in self.rows.get(product_id, []) if p.id is not None]
        published = [
            (str(plan["id"]), str(plan["name"]))
            for (pid, _), snapshot in reversed(self._versions.rows.items())
            if pid == product_id
            for plan in snapshot["plans"]  # type: ignore[attr-defined]
            if plan.get("id")
        ]
        return current + published


class MemoryAssets:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Asset] = {}

    def get(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
        asset = self.rows.get(asset_id)
        if asset is None or asset.product_id != product_id:
            raise NotFound("asset not found")
        return copy.deepcopy(asset)

    def for_product(self, product_id: uuid.UUID) -> list[Asset]:
        found = [copy.deepcopy(a) for a in self.rows.values() if a.product_id == product_id]
        return sorted(found, key=lambda a: a.created_at)

    def add(self, asset: Asset) -> None:
        self.rows[asset.id] = copy.deepcopy(asset)

    def save(self, asset: Asset) -> None:
        self.rows[asset.id] = copy.deepcopy(asset)

    def delete(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
        asset = self.rows.get(asset_id)
        if asset is None or asset.product_id != product_id:
            return False
        del self.rows[asset_id]
        return True


class MemoryReviewRuns:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, ReviewRun] = {}

    def get(self, product_id: uuid.UUID, run_id: uuid.UUID, for_update: bool = False) -> ReviewRun | None:
        run = self.rows.get(run_id)
        return copy.deepcopy(run) if run and run.product_id == product_id else None

    def latest(self, product_id: uuid.UUID) -> ReviewRun | None:
        runs = self.recent(product_id, 1)
        return runs[0] if runs else None

    def recent(self, product_id: uuid.UUID, limit: int) -> list[ReviewRun]:
        runs = [copy.deepcopy(r) for r in self.rows.values() if r.product_id == product_id]
        return sorted(runs, key=lambda r: r.created_at, reverse=True)[:limit]

    def add(self, run: ReviewRun) -> None:
        self.rows[run.id] = copy.deepcopy(run)

    def save(self, run: ReviewRun) -> None:
        self.rows[run.id] = copy.deepcopy(run)

    def supersede_open(self, product_id: uuid.UUID, now: datetime) -> None:
        for run in self.rows.values():
            if run.product_id == product_id and run.open:
                run.status = "superseded"
                run.updated_at = now


class MemoryVersions:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], dict[str, object]] = {}

    def snapshot(self, product_id: uuid.UUID, version: str) -> dict[str, object] | None:
        return copy.deepcopy(self.rows.get((product_id, version)))

    def add(
        self, product: Product, version: str, snapshot: dict[str, object], approved_by: uuid.UUID
    ) -> None:
        self.rows[(product.id, version)] = copy.deepcopy(snapshot)


class MemoryListings:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, ListingProjection] = {}
        self.featured: set[uuid.UUID] = set()

    def publish(self, projection: ListingProjection) -> None:
        self.rows[projection.product.id] = copy.deepcopy(projection)

    def remove(self, product_id: uuid.UUID) -> None:
        self.rows.pop(product_id, None)
        self.featured.discard(product_id)

    def set_featured(self, product_id: uuid.UUID, featured: bool) -> bool:
        if product_id not in self.rows:
            return False
        (self.featured.add if featured else self.featured.discard)(product_id)
        return True
