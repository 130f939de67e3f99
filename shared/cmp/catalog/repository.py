"""The catalog's SQL: products, plans, assets, review runs, versions and the marketplace listing projection.

The only writer of these tables. Each repository takes the unit of work's `Session` and returns entities
from `cmp.catalog.model`; JSON columns are converted at this edge (`ProductCapabilities.from_document` /
`.to_document`, `PlanSpec.from_document` / `.to_document`), so the stored JSON stays exactly as before.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cmp.capabilities import PlanSpec, ProductCapabilities
from cmp.catalog.asset_model import Asset
from cmp.catalog.model import FlowImport, Listing, ListingProjection, Product, default_capabilities
from cmp.catalog.review_model import ReviewRun
from cmp.db.session import Session
from cmp.errors import Conflict, FieldError, NotFound


def to_json(value: Any) -> Any:
    """Plain JSON (Decimal becomes a string) for jsonb columns."""
    return json.loads(json.dumps(value, default=str))


class ProductRepository:
    """`products` rows as `Product` entities."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, product_id: uuid.UUID, for_update: bool = False) -> Product:
        """The product visible to the current tenant; raises `NotFound`."""
        row = self._session.fetch_one(
            "select * from products where id = %s" + (" for update" if for_update else ""), (product_id,)
        )
        if row is None:
            raise NotFound("product not found")
        return product_from_row(row)

    def add(self, product: Product) -> None:
        """Insert a new product (step 1: category, subcategory and default capabilities)."""
        self._session.execute(
            "insert into products (id, tenant_id, category, subcategory, capabilities, completed_steps,"
            " status, created_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                product.id,
                product.tenant_id,
                product.category,
                product.subcategory,
                Jsonb(product.capabilities.to_document()),
                Jsonb(list(product.completed_steps)),
                product.status,
                product.updated_at,
                product.updated_at,
            ),
        )

    def save(self, product: Product) -> None:
        """Write every field; raises `Conflict` with a `slug` field error when the slug is taken."""
        listing = product.listing
        flow = product.flow
        try:
            with self._session.savepoint():
                self._session.execute(
                    "update products set category = %(category)s, subcategory = %(subcategory)s,"
                    " capabilities = %(capabilities)s, tags = %(tags)s, name = %(name)s, slug = %(slug)s,"
                    " short_description = %(short)s, full_description = %(full)s, demo_url = %(demo)s,"
                    " documentation_url = %(docs)s, logo_key = %(logo)s, screenshot_keys = %(shots)s,"
                    " flow_format = %(flow_format)s, flow_definition = %(flow_definition)s,"
                    " import_report = %(import_report)s, template = %(template)s, status = %(status)s,"
                    " review_reasons = %(reasons)s, completed_steps = %(steps)s,"
                    " live_version = %(live_version)s, published_at = %(published_at)s,"
                    " updated_at = %(updated_at)s where id = %(id)s",
                    {
                        "id": product.id,
                        "category": product.category,
                        "subcategory": product.subcategory,
                        "capabilities": Jsonb(product.capabilities.to_document()),
                        "tags": Jsonb(list(listing.tags)),
                        "name": listing.name,
                        "slug": listing.slug,
                        "short": listing.short_description,
                        "full": listing.full_description,
                        "demo": listing.demo_url,
                        "docs": listing.documentation_url,
                        "logo": product.logo_key,
                        "shots": Jsonb(list(product.screenshot_keys)),
                        "flow_format": flow.format if flow else None,
                        "flow_definition": Jsonb(to_json(flow.definition)) if flow else None,
                        "import_report": Jsonb(to_json(flow.report)) if flow else None,
                        "template": product.template,
                        "status": product.status,
                        "reasons": Jsonb(list(product.review_reasons)),
                        "steps": Jsonb(list(product.completed_steps)),
                        "live_version": product.live_version,
                        "published_at": product.published_at,
                        "updated_at": product.updated_at,
                    },
                )
        except psycopg.errors.UniqueViolation as e:
            raise Conflict(
                "slug is taken", errors=[FieldError("slug", f"'{listing.slug}' is already in use")]
            ) from e

    def delete(self, product_id: uuid.UUID) -> None:
        """Delete the product; its plans, assets, runs and versions go with it (foreign keys cascade)."""
        self._session.execute("delete from products where id = %s", (product_id,))

    def tenant_of(self, product_id: uuid.UUID) -> uuid.UUID | None:
        """The owning tenant of any product, through the admin-only SECURITY DEFINER function."""
        row = self._session.fetch_one("select admin_product_tenant(%s) as tenant_id", (product_id,))
        return row["tenant_id"] if row else None


def product_from_row(row: dict[str, Any]) -> Product:
    """A `Product` from a `products` row."""
    capabilities = (
        ProductCapabilities.from_document(row["capabilities"])
        if row["capabilities"] is not None
        else default_capabilities(row["category"], row["subcategory"])
    )
    return Product(
        id=row["id"],
        tenant_id=row["tenant_id"],
        category=row["category"],
        subcategory=row["subcategory"],
        capabilities=capabilities,
        updated_at=row["updated_at"],
        status=row["status"],
        completed_steps=tuple(row["completed_steps"]),
        listing=Listing(
            name=row["name"],
            slug=row["slug"],
            short_description=row["short_description"],
            full_description=row["full_description"],
            demo_url=row["demo_url"],
            documentation_url=row["documentation_url"],
            tags=tuple(row["tags"]),
        ),
        logo_key=row["logo_key"],
        screenshot_keys=tuple(row["screenshot_keys"]),
        flow=FlowImport(row["flow_format"], row["flow_definition"], row["import_report"] or {})
        if row["flow_format"]
        else None,
        template=row["template"],
        review_reasons=tuple(row["review_reasons"]),
        live_version=row["live_version"],
        published_at=row["published_at"],
    )


class PlanRepository:
    """`plans` rows (one JSON `spec` per position) as `PlanSpec`s."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def for_product(self, product_id: uuid.UUID) -> list[PlanSpec]:
        rows = self._session.fetch_all(
            "select spec from plans where product_id = %s order by position", (product_id,)
        )
        return [PlanSpec.from_document(r["spec"]) for r in rows]

    def replace(self, product: Product, plans: list[PlanSpec]) -> None:
        self._session.execute("delete from plans where product_id = %s", (product.id,))
        if plans:
            self._session.execute_many(
                "insert into plans (tenant_id, product_id, position, spec) values (%s, %s, %s, %s)",
                [
                    (product.tenant_id, product.id, position, Jsonb(plan.to_document()))
                    for position, plan in enumerate(plans)
                ],
            )

    def known(self, product_id: uuid.UUID) -> list[tuple[str, str]]:
        rows = self._session.fetch_all(
            "select spec ->> 'id' as id, spec ->> 'name' as name, 0 as source, null::timestamptz as created_at,"
            " position from plans where product_id = %(id)s and spec ? 'id'"
            " union all"
            " select t.plan ->> 'id', t.plan ->> 'name', 1, v.created_at, (t.n - 1)::int"
            " from product_versions v, jsonb_array_elements(v.plans) with ordinality as t(plan, n)"
            " where v.product_id = %(id)s and t.plan ? 'id'"
            " order by source, created_at desc, position",
            {"id": product_id},
        )
        return [(r["id"], r["name"]) for r in rows if r["id"] is not None]


class AssetRepository:
    """`product_assets` rows as `Asset`s."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> Asset:
        row = self._session.fetch_one(
            "select * from product_assets where id = %s and product_id = %s", (asset_id, product_id)
        )
        if row is None:
            raise NotFound("asset not found")
        return _asset(row)

    def for_product(self, product_id: uuid.UUID) -> list[Asset]:
        rows = self._session.fetch_all(
            "select * from product_assets where product_id = %s order by created_at", (product_id,)
        )
        return [_asset(r) for r in rows]

    def add(self, asset: Asset) -> None:
        self._session.execute(
            "insert into product_assets (id, tenant_id, product_id, kind, object_key, content_type, max_bytes,"
            " size_bytes, status, created_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                asset.id,
                asset.tenant_id,
                asset.product_id,
                asset.kind,
                asset.object_key,
                asset.content_type,
                asset.max_bytes,
                asset.size_bytes,
                asset.status,
                asset.created_at,
            ),
        )

    def save(self, asset: Asset) -> None:
        self._session.execute(
            "update product_assets set status = %s, size_bytes = %s where id = %s",
            (asset.status, asset.size_bytes, asset.id),
        )

    def delete(self, product_id: uuid.UUID, asset_id: uuid.UUID) -> bool:
        return bool(
            self._session.execute(
                "delete from product_assets where id = %s and product_id = %s", (asset_id, product_id)
            )
        )


def _asset(row: dict[str, Any]) -> Asset:
    return Asset(
        id=row["id"],
        tenant_id=row["tenant_id"],
        product_id=row["product_id"],
        kind=row["kind"],
        object_key=row["object_key"],
        content_type=row["content_type"],
        max_bytes=row["max_bytes"],
        created_at=row["created_at"],
        size_bytes=row["size_bytes"],
        status=row["status"],
    )


class ReviewRunRepository:
    """`product_review_runs` rows as `ReviewRun`s."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, product_id: uuid.UUID, run_id: uuid.UUID, for_update: bool = False) -> ReviewRun | None:
        row = self._session.fetch_one(
            "select * from product_review_runs where id = %s and product_id = %s"
            + (" for update" if for_update else ""),
            (run_id, product_id),
        )
        return _run(row) if row else None

    def latest(self, product_id: uuid.UUID) -> ReviewRun | None:
        runs = self.recent(product_id, 1)
        return runs[0] if runs else None

    def recent(self, product_id: uuid.UUID, limit: int) -> list[ReviewRun]:
        rows = self._session.fetch_all(
            "select * from product_review_runs where product_id = %s order by created_at desc limit %s",
            (product_id, limit),
        )
        return [_run(r) for r in rows]

    def add(self, run: ReviewRun) -> None:
        self._session.execute(
            "insert into product_review_runs (id, tenant_id, product_id, status, created_at, updated_at)"
            " values (%s, %s, %s, %s, %s, %s)",
            (run.id, run.tenant_id, run.product_id, run.status, run.created_at, run.updated_at),
        )

    def save(self, run: ReviewRun) -> None:
        self._session.execute(
            "update product_review_runs set status = %s, checks = %s, reasons = %s, decided_by = %s,"
            " updated_at = %s where id = %s",
            (run.status, Jsonb(run.checks), Jsonb(run.reasons), run.decided_by, run.updated_at, run.id),
        )

    def supersede_open(self, product_id: uuid.UUID, now: datetime) -> None:
        self._session.execute(
            "update product_review_runs set status = 'superseded', updated_at = %s"
            " where product_id = %s and status in ('queued', 'checks_passed')",
            (now, product_id),
        )


def _run(row: dict[str, Any]) -> ReviewRun:
    return ReviewRun(
        id=row["id"],
        tenant_id=row["tenant_id"],
        product_id=row["product_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        status=row["status"],
        checks=list(row["checks"]),
        reasons=list(row["reasons"]),
        decided_by=row["decided_by"],
    )


class VersionRepository:
    """`product_versions`: frozen snapshots of published versions (stored JSON, compared as is)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def snapshot(self, product_id: uuid.UUID, version: str) -> dict[str, object] | None:
        return self._session.fetch_one(
            "select capabilities, plans, listing from product_versions where product_id = %s and version = %s",
            (product_id, version),
        )

    def add(
        self, product: Product, version: str, snapshot: dict[str, object], approved_by: uuid.UUID
    ) -> None:
        self._session.execute(
            "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing,"
            " approved_by) values (%s, %s, %s, %s, %s, %s, %s)",
            (
                product.tenant_id,
                product.id,
                version,
                Jsonb(snapshot["capabilities"]),
                Jsonb(snapshot["plans"]),
                Jsonb(snapshot["listing"]),
                approved_by,
            ),
        )


class ListingRepository:
    """`marketplace_listings`: the public projection of each product's live version."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def publish(self, projection: ListingProjection) -> None:
        product = projection.product
        listing = product.listing
        self._session.execute(
            "insert into marketplace_listings (product_id, tenant_id, version, slug, name, short_description,"
            " full_description, category, subcategory, tags, seller_name, logo_key, screenshot_keys, demo_url,"
            " documentation_url, capabilities, plans, min_price_minor, currency, runtime_types, published_at)"
            " values (%(id)s, %(tenant)s, %(version)s, %(slug)s, %(name)s, %(short)s, %(full)s, %(category)s,"
            " %(subcategory)s, %(tags)s, coalesce((select name from tenants where id = %(tenant)s), ''),"
            " %(logo)s, %(shots)s, %(demo)s, %(docs)s, %(caps)s, %(plans)s, %(min_price)s, %(currency)s, %(runtimes)s,"
            " %(published_at)s)"
            " on conflict (product_id) do update set version = excluded.version, slug = excluded.slug,"
            " name = excluded.name, short_description = excluded.short_description,"
            " full_description = excluded.full_description, category = excluded.category,"
            " subcategory = excluded.subcategory, tags = excluded.tags, seller_name = excluded.seller_name,"
            " logo_key = excluded.logo_key, screenshot_keys = excluded.screenshot_keys,"
            " demo_url = excluded.demo_url, documentation_url = excluded.documentation_url,"
            " capabilities = excluded.capabilities, plans = excluded.plans,"
            " min_price_minor = excluded.min_price_minor, currency = excluded.currency,"
            " runtime_types = excluded.runtime_types",
            {
                "id": product.id,
                "tenant": product.tenant_id,
                "version": projection.version,
                "slug": listing.slug,
                "name": listing.name,
                "short": listing.short_description,
                "full": listing.full_description or "",
                "category": product.category,
                "subcategory": product.subcategory,
                "tags": list(listing.tags),
                "logo": product.logo_key,
                "shots": Jsonb(list(product.screenshot_keys)),
                "demo": listing.demo_url,
                "docs": listing.documentation_url,
                "caps": Jsonb(product.capabilities.to_document()),
                "plans": Jsonb([plan.to_document() for plan in projection.plans]),
                "min_price": projection.min_monthly.amount if projection.min_monthly else None,
                "currency": projection.currency,
                "runtimes": projection.runtime_types,
                "published_at": product.published_at,
            },
        )

    def remove(self, product_id: uuid.UUID) -> None:
        self._session.execute("delete from marketplace_listings where product_id = %s", (product_id,))

    def set_featured(self, product_id: uuid.UUID, featured: bool) -> bool:
        return bool(
            self._session.execute(
                "update marketplace_listings set featured = %s where product_id = %s", (featured, product_id)
            )
        )
