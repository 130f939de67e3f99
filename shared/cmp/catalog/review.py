"""Review: automated checks (an SQS job) and the platform admin's decision, which publishes a version.

Publishing freezes the working copy into a `product_versions` row and projects it into
`marketplace_listings`; later edits change the working copy only, so the live listing and every
subscription's snapshot stay as they were until the next approval.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cmp.capabilities import PlanSpec, validate_capabilities, validate_plans
from cmp.catalog.asset_model import bytes_to_check, content_problems, content_type_of_key
from cmp.catalog.ids import parse_product_id
from cmp.catalog.messages import ReviewJob
from cmp.catalog.model import FULL_DESCRIPTION_REVIEW_MIN_LENGTH, ListingProjection, Product
from cmp.catalog.ports import CatalogUnitOfWork, CatalogUnitOfWorkFactory
from cmp.catalog.review_model import Check, ReviewRun, clean_reasons
from cmp.catalog.versions import next_version
from cmp.errors import DomainError, NotFound
from cmp.ports import Clock, ObjectStorage


class ReviewService:
    """The review job's checks and the admin's decisions (approve, reject, feature)."""

    def __init__(
        self,
        uow: CatalogUnitOfWorkFactory,
        objects: ObjectStorage,
        assets_bucket: Callable[[], str],
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._objects = objects
        self._bucket = assets_bucket
        self._clock = clock

    # ── automated checks (job) ────────────────────────────────────────────────────────────
    def run_checks(self, job: ReviewJob) -> str:
        """Run the automated checks of a queued review run; a failing check rejects the product with its
        reasons. Returns the run's outcome (`checks_passed` / `checks_failed`).

        Idempotent: a run that is no longer queued (done, or superseded by a resubmission) is left alone
        and its status returned (`missing` for an unknown run), so a job delivered twice is harmless."""
        product_id, run_id = uuid.UUID(job.product_id), uuid.UUID(job.review_run_id)
        with self._uow(job.tenant_id) as uow:
            run = uow.review_runs.get(product_id, run_id, for_update=True)
            if run is None or run.status != "queued":
                return run.status if run else "missing"
            product = uow.products.get(product_id)
            plans = uow.plans.for_product(product_id)
            checks = [
                _listing_complete(product),
                _capabilities_valid(product),
                _plans_sane(product, plans),
                self._assets_present(product),
                _flow_parseable(product),
            ]
            now = self._clock.now()
            passed = run.record_checks(checks, now)
            uow.review_runs.save(run)
            if not passed and product.status == "pending_review":
                product.reject(run.reasons, now)
                uow.products.save(product)
            uow.commit()
        return run.status

    def _assets_present(self, product: Product) -> Check:
        details = []
        if not product.logo_key:
            details.append("a logo is required")
        for key in [product.logo_key, *product.screenshot_keys]:
            if not key:
                continue
            name = key.rsplit("/", 1)[-1]
            if self._objects.head(self._bucket(), key) is None:
                details.append(f"uploaded file {name} is missing from storage")
                continue
            content_type = content_type_of_key(key)
            content = self._objects.read_prefix(self._bucket(), key, bytes_to_check(content_type))
            details.extend(f"{name}: {message}" for _, message in content_problems(content_type, content))
        return Check.of("assets_present", details)

    # ── admin decisions ───────────────────────────────────────────────────────────────────
    def approve(self, admin_user_id: str, product_id: str) -> dict[str, Any]:
        """Publish the product under review as its next semantic version (see `cmp.catalog.versions`):
        freezes a version snapshot and replaces its marketplace listing. Returns `{"product_id",
        "status": "approved", "version"}`; `NotFound`, `Conflict` when it is not waiting for review or
        its checks have not passed."""
        pid, tenant = self._tenant_of(product_id)
        with self._uow(tenant) as uow:
            product, run = _pending(uow, pid)
            run.ensure_approvable()
            plans = uow.plans.for_product(product.id)
            snapshot: dict[str, Any] = {
                "capabilities": product.capabilities.to_document(),
                "plans": [plan.to_document() for plan in plans],
                "listing": product.version_listing(),
            }
            last = uow.versions.snapshot(product.id, product.live_version) if product.live_version else None
            version = next_version(product.live_version, last, snapshot)
            admin = uuid.UUID(admin_user_id)
            now = self._clock.now()
            uow.versions.add(product, version, snapshot, admin)
            product.approve(version, now)
            uow.listings.publish(ListingProjection(product, version, plans))
            uow.products.save(product)
            run.decide("approved", admin, now)
            uow.review_runs.save(run)
            uow.commit()
        return {"product_id": product_id, "status": "approved", "version": version}

    def reject(self, admin_user_id: str, product_id: str, reasons: list[str]) -> dict[str, Any]:
        """Send the product back with `reasons` (blank ones dropped; `ValidationFailed` when none is left).
        Returns `{"product_id", "status": "rejected", "reasons"}`."""
        cleaned = clean_reasons(reasons)
        pid, tenant = self._tenant_of(product_id)
        with self._uow(tenant) as uow:
            product, run = _pending(uow, pid)
            now = self._clock.now()
            product.reject(cleaned, now)
            uow.products.save(product)
            run.reasons = list(cleaned)
            run.decide("rejected", uuid.UUID(admin_user_id), now)
            uow.review_runs.save(run)
            uow.commit()
        return {"product_id": product_id, "status": "rejected", "reasons": cleaned}

    def set_featured(self, product_id: str, featured: bool) -> dict[str, Any]:
        """Feature a live listing on the marketplace (or stop); `NotFound` when the product has none."""
        pid, tenant = self._tenant_of(product_id)
        with self._uow(tenant) as uow:
            if not uow.listings.set_featured(pid, featured):
                raise NotFound("the product has no live listing")
            uow.commit()
        return {"product_id": product_id, "featured": featured}

    def _tenant_of(self, product_id: str) -> tuple[uuid.UUID, str]:
        """The product id and its owner (admins act across tenants); `NotFound` for an unknown product."""
        product = parse_product_id(product_id)
        with self._uow() as uow:
            tenant = uow.products.tenant_of(product)
        if tenant is None:
            raise NotFound("product not found")
        return product, str(tenant)


def _pending(uow: CatalogUnitOfWork, product_id: uuid.UUID) -> tuple[Product, ReviewRun]:
    product = uow.products.get(product_id, for_update=True)
    product.ensure_pending_review()
    run = uow.review_runs.latest(product_id)
    if run is None:
        raise NotFound("the product has no review run")
    return product, run


def _listing_complete(product: Product) -> Check:
    listing = product.listing
    fields = {
        "name": listing.name,
        "slug": listing.slug,
        "short_description": listing.short_description,
        "full_description": listing.full_description,
    }
    details = [f"{field} is missing" for field, value in fields.items() if not value]
    full = listing.full_description
    if full and len(full.strip()) < FULL_DESCRIPTION_REVIEW_MIN_LENGTH:
        details.append(f"full_description should be at least {FULL_DESCRIPTION_REVIEW_MIN_LENGTH} characters")
    return Check.of("listing_complete", details)


def _capabilities_valid(product: Product) -> Check:
    result = validate_capabilities(product.capabilities)
    return Check.of("capabilities_valid", [f"{e.path}: {e.message}" for e in result.errors])


def _plans_sane(product: Product, plans: list[PlanSpec]) -> Check:
    if not plans:
        return Check.of("plans_sane", ["at least one plan is required"])
    _, errors = validate_plans([plan.to_document() for plan in plans], product.capabilities)
    details = [f"{e.path}: {e.message}" for e in errors]
    for i, plan in enumerate(plans):
        if plan.tier in ("starter", "pro") and plan.price_monthly in (None, Decimal(0)):
            details.append(f"plans[{i}]: a {plan.tier} plan needs a monthly price")
    return Check.of("plans_sane", details)


def _flow_parseable(product: Product) -> Check:
    if product.flow is None:
        return Check.of("flow_parseable", [])
    from cmp.flows import import_flow  # the flow readers (and YAML) load only for products that have a flow

    try:
        import_flow(json.dumps(product.flow.definition), product.flow.format, None)
    except DomainError as e:
        return Check.of("flow_parseable", [e.message, *(f"{x.path}: {x.message}" for x in e.errors)])
    return Check.of("flow_parseable", [])
