"""The public read side of product reviews: one product's reviews, newest first, a page at a time.

Reads only the public views `marketplace_catalog` (the product must be on the marketplace: a draft, an
archived product or an unknown slug is a 404) and `marketplace_reviews` (the columns a product page shows,
no tenant, subscription or user id; migration 0012). No tenant, no caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cmp.catalog.marketplace import SLUG_PATTERN
from cmp.catalog.paging import encode_cursor
from cmp.catalog.rating_model import RATING_MAX, RATING_MIN, ReviewListQuery
from cmp.db.session import Session
from cmp.errors import NotFound

SessionFactory = Callable[..., AbstractContextManager[Session]]
"""`Database.session(tenant_id=None, read_only=True)`."""

_REVIEW_COLUMNS = "id, rating, title, body, author_name, created_at, updated_at"


class RatingViews:
    """Public reads of published products' reviews."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def product_reviews(self, product_ref: str, query: ReviewListQuery) -> dict[str, Any]:
        """A page of a published product's reviews (by slug or id), newest first (ties by id):
        `{"product": {id, slug, name}, "summary": {rating_avg, rating_count, distribution: [{rating,
        count}] for 5 to 1 stars}, "items": [{id, rating, title, body, author_name, edited, created_at,
        updated_at}], "next_cursor"}` (`next_cursor` null on the last page; `items` only of `query.rating`
        stars when given). Raises `NotFound` for a reference that names no published product."""
        page = query.page
        with self._sessions(read_only=True) as session:
            product = self._product(session, product_ref)
            counts = session.fetch_all(
                "select rating, count(*)::int as n from marketplace_reviews where product_id = %s"
                " group by rating",
                (product["product_id"],),
            )
            where, params = ["product_id = %s"], [product["product_id"]]
            if query.rating is not None:
                where.append("rating = %s")
                params.append(query.rating)
            if page.after is not None:
                where.append("(created_at, id) < (%s, %s)")
                params.extend(page.after)
            rows = session.fetch_all(
                f"select {_REVIEW_COLUMNS} from marketplace_reviews where {' and '.join(where)}"
                " order by created_at desc, id desc limit %s",
                (*params, page.limit + 1),
            )
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        by_stars = {r["rating"]: r["n"] for r in counts}
        return {
            "product": {
                "id": str(product["product_id"]),
                "slug": product["slug"],
                "name": product["name"],
            },
            "summary": {
                "rating_avg": float(product["rating_avg"]),
                "rating_count": product["rating_count"],
                "distribution": [
                    {"rating": stars, "count": by_stars.get(stars, 0)}
                    for stars in range(RATING_MAX, RATING_MIN - 1, -1)
                ],
            },
            "items": [_public(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None,
        }

    @staticmethod
    def _product(session: Session, ref: str) -> dict[str, Any]:
        """The published product a slug or id names; `NotFound` otherwise (a reference shaped like
        neither never reaches the database)."""
        try:
            condition, value = "product_id = %s", str(uuid.UUID(ref))
        except ValueError:
            if len(ref) > 120 or not SLUG_PATTERN.fullmatch(ref):
                raise NotFound(f"product '{ref[:120]}' not found") from None
            condition, value = "slug = %s", ref
        row = session.fetch_one(
            f"select product_id, slug, name, rating_avg, rating_count from marketplace_catalog where {condition}",
            (value,),
        )
        if row is None:
            raise NotFound(f"product '{ref[:120]}' not found")
        return row


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "rating": row["rating"],
        "title": row["title"],
        "body": row["body"],
        "author_name": row["author_name"],
        "edited": row["updated_at"] > row["created_at"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }
