"""A product's assets (logo, screenshots): what each kind accepts, an upload's lifecycle and how many may
wait or be ready. No I/O; the catalog's other entities are in `cmp.catalog.model`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cmp.errors import Conflict, FieldError, ValidationFailed

AssetKind = Literal["logo", "screenshot"]


@dataclass(frozen=True)
class AssetRule:
    """What may be uploaded for one kind of asset: content types (with the file extension), size, count."""

    kind: str
    types: dict[str, str]
    max_bytes: int
    max_count: int

    def size_problem(self, size_bytes: int) -> str | None:
        """Why an announced size is refused (naming this kind's limit), or None when it is allowed."""
        if 0 < size_bytes <= self.max_bytes:
            return None
        return (
            f"must be between 1 and {self.max_bytes} bytes ({self.max_bytes // (1024 * 1024)} MiB, "
            f"the largest {self.kind} allowed; got {size_bytes})"
        )

    def check_request(self, content_type: str, size_bytes: int) -> None:
        """Raises `ValidationFailed` for a content type or announced size this kind does not accept."""
        errors: list[FieldError] = []
        if content_type not in self.types:
            errors.append(FieldError("content_type", f"must be one of {', '.join(self.types)}"))
        size_problem = self.size_problem(size_bytes)
        if size_problem:
            errors.append(FieldError("size_bytes", size_problem))
        if errors:
            raise ValidationFailed("upload is not allowed", errors=errors)


ASSET_RULES: dict[str, AssetRule] = {
    "logo": AssetRule(
        "logo",
        {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/svg+xml": "svg"},
        max_bytes=1024 * 1024,
        max_count=1,
    ),
    "screenshot": AssetRule(
        "screenshot",
        {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"},
        max_bytes=5 * 1024 * 1024,
        max_count=8,
    ),
}
UPLOAD_EXPIRES_IN = 900
"""Seconds a presigned upload form stays valid."""


def asset_rule(kind: str) -> AssetRule:
    """The rule of an asset kind; raises `ValidationFailed` for an unknown kind."""
    rule = ASSET_RULES.get(kind)
    if rule is None:
        raise ValidationFailed(
            "unknown asset kind", errors=[FieldError("kind", "must be logo or screenshot")]
        )
    return rule


@dataclass
class Asset:
    """An uploaded (or announced) logo or screenshot: `pending` until the upload is checked, then `ready`.

    `max_bytes` is the size the seller announced; `size_bytes` what was really stored."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    product_id: uuid.UUID
    kind: AssetKind
    object_key: str
    content_type: str
    max_bytes: int
    created_at: datetime
    size_bytes: int | None = None
    status: Literal["pending", "ready"] = "pending"

    @staticmethod
    def key_for(tenant_id: uuid.UUID, product_id: uuid.UUID, kind: str, asset_id: uuid.UUID, ext: str) -> str:
        """The object key an asset is uploaded to."""
        return f"products/{tenant_id}/{product_id}/{kind}/{asset_id}.{ext}"

    def complete(self, head: dict[str, Any] | None, content: bytes) -> None:
        """Accept the stored object described by `head` (`ContentType`, `ContentLength`; None when absent)
        whose first bytes are `content` (`bytes_to_check(content_type)` of them).

        Raises `Conflict` when nothing was uploaded, `ValidationFailed` when it is not what was announced:
        another declared type or a larger size, bytes whose signature is another type (`content_type`),
        an SVG with active content (`file`, one error per problem)."""
        if head is None:
            raise Conflict(
                "the file has not been uploaded yet", errors=[FieldError("asset", "no upload found")]
            )
        problems = []
        if head.get("ContentType") != self.content_type:
            problems.append(
                FieldError(
                    "content_type", f"uploaded as {head.get('ContentType')}, announced as {self.content_type}"
                )
            )
        size = int(head.get("ContentLength", 0))
        if size > self.max_bytes:
            problems.append(FieldError("size_bytes", "the file is larger than announced"))
        if problems:
            raise ValidationFailed("the uploaded file does not match the request", errors=problems)
        unsafe = content_problems(self.content_type, content)
        if unsafe:
            raise ValidationFailed(
                "the uploaded file is refused", errors=[FieldError(path, message) for path, message in unsafe]
            )
        self.status = "ready"
        self.size_bytes = size


def bytes_to_check(content_type: str) -> int:
    """How many leading bytes of a stored file `content_problems` needs: the signature's, or the whole
    file for SVG (text, so only parsing it tells; logos are at most 1 MiB)."""
    from cmp.catalog.content import SNIFF_BYTES, SVG_TYPE

    return ASSET_RULES["logo"].max_bytes if content_type == SVG_TYPE else SNIFF_BYTES


def content_problems(content_type: str, content: bytes) -> list[tuple[str, str]]:
    """`(field, message)` for each way the bytes are not a safe `content_type` file: their signature says
    another type (or none known), or an SVG carries active content (scripts, event handlers,
    `foreignObject`, references to other files). Empty when the file is what it claims."""
    from cmp.catalog.content import SVG_TYPE, sniff, svg_problems  # filetype/defusedxml: first check only

    actual = sniff(content, full=content if content_type == SVG_TYPE else None)
    if actual != content_type:
        what = f"of type {actual}" if actual else "not an image of any supported type"
        return [("content_type", f"announced as {content_type}, but by its content the file is {what}")]
    if content_type == SVG_TYPE:
        return [("file", problem) for problem in svg_problems(content)]
    return []


def content_type_of_key(object_key: str) -> str:
    """The content type an asset's object key stands for (its extension, set from the verified type);
    raises `ValueError` for a key no asset rule produces."""
    extension = object_key.rsplit(".", 1)[-1]
    for rule in ASSET_RULES.values():
        for content_type, ext in rule.types.items():
            if ext == extension:
                return content_type
    raise ValueError(f"not an asset key: {object_key}")


def serving_headers(object_key: str) -> dict[str, str]:
    """The response overrides a presigned GET of a stored asset passes to S3: its verified type as
    `ResponseContentType`, and `ResponseContentDisposition` (`inline` for raster images, `attachment` for
    SVG, so a browser opening the URL itself downloads the file instead of rendering it as a page)."""
    content_type = content_type_of_key(object_key)
    filename = object_key.rsplit("/", 1)[-1]
    disposition = "attachment" if content_type == "image/svg+xml" else "inline"
    return {
        "ResponseContentType": content_type,
        "ResponseContentDisposition": f'{disposition}; filename="{filename}"',
    }


MAX_PENDING_LOGOS = 3
"""Logo announcements that may wait for their upload at once (a completed logo replaces the previous one)."""


def _live(asset: Asset, now: datetime) -> bool:
    """Whether an asset holds a place: ready, or announced and its upload form not yet expired."""
    return asset.status == "ready" or asset.created_at + timedelta(seconds=UPLOAD_EXPIRES_IN) > now


def ensure_room_to_announce(kind: str, assets: list[Asset], now: datetime) -> None:
    """Raises `Conflict` when another `kind` upload may not be announced: screenshots ready plus pending
    (announced within `UPLOAD_EXPIRES_IN`) already reach the most allowed, or `MAX_PENDING_LOGOS` logo
    uploads are already waiting. The caller holds the product's lock, so announcements cannot race."""
    rule = asset_rule(kind)
    live = [a for a in assets if a.kind == kind and _live(a, now)]
    if kind == "screenshot" and len(live) >= rule.max_count:
        raise Conflict(
            f"at most {rule.max_count} screenshots (ready or being uploaded); delete one first",
            errors=[FieldError("kind", f"at most {rule.max_count} screenshots per product")],
        )
    if kind == "logo" and sum(a.status == "pending" for a in live) >= MAX_PENDING_LOGOS:
        raise Conflict(
            f"at most {MAX_PENDING_LOGOS} logo uploads may be waiting; complete or delete one first",
            errors=[FieldError("kind", f"at most {MAX_PENDING_LOGOS} pending logo uploads")],
        )


def ensure_room_to_complete(asset: Asset, assets: list[Asset]) -> None:
    """Raises `Conflict` when making `asset` ready would exceed its kind's count (screenshots; a logo
    replaces the previous one). The caller holds the product's lock."""
    rule = asset_rule(asset.kind)
    ready = [a for a in assets if a.kind == asset.kind and a.status == "ready" and a.id != asset.id]
    if asset.kind == "screenshot" and len(ready) >= rule.max_count:
        raise Conflict(
            f"at most {rule.max_count} screenshots; delete one first",
            errors=[FieldError("kind", f"at most {rule.max_count} screenshots per product")],
        )
