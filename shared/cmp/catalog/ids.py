"""Product ids from request paths, without the catalog model: a function that only reads by id (the
seller's sales views in `commerce_api` and `provider_api`) need not load the ~120 capability models that
`cmp.catalog.model` imports (docs/performance.md, "Cold starts")."""

from __future__ import annotations

import uuid

from cmp.errors import NotFound


def parse_product_id(product_id: str) -> uuid.UUID:
    """A product id from a path; raises `NotFound` for anything that is not a UUID."""
    try:
        return uuid.UUID(product_id)
    except ValueError as e:
        raise NotFound("product not found") from e
