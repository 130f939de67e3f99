"""The seller's side of the catalog: the five-step wizard on a draft, assets, review and versions.

A product row is the seller's working copy. Publishing freezes it into a `product_versions` row and
projects it into `marketplace_listings`; later edits change the working copy only, so the live listing
and every subscription's snapshot stay as they were until the next approval.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cmp.aws.adapters import AwsUnavailable, ObjectStore, Queues
from cmp.capabilities import (
    CATEGORIES,
    ensure_valid,
    merge_with_defaults,
    validate_capabilities,
    validate_plans,
)
from cmp.catalog.templates import TEMPLATES
from cmp.db import Database, UnitOfWork
from cmp.errors import Conflict, FieldError, NotFound, ValidationFailed
from cmp.flows import import_flow

log = logging.getLogger(__name__)
WIZARD_STEPS = ("category", "source", "capabilities", "plans", "listing")
LISTING_FIELDS = (
    "name",
    "slug",
    "short_description",
    "full_description",
    "demo_url",
    "documentation_url",
    "tags",
)
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class AssetRule:
    """What may be uploaded for one kind of asset: content types (with the file extension), size, count."""

    types: dict[str, str]
    max_bytes: int
    max_count: int


ASSET_RULES = {
    "logo": AssetRule(
        {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg"},
        max_bytes=1024 * 1024,
        max_count=1,
    ),
    "screenshot": AssetRule(
        {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"},
        max_bytes=5 * 1024 * 1024,
        max_count=8,
    ),
}


def to_json(value: Any) -> Any:
    """Plain JSON (Decimal prices become strings) for jsonb columns and API bodies."""
    return json.loads(json.dumps(value, default=str))


class ProductService:
    def __init__(
        self,
        db: Database,
        objects: ObjectStore,
        queues: Queues,
        assets_bucket: Callable[[], str],
        review_queue_url: Callable[[], str],
    ) -> None:
        self._db = db
        self._objects = objects
        self._queues = queues
        self._bucket = assets_bucket
        self._review_queue = review_queue_url

    # ------------------------------------------------------------ step 1: category
    def create_draft(self, tenant_id: str, category: str, subcategory: str) -> dict[str, Any]:
        _check_category(category, subcategory)
        capabilities = merge_with_defaults({"category": category, "subcategory": {category: subcategory}})
        with self._db.unit_of_work(tenant_id) as uow:
            row = uow.fetch_one(
                "insert into products (tenant_id, category, subcategory, capabilities, completed_steps)"
                " values (%s, %s, %s, %s, %s) returning id",
                (tenant_id, category, subcategory, Jsonb(to_json(capabilities)), Jsonb(["category"])),
            )
            assert row is not None
            return self._read(uow, str(row["id"]))

    def change_category(
        self, tenant_id: str, product_id: str, category: str, subcategory: str
    ) -> dict[str, Any]:
        _check_category(category, subcategory)
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            if product["live_version"]:
                raise Conflict("a published product cannot change category; create a new product instead")
            draft = dict(product["capabilities"] or {})
            draft.update({"category": category, "subcategory": {category: subcategory}})
            result = validate_capabilities(draft)
            capabilities = (
                result.capabilities
                if result.valid
                else merge_with_defaults({"category": category, "subcategory": {category: subcategory}})
            )
            uow.execute(
                "update products set category = %s, subcategory = %s, capabilities = %s,"
                " updated_at = now() where id = %s",
                (category, subcategory, Jsonb(to_json(capabilities)), product_id),
            )
            return self._read(uow, product_id)

    # ------------------------------------------------------------ step 2: import or template
    def import_flow(
        self,
        tenant_id: str,
        product_id: str,
        content: str | bytes,
        source_format: str | None,
        filename: str | None,
    ) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            imported = import_flow(content, source_format, filename)
            report = imported.to_dict()
            proposal = dict(imported.proposed_capabilities)
            notes: list[dict[str, str]] = []
            if proposal.get("category") not in (None, product["category"]):
                notes.append(
                    {
                        "path": "category",
                        "message": (
                            f"the {imported.format} file suggests a {proposal['category']}; the product stays a "
                            f"{product['category']} (change it in step 1 if that is wrong)"
                        ),
                    }
                )
            proposal["category"] = product["category"]
            proposal["subcategory"] = {product["category"]: product["subcategory"]}
            validation = validate_capabilities(proposal)
            capabilities = validation.capabilities if validation.valid else product["capabilities"]
            notes += [e.to_dict() for e in validation.errors]
            report["capability_notes"] = notes
            uow.execute(
                "update products set flow_format = %s, flow_definition = %s, import_report = %s,"
                " capabilities = %s, template = null, completed_steps = %s, updated_at = now() where id = %s",
                (
                    imported.format,
                    Jsonb(to_json(imported.flow_definition)),
                    Jsonb(to_json(report)),
                    Jsonb(to_json(capabilities)),
                    Jsonb(_with_step(product, "source")),
                    product_id,
                ),
            )
            return {
                "product": self._read(uow, product_id),
                "import": to_json(report),
                "proposed_capabilities_applied": validation.valid,
            }

    def apply_template(self, tenant_id: str, product_id: str, template: str) -> dict[str, Any]:
        if template not in TEMPLATES:
            raise ValidationFailed(
                "unknown template", errors=[FieldError("template", f"must be one of {', '.join(TEMPLATES)}")]
            )
        spec = TEMPLATES[template]
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            wanted = spec["capabilities"].get("category")
            if wanted and wanted != product["category"]:
                raise ValidationFailed(
                    "template does not fit this product",
                    errors=[
                        FieldError(
                            "template",
                            f"'{template}' is for {wanted} products; this product is a {product['category']}",
                        )
                    ],
                )
            draft = {
                **spec["capabilities"],
                "category": product["category"],
                "subcategory": {product["category"]: product["subcategory"]},
            }
            capabilities = ensure_valid(draft)
            listing = spec["listing"]
            uow.execute(
                "update products set template = %s, capabilities = %s, completed_steps = %s,"
                " name = coalesce(name, %s), short_description = coalesce(short_description, %s),"
                " tags = case when tags = '[]'::jsonb then %s else tags end, updated_at = now() where id = %s",
                (
                    template,
                    Jsonb(to_json(capabilities)),
                    Jsonb(_with_step(product, "source")),
                    listing.get("name"),
                    listing.get("short_description"),
                    Jsonb(listing.get("tags", [])),
                    product_id,
                ),
            )
            if spec["plans"] and not uow.fetch_one(
                "select 1 from plans where product_id = %s", (product_id,)
            ):
                normalised, errors = validate_plans(spec["plans"], capabilities)
                if not errors:
                    self._replace_plans(uow, tenant_id, product_id, normalised)
            return self._read(uow, product_id)

    # ------------------------------------------------------------ step 3: capabilities
    def set_capabilities(self, tenant_id: str, product_id: str, draft: Any) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            if isinstance(draft, dict):
                draft = {
                    "category": product["category"],
                    "subcategory": {product["category"]: product["subcategory"]},
                    **draft,
                }
            capabilities = ensure_valid(draft)
            if capabilities.get("category") != product["category"]:
                raise ValidationFailed(
                    "capabilities do not match the product",
                    errors=[
                        FieldError(
                            "category", f"is {product['category']} for this product (change it in step 1)"
                        )
                    ],
                )
            uow.execute(
                "update products set capabilities = %s, tags = %s, completed_steps = %s,"
                " status = %s, updated_at = now() where id = %s",
                (
                    Jsonb(to_json(capabilities)),
                    Jsonb(capabilities.get("tags", [])),
                    Jsonb(_with_step(product, "capabilities")),
                    _after_edit(product),
                    product_id,
                ),
            )
            return self._read(uow, product_id)

    # ------------------------------------------------------------ step 4: plans
    def set_plans(self, tenant_id: str, product_id: str, plans: Any) -> dict[str, Any]:
        if not isinstance(plans, list):
            raise ValidationFailed(
                "plans must be a list", errors=[FieldError("plans", "must be a list of plans")]
            )
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            if "capabilities" not in product["completed_steps"]:
                raise Conflict("define the capabilities (step 3) before the plans")
            normalised, errors = validate_plans(plans, product["capabilities"])
            if errors:
                raise ValidationFailed("plans are invalid", errors=errors)
            self._replace_plans(uow, tenant_id, product_id, normalised)
            uow.execute(
                "update products set completed_steps = %s, status = %s, updated_at = now() where id = %s",
                (Jsonb(_with_step(product, "plans")), _after_edit(product), product_id),
            )
            return self._read(uow, product_id)

    # ------------------------------------------------------------ step 5: listing
    def set_listing(self, tenant_id: str, product_id: str, listing: dict[str, Any]) -> dict[str, Any]:
        errors: list[FieldError] = []
        name = (listing.get("name") or "").strip()
        if not 3 <= len(name) <= 120:
            errors.append(FieldError("name", "must be 3 to 120 characters"))
        slug = listing.get("slug") or _slugify(name)
        if not SLUG_PATTERN.match(slug) or len(slug) > 120:
            errors.append(FieldError("slug", "must be lower-case letters, digits and single hyphens, ≤ 120"))
        short = (listing.get("short_description") or "").strip()
        if not short:
            errors.append(FieldError("short_description", "is required"))
        elif len(short) > 150:
            errors.append(
                FieldError("short_description", f"must be at most 150 characters (got {len(short)})")
            )
        full = listing.get("full_description") or ""
        if len(full) > 50_000:
            errors.append(FieldError("full_description", "must be at most 50,000 characters"))
        for field in ("demo_url", "documentation_url"):
            value = listing.get(field)
            if value and (not URL_PATTERN.match(value) or len(value) > 500):
                errors.append(FieldError(field, "must be an http(s) URL of at most 500 characters"))
        tags = listing.get("tags") or []
        if len(tags) > 10:
            errors.append(FieldError("tags", "at most 10 tags"))
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
                errors.append(
                    FieldError(f"tags[{i}]", "must be lower-case letters, digits and hyphens (≤ 40)")
                )
        if errors:
            raise ValidationFailed("listing is invalid", errors=errors)
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            try:
                with uow.conn.transaction():
                    uow.execute(
                        "update products set name = %s, slug = %s, short_description = %s, full_description = %s,"
                        " demo_url = %s, documentation_url = %s, tags = %s, completed_steps = %s, status = %s,"
                        " updated_at = now() where id = %s",
                        (
                            name,
                            slug,
                            short,
                            full,
                            listing.get("demo_url"),
                            listing.get("documentation_url"),
                            Jsonb(tags),
                            Jsonb(_with_step(product, "listing")),
                            _after_edit(product),
                            product_id,
                        ),
                    )
            except psycopg.errors.UniqueViolation as e:
                raise Conflict(
                    "slug is taken", errors=[FieldError("slug", f"'{slug}' is already in use")]
                ) from e
            return self._read(uow, product_id)

    # ------------------------------------------------------------ assets
    def request_upload(
        self, tenant_id: str, product_id: str, kind: str, content_type: str, size_bytes: int
    ) -> dict[str, Any]:
        rules = ASSET_RULES.get(kind)
        errors: list[FieldError] = []
        if rules is None:
            raise ValidationFailed(
                "unknown asset kind", errors=[FieldError("kind", "must be logo or screenshot")]
            )
        if content_type not in rules.types:
            errors.append(FieldError("content_type", f"must be one of {', '.join(rules.types)}"))
        if not 0 < size_bytes <= rules.max_bytes:
            errors.append(FieldError("size_bytes", f"must be between 1 and {rules.max_bytes} bytes"))
        if errors:
            raise ValidationFailed("upload is not allowed", errors=errors)
        with self._db.unit_of_work(tenant_id) as uow:
            self._editable(uow, product_id)
            ready = uow.fetch_one(
                "select count(*) as n from product_assets where product_id = %s and kind = %s"
                " and status = 'ready'",
                (product_id, kind),
            )
            if kind == "screenshot" and ready and ready["n"] >= rules.max_count:
                raise Conflict(f"at most {rules.max_count} screenshots; delete one first")
            key = f"products/{tenant_id}/{product_id}/{kind}/{uuid.uuid4()}.{rules.types[content_type]}"
            row = uow.fetch_one(
                "insert into product_assets (tenant_id, product_id, kind, object_key, content_type, max_bytes)"
                " values (%s, %s, %s, %s, %s, %s) returning id",
                (tenant_id, product_id, kind, key, content_type, size_bytes),
            )
        assert row is not None
        upload = self._objects.presigned_post(self._bucket(), key, content_type, size_bytes)
        return {
            "asset_id": str(row["id"]),
            "kind": kind,
            "upload": upload,
            "expires_in": 900,
            "complete_with": f"POST /v1/provider/products/{product_id}/assets/{row['id']}/complete",
        }

    def complete_upload(self, tenant_id: str, product_id: str, asset_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            asset = uow.fetch_one(
                "select * from product_assets where id = %s and product_id = %s", (asset_id, product_id)
            )
            if asset is None:
                raise NotFound("asset not found")
            head = self._objects.head(self._bucket(), asset["object_key"])
            if head is None:
                raise Conflict(
                    "the file has not been uploaded yet", errors=[FieldError("asset", "no upload found")]
                )
            problems = []
            if head.get("ContentType") != asset["content_type"]:
                problems.append(
                    FieldError(
                        "content_type",
                        f"uploaded as {head.get('ContentType')}, announced as {asset['content_type']}",
                    )
                )
            if int(head.get("ContentLength", 0)) > asset["max_bytes"]:
                problems.append(FieldError("size_bytes", "the file is larger than announced"))
            if problems:
                raise ValidationFailed("the uploaded file does not match the request", errors=problems)
            uow.execute(
                "update product_assets set status = 'ready', size_bytes = %s where id = %s",
                (int(head.get("ContentLength", 0)), asset_id),
            )
            if asset["kind"] == "logo":
                uow.execute(
                    "update product_assets set status = 'pending' where product_id = %s and kind = 'logo'"
                    " and id <> %s",
                    (product_id, asset_id),
                )
            self._sync_asset_keys(uow, product_id)
            return self._read(uow, product_id)

    def delete_asset(self, tenant_id: str, product_id: str, asset_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            self._editable(uow, product_id)
            if not uow.execute(
                "delete from product_assets where id = %s and product_id = %s", (asset_id, product_id)
            ):
                raise NotFound("asset not found")
            self._sync_asset_keys(uow, product_id)
            return self._read(uow, product_id)

    # ------------------------------------------------------------ lifecycle
    def submit(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._editable(uow, product_id)
            if product["status"] == "approved":
                raise Conflict("this version is already published; edit the product to create a new version")
            missing = [s for s in WIZARD_STEPS if s not in product["completed_steps"] and s != "source"]
            if missing:
                raise Conflict(
                    "complete every step before submitting",
                    errors=[FieldError(step, "step not completed") for step in missing],
                )
            uow.execute(
                "update product_review_runs set status = 'superseded', updated_at = now()"
                " where product_id = %s and status in ('queued', 'checks_passed')",
                (product_id,),
            )
            run = uow.fetch_one(
                "insert into product_review_runs (tenant_id, product_id) values (%s, %s) returning id",
                (tenant_id, product_id),
            )
            assert run is not None
            uow.execute(
                "update products set status = 'pending_review', review_reasons = '[]', updated_at = now()"
                " where id = %s",
                (product_id,),
            )
            run_id = str(run["id"])
        self.enqueue_review(tenant_id, product_id, run_id)
        return {"product_id": product_id, "status": "pending_review", "review_run_id": run_id}

    def enqueue_review(self, tenant_id: str, product_id: str, review_run_id: str) -> None:
        """Queue the checks of a review run. The submission is already committed: if the queue is down, the
        run stays `queued` and housekeeping sends it again (the review job is idempotent)."""
        try:
            self._queues.send(
                self._review_queue(),
                {"tenant_id": tenant_id, "product_id": product_id, "review_run_id": review_run_id},
            )
        except AwsUnavailable:
            log.exception(
                "review job not queued; housekeeping will resend it", extra={"product_id": product_id}
            )

    def stalled_reviews(self, older_than_seconds: int) -> list[dict[str, str]]:
        """Review runs still queued after `older_than_seconds` (their message was lost or never sent)."""
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all(
                "select * from housekeeping_stalled_reviews(now() - make_interval(secs => %s))",
                (older_than_seconds,),
            )
        return [{k: str(v) for k, v in row.items()} for row in rows]

    def archive(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._get(uow, product_id)
            if product["status"] == "archived":
                return self._read(uow, product_id)
            uow.execute("delete from marketplace_listings where product_id = %s", (product_id,))
            uow.execute(
                "update products set status = 'archived', updated_at = now() where id = %s", (product_id,)
            )
            return self._read(uow, product_id)

    def delete_draft(self, tenant_id: str, product_id: str) -> None:
        with self._db.unit_of_work(tenant_id) as uow:
            product = self._get(uow, product_id)
            if product["live_version"]:
                raise Conflict("a published product cannot be deleted; archive it instead")
            uow.execute("delete from products where id = %s", (product_id,))

    # ------------------------------------------------------------ reads
    def list_products(self, tenant_id: str) -> list[dict[str, Any]]:
        with self._db.unit_of_work(tenant_id) as uow:
            rows = uow.fetch_all(
                "select p.id, p.name, p.slug, p.category, p.subcategory, p.status, p.live_version, p.published_at,"
                " p.completed_steps, p.review_reasons, p.updated_at, r.status as review_status"
                " from products p left join lateral (select status from product_review_runs rr"
                " where rr.product_id = p.id order by created_at desc limit 1) r on true"
                " order by p.updated_at desc"
            )
        return [_summary(r) for r in rows]

    def get(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            return self._read(uow, product_id)

    def versions(self, tenant_id: str, product_id: str) -> list[dict[str, Any]]:
        with self._db.unit_of_work(tenant_id) as uow:
            self._get(uow, product_id)
            rows = uow.fetch_all(
                "select version, capabilities, plans, listing, created_at from product_versions"
                " where product_id = %s order by created_at desc",
                (product_id,),
            )
        return [{**r, "created_at": r["created_at"].isoformat()} for r in rows]

    # ------------------------------------------------------------ internals
    def _get(self, uow: UnitOfWork, product_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(product_id)
        except ValueError as e:
            raise NotFound("product not found") from e
        product = uow.fetch_one("select * from products where id = %s", (product_id,))
        if product is None:
            raise NotFound("product not found")
        return product

    def _editable(self, uow: UnitOfWork, product_id: str) -> dict[str, Any]:
        product = self._get(uow, product_id)
        if product["status"] == "pending_review":
            raise Conflict("the product is in review; wait for the decision before editing")
        if product["status"] == "archived":
            raise Conflict("the product is archived")
        return product

    def _replace_plans(
        self, uow: UnitOfWork, tenant_id: str, product_id: str, plans: list[dict[str, Any]]
    ) -> None:
        uow.execute("delete from plans where product_id = %s", (product_id,))
        for position, plan in enumerate(plans):
            uow.execute(
                "insert into plans (tenant_id, product_id, position, spec) values (%s, %s, %s, %s)",
                (tenant_id, product_id, position, Jsonb(to_json(plan))),
            )

    def _sync_asset_keys(self, uow: UnitOfWork, product_id: str) -> None:
        uow.execute(
            "update products set"
            " logo_key = (select object_key from product_assets where product_id = %(p)s and kind = 'logo'"
            "   and status = 'ready' order by created_at desc limit 1),"
            " screenshot_keys = coalesce((select jsonb_agg(object_key order by created_at) from product_assets"
            "   where product_id = %(p)s and kind = 'screenshot' and status = 'ready'), '[]'::jsonb),"
            " updated_at = now() where id = %(p)s",
            {"p": product_id},
        )

    def _read(self, uow: UnitOfWork, product_id: str) -> dict[str, Any]:
        product = self._get(uow, product_id)
        plans = uow.fetch_all("select spec from plans where product_id = %s order by position", (product_id,))
        assets = uow.fetch_all(
            "select id, kind, content_type, size_bytes, status, created_at from product_assets"
            " where product_id = %s order by created_at",
            (product_id,),
        )
        runs = uow.fetch_all(
            "select id, status, checks, reasons, created_at, updated_at from product_review_runs"
            " where product_id = %s order by created_at desc limit 5",
            (product_id,),
        )
        return {
            **_summary(product),
            "capabilities": product["capabilities"],
            "flow": {"format": product["flow_format"], "report": product["import_report"]}
            if product["flow_format"]
            else None,
            "template": product["template"],
            "listing": {k: product[k] for k in LISTING_FIELDS},
            "plans": [p["spec"] for p in plans],
            "assets": [{**a, "id": str(a["id"]), "created_at": a["created_at"].isoformat()} for a in assets],
            "reviews": [
                {
                    **r,
                    "id": str(r["id"]),
                    "created_at": r["created_at"].isoformat(),
                    "updated_at": r["updated_at"].isoformat(),
                }
                for r in runs
            ],
        }


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    completed = list(row["completed_steps"])
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "slug": row["slug"],
        "category": row["category"],
        "subcategory": row["subcategory"],
        "status": row["status"],
        "live_version": row["live_version"],
        "has_unpublished_changes": bool(row["live_version"]) and row["status"] != "approved",
        "published_at": row["published_at"].isoformat() if row["published_at"] else None,
        "review_status": row.get("review_status"),
        "review_reasons": row["review_reasons"],
        "wizard": {
            "completed": [s for s in WIZARD_STEPS if s in completed],
            "next": next((s for s in WIZARD_STEPS if s not in completed), None),
        },
        "updated_at": row["updated_at"].isoformat(),
    }


def _check_category(category: str, subcategory: str) -> None:
    if category not in CATEGORIES:
        raise ValidationFailed(
            "unknown category", errors=[FieldError("category", f"must be one of {', '.join(CATEGORIES)}")]
        )
    if subcategory not in CATEGORIES[category]:
        raise ValidationFailed(
            "subcategory does not belong to the category",
            errors=[
                FieldError("subcategory", f"for {category} must be one of {', '.join(CATEGORIES[category])}")
            ],
        )


def _with_step(product: dict[str, Any], step: str) -> list[str]:
    return [s for s in WIZARD_STEPS if s in product["completed_steps"] or s == step]


def _after_edit(product: dict[str, Any]) -> str:
    """Editing a published or rejected product makes its working copy a draft again."""
    return "draft" if product["status"] in ("approved", "rejected") else str(product["status"])


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:120]
