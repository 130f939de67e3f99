"""Review: automated checks (an SQS job) and the platform admin's decision, which publishes a version."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict

from cmp.aws.adapters import ObjectStore
from cmp.capabilities import validate_capabilities, validate_plans
from cmp.catalog.products import LISTING_FIELDS, to_json
from cmp.catalog.versions import next_version
from cmp.db import Database, UnitOfWork
from cmp.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from cmp.flows import import_flow


class ReviewJob(BaseModel):
    """The message `submit` enqueues."""

    model_config = ConfigDict(extra="ignore")
    tenant_id: str
    product_id: str
    review_run_id: str


class ReviewService:
    def __init__(self, db: Database, objects: ObjectStore, assets_bucket: Callable[[], str]) -> None:
        self._db = db
        self._objects = objects
        self._bucket = assets_bucket

    # ------------------------------------------------------------ automated checks (job)
    def run_checks(self, job: ReviewJob) -> str:
        """Idempotent: a run that is no longer queued (done, or superseded by a resubmission) is left alone."""
        with self._db.unit_of_work(job.tenant_id) as uow:
            run = uow.fetch_one(
                "select status from product_review_runs where id = %s and product_id = %s for update",
                (job.review_run_id, job.product_id),
            )
            if run is None or run["status"] != "queued":
                return run["status"] if run else "missing"
            product = uow.fetch_one("select * from products where id = %s", (job.product_id,))
            assert product is not None
            plans = [
                p["spec"]
                for p in uow.fetch_all(
                    "select spec from plans where product_id = %s order by position", (job.product_id,)
                )
            ]
            checks = [
                self._listing_complete(product),
                self._capabilities_valid(product),
                self._plans_sane(product, plans),
                self._assets_present(product),
                self._flow_parseable(product),
            ]
            passed = all(c["passed"] for c in checks)
            reasons = [f"{c['name']}: {d}" for c in checks if not c["passed"] for d in c["details"]]
            uow.execute(
                "update product_review_runs set status = %s, checks = %s, reasons = %s, updated_at = now()"
                " where id = %s",
                (
                    "checks_passed" if passed else "checks_failed",
                    Jsonb(checks),
                    Jsonb(reasons),
                    job.review_run_id,
                ),
            )
            if not passed:
                uow.execute(
                    "update products set status = 'rejected', review_reasons = %s, updated_at = now()"
                    " where id = %s and status = 'pending_review'",
                    (Jsonb(reasons), job.product_id),
                )
            return "checks_passed" if passed else "checks_failed"

    @staticmethod
    def _listing_complete(product: dict[str, Any]) -> dict[str, Any]:
        missing = [f for f in ("name", "slug", "short_description", "full_description") if not product[f]]
        details = [f"{field} is missing" for field in missing]
        if product["full_description"] and len(product["full_description"].strip()) < 50:
            details.append("full_description should be at least 50 characters")
        return {"name": "listing_complete", "passed": not details, "details": details}

    @staticmethod
    def _capabilities_valid(product: dict[str, Any]) -> dict[str, Any]:
        result = validate_capabilities(product["capabilities"] or {})
        return {
            "name": "capabilities_valid",
            "passed": result.valid,
            "details": [f"{e.path}: {e.message}" for e in result.errors],
        }

    @staticmethod
    def _plans_sane(product: dict[str, Any], plans: list[dict[str, Any]]) -> dict[str, Any]:
        if not plans:
            return {"name": "plans_sane", "passed": False, "details": ["at least one plan is required"]}
        _, errors = validate_plans(plans, product["capabilities"] or {})
        details = [f"{e.path}: {e.message}" for e in errors]
        for i, plan in enumerate(plans):
            if plan.get("tier") in ("starter", "pro") and _price(plan.get("priceMonthly")) in (
                None,
                Decimal(0),
            ):
                details.append(f"plans[{i}]: a {plan['tier']} plan needs a monthly price")
        return {"name": "plans_sane", "passed": not details, "details": details}

    def _assets_present(self, product: dict[str, Any]) -> dict[str, Any]:
        details = []
        if not product["logo_key"]:
            details.append("a logo is required")
        for key in [product["logo_key"], *product["screenshot_keys"]]:
            if key and self._objects.head(self._bucket(), key) is None:
                details.append(f"uploaded file {key.rsplit('/', 1)[-1]} is missing from storage")
        return {"name": "assets_present", "passed": not details, "details": details}

    @staticmethod
    def _flow_parseable(product: dict[str, Any]) -> dict[str, Any]:
        if not product["flow_format"]:
            return {"name": "flow_parseable", "passed": True, "details": []}
        try:
            import_flow(json.dumps(product["flow_definition"]), product["flow_format"], None)
        except DomainError as e:
            return {
                "name": "flow_parseable",
                "passed": False,
                "details": [e.message, *(f"{x.path}: {x.message}" for x in e.errors)],
            }
        return {"name": "flow_parseable", "passed": True, "details": []}

    # ------------------------------------------------------------ admin decisions
    def queue(self) -> list[dict[str, Any]]:
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all("select * from admin_review_queue()")
        return [
            {
                **r,
                "product_id": str(r["product_id"]),
                "tenant_id": str(r["tenant_id"]),
                "review_run_id": str(r["review_run_id"]),
                "submitted_at": r["submitted_at"].isoformat(),
            }
            for r in rows
        ]

    def approve(self, admin_user_id: str, product_id: str) -> dict[str, Any]:
        tenant_id = self._tenant_of(product_id)
        with self._db.unit_of_work(tenant_id) as uow:
            product, run = self._pending(uow, product_id)
            if run["status"] != "checks_passed":
                raise Conflict(
                    f"automated checks are {run['status'].replace('_', ' ')}; approve after they pass"
                )
            plans = [
                p["spec"]
                for p in uow.fetch_all(
                    "select spec from plans where product_id = %s order by position", (product_id,)
                )
            ]
            snapshot = {"capabilities": product["capabilities"], "plans": plans, "listing": _listing(product)}
            last = uow.fetch_one(
                "select capabilities, plans, listing from product_versions where product_id = %s"
                " and version = %s",
                (product_id, product["live_version"]),
            )
            version = next_version(product["live_version"], last, snapshot)
            uow.execute(
                "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing,"
                " approved_by) values (%s, %s, %s, %s, %s, %s, %s)",
                (
                    tenant_id,
                    product_id,
                    version,
                    Jsonb(snapshot["capabilities"]),
                    Jsonb(plans),
                    Jsonb(snapshot["listing"]),
                    admin_user_id,
                ),
            )
            self._project_listing(uow, tenant_id, product, plans, version)
            uow.execute(
                "update products set status = 'approved', live_version = %s, published_at = now(),"
                " review_reasons = '[]', updated_at = now() where id = %s",
                (version, product_id),
            )
            uow.execute(
                "update product_review_runs set status = 'approved', decided_by = %s, updated_at = now()"
                " where id = %s",
                (admin_user_id, run["id"]),
            )
        return {"product_id": product_id, "status": "approved", "version": version}

    def reject(self, admin_user_id: str, product_id: str, reasons: list[str]) -> dict[str, Any]:
        reasons = [r.strip() for r in reasons if isinstance(r, str) and r.strip()]
        if not reasons:
            raise ValidationFailed("say why", errors=[FieldError("reasons", "give at least one reason")])
        tenant_id = self._tenant_of(product_id)
        with self._db.unit_of_work(tenant_id) as uow:
            _, run = self._pending(uow, product_id)
            uow.execute(
                "update products set status = 'rejected', review_reasons = %s, updated_at = now()"
                " where id = %s",
                (Jsonb(reasons), product_id),
            )
            uow.execute(
                "update product_review_runs set status = 'rejected', reasons = %s, decided_by = %s,"
                " updated_at = now() where id = %s",
                (Jsonb(reasons), admin_user_id, run["id"]),
            )
        return {"product_id": product_id, "status": "rejected", "reasons": reasons}

    def set_featured(self, product_id: str, featured: bool) -> dict[str, Any]:
        tenant_id = self._tenant_of(product_id)
        with self._db.unit_of_work(tenant_id) as uow:
            if not uow.execute(
                "update marketplace_listings set featured = %s where product_id = %s", (featured, product_id)
            ):
                raise NotFound("the product has no live listing")
        return {"product_id": product_id, "featured": featured}

    def _tenant_of(self, product_id: str) -> str:
        with self._db.unit_of_work() as uow:
            row = uow.fetch_one("select admin_product_tenant(%s) as tenant_id", (product_id,))
        if row is None or row["tenant_id"] is None:
            raise NotFound("product not found")
        return str(row["tenant_id"])

    @staticmethod
    def _pending(uow: UnitOfWork, product_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        product = uow.fetch_one("select * from products where id = %s for update", (product_id,))
        if product is None:
            raise NotFound("product not found")
        if product["status"] != "pending_review":
            raise Conflict(f"the product is {product['status'].replace('_', ' ')}, not waiting for review")
        run = uow.fetch_one(
            "select id, status from product_review_runs where product_id = %s"
            " order by created_at desc limit 1",
            (product_id,),
        )
        assert run is not None
        return product, run

    @staticmethod
    def _project_listing(
        uow: UnitOfWork, tenant_id: str, product: dict[str, Any], plans: list[dict[str, Any]], version: str
    ) -> None:
        seller = uow.fetch_one("select name from tenants where id = %s", (tenant_id,))
        prices = [p for p in (_price(plan.get("priceMonthly")) for plan in plans) if p is not None]
        runtimes = sorted({str(plan.get("runtimeType", "shared")) for plan in plans})
        uow.execute(
            "insert into marketplace_listings (product_id, tenant_id, version, slug, name, short_description,"
            " full_description, category, subcategory, tags, seller_name, logo_key, screenshot_keys, demo_url,"
            " documentation_url, capabilities, plans, min_price_monthly, runtime_types, published_at)"
            " values (%(id)s, %(tenant)s, %(version)s, %(slug)s, %(name)s, %(short)s, %(full)s, %(category)s,"
            " %(subcategory)s, %(tags)s, %(seller)s, %(logo)s, %(shots)s, %(demo)s, %(docs)s, %(caps)s, %(plans)s,"
            " %(min_price)s, %(runtimes)s, now())"
            " on conflict (product_id) do update set version = excluded.version, slug = excluded.slug,"
            " name = excluded.name, short_description = excluded.short_description,"
            " full_description = excluded.full_description, category = excluded.category,"
            " subcategory = excluded.subcategory, tags = excluded.tags, seller_name = excluded.seller_name,"
            " logo_key = excluded.logo_key, screenshot_keys = excluded.screenshot_keys,"
            " demo_url = excluded.demo_url, documentation_url = excluded.documentation_url,"
            " capabilities = excluded.capabilities, plans = excluded.plans,"
            " min_price_monthly = excluded.min_price_monthly, runtime_types = excluded.runtime_types",
            {
                "id": product["id"],
                "tenant": tenant_id,
                "version": version,
                "slug": product["slug"],
                "name": product["name"],
                "short": product["short_description"],
                "full": product["full_description"] or "",
                "category": product["category"],
                "subcategory": product["subcategory"],
                "tags": list(product["tags"]),
                "seller": seller["name"] if seller else "",
                "logo": product["logo_key"],
                "shots": Jsonb(product["screenshot_keys"]),
                "demo": product["demo_url"],
                "docs": product["documentation_url"],
                "caps": Jsonb(product["capabilities"]),
                "plans": Jsonb(to_json(plans)),
                "min_price": min(prices) if prices else None,
                "runtimes": runtimes,
            },
        )


def _listing(product: dict[str, Any]) -> dict[str, Any]:
    return {k: product[k] for k in (*LISTING_FIELDS, "logo_key", "screenshot_keys")}


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
