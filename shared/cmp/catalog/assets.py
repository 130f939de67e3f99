"""A product's logo and screenshots: presigned uploads, checking what arrived, deleting.

The browser uploads straight to object storage with a presigned form whose policy pins the type and caps
the size; `complete_upload` then checks the stored object against what was announced, and its bytes: the
signature must be the announced type, and an SVG must be static artwork (`cmp.catalog.content`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, cast

from cmp.catalog.asset_model import (
    UPLOAD_EXPIRES_IN,
    Asset,
    AssetKind,
    asset_rule,
    bytes_to_check,
    ensure_room_to_announce,
    ensure_room_to_complete,
)
from cmp.catalog.ids import parse_product_id
from cmp.catalog.ports import CatalogUnitOfWork, CatalogUnitOfWorkFactory
from cmp.catalog.views import product_detail
from cmp.errors import NotFound, ValidationFailed
from cmp.ports import Clock, IdGenerator, ObjectStorage


class ProductAssets:
    """Upload, complete and delete a product's assets (`logo`, `screenshot`)."""

    def __init__(
        self,
        uow: CatalogUnitOfWorkFactory,
        objects: ObjectStorage,
        assets_bucket: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._objects = objects
        self._bucket = assets_bucket
        self._clock = clock
        self._ids = ids

    def request_upload(
        self, tenant_id: str, product_id: str, kind: str, content_type: str, size_bytes: int
    ) -> dict[str, Any]:
        """Announce an upload; returns `{"asset_id", "kind", "upload": {"url", "fields"}, "expires_in"
        (seconds), "complete_with"}`. `ValidationFailed` for a kind, type or size the rules refuse,
        `Conflict` when the product is not editable or has no room (`ensure_room_to_announce`: ready and
        pending screenshots count; the product row is locked, so parallel announcements cannot overrun)."""
        rule = asset_rule(kind)
        rule.check_request(content_type, size_bytes)
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id), for_update=True)
            product.ensure_editable()
            ensure_room_to_announce(kind, uow.assets.for_product(product.id), self._clock.now())
            asset_id = self._ids.new_id()
            key = Asset.key_for(product.tenant_id, product.id, kind, asset_id, rule.types[content_type])
            uow.assets.add(
                Asset(
                    id=asset_id,
                    tenant_id=product.tenant_id,
                    product_id=product.id,
                    kind=cast(AssetKind, kind),
                    object_key=key,
                    content_type=content_type,
                    max_bytes=size_bytes,
                    created_at=self._clock.now(),
                )
            )
            uow.commit()
        upload = self._objects.presigned_post(self._bucket(), key, content_type, size_bytes)
        return {
            "asset_id": str(asset_id),
            "kind": kind,
            "upload": upload,
            "expires_in": UPLOAD_EXPIRES_IN,
            "complete_with": f"POST /v1/provider/products/{product_id}/assets/{asset_id}/complete",
        }

    def complete_upload(self, tenant_id: str, product_id: str, asset_id: str) -> dict[str, Any]:
        """Check the uploaded object and make the asset ready (a new logo replaces the previous one, whose
        row is deleted; its stored object stays, as published versions may show it). `NotFound`;
        `Conflict` when nothing was uploaded (the asset stays pending) or a screenshot would exceed the
        most allowed; `ValidationFailed` when it is not what was announced: declared type or size, its
        real type by its leading bytes (`content_type`), active content in an SVG (`file`) -- the refused
        asset's row is then deleted (its stored object stays, never served). Returns the product's detail."""
        with self._uow(tenant_id) as uow:
            pid = parse_product_id(product_id)
            uow.products.get(pid, for_update=True)
            asset = uow.assets.get(pid, _asset_id(asset_id))
            head = self._objects.head(self._bucket(), asset.object_key)
            content = (
                self._objects.read_prefix(
                    self._bucket(), asset.object_key, bytes_to_check(asset.content_type)
                )
                if head is not None
                else b""
            )
            try:
                asset.complete(head, content)
            except ValidationFailed:
                uow.assets.delete(pid, asset.id)
                uow.commit()
                raise
            others = uow.assets.for_product(pid)
            ensure_room_to_complete(asset, others)
            uow.assets.save(asset)
            if asset.kind == "logo":
                for other in others:
                    if other.kind == "logo" and other.id != asset.id and other.status == "ready":
                        uow.assets.delete(pid, other.id)
            detail = self._sync(uow, pid)
            uow.commit()
        return detail

    def delete_asset(self, tenant_id: str, product_id: str, asset_id: str) -> dict[str, Any]:
        """Delete one asset of an editable product; `NotFound` when it has no such asset."""
        with self._uow(tenant_id) as uow:
            product = uow.products.get(parse_product_id(product_id))
            product.ensure_editable()
            if not uow.assets.delete(product.id, _asset_id(asset_id)):
                raise NotFound("asset not found")
            detail = self._sync(uow, product.id)
            uow.commit()
        return detail

    def _sync(self, uow: CatalogUnitOfWork, product_id: uuid.UUID) -> dict[str, Any]:
        product = uow.products.get(product_id)
        product.sync_assets(uow.assets.for_product(product_id), self._clock.now())
        uow.products.save(product)
        return product_detail(uow, product)


def _asset_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as e:
        raise NotFound("asset not found") from e
