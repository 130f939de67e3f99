"""Paging of the seller's product list and the admin review queue: page size and an opaque keyset cursor
over (timestamp, id) (no I/O, no database imports, so the API handler can parse the query at load-time
cost of nothing)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from cmp.errors import FieldError, ValidationFailed

PRODUCTS_DEFAULT_LIMIT = 50
PRODUCTS_MAX_LIMIT = 200
"""Page sizes of the seller's product list (`GET /v1/provider/products?limit=`)."""
MAX_CURSOR_CHARS = 200


@dataclass(frozen=True)
class ProductPage:
    """Which page of the seller's product list: `limit` rows after the row at `after` (updated_at, id)."""

    limit: int = PRODUCTS_DEFAULT_LIMIT
    after: tuple[datetime, uuid.UUID] | None = None

    @classmethod
    def from_query(cls, limit: str | None, cursor: str | None) -> ProductPage:
        """Parse the raw query values (blank means absent); raises `ValidationFailed` naming `query.limit`
        (a whole number from 1 to `PRODUCTS_MAX_LIMIT`) and/or `query.cursor` (not a `next_cursor`)."""
        errors: list[FieldError] = []
        size = PRODUCTS_DEFAULT_LIMIT
        raw_limit = (limit or "").strip()
        if raw_limit:
            if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit[:6]) <= PRODUCTS_MAX_LIMIT:
                size = int(raw_limit)
            else:
                errors.append(
                    FieldError("query.limit", f"must be a whole number from 1 to {PRODUCTS_MAX_LIMIT}")
                )
        after = None
        raw_cursor = (cursor or "").strip()
        if raw_cursor:
            after = _decode_cursor(raw_cursor)
            if after is None:
                errors.append(
                    FieldError("query.cursor", "is not a next_cursor of this list; start again without it")
                )
        if errors:
            raise ValidationFailed("the paging parameters are invalid", errors=errors)
        return cls(size, after)


def encode_cursor(updated_at: datetime, product_id: uuid.UUID) -> str:
    """The opaque cursor after the row (`updated_at`, `product_id`) of a page."""
    body = json.dumps([updated_at.isoformat(), str(product_id)]).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    if len(cursor) > MAX_CURSOR_CHARS:
        return None
    try:
        updated_at, product_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = datetime.fromisoformat(updated_at)
        return (when, uuid.UUID(product_id)) if when.tzinfo else None
    except (binascii.Error, ValueError, TypeError, AttributeError):
        return None
