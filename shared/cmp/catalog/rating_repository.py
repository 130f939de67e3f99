"""The SQL of product reviews (`product_ratings`, migration 0012), in the buyer organization's tenant.

The only writer of `product_ratings`. The listing's rating figures belong to the seller's row, which the
buyer's transaction may not write: `refresh_listing` calls the narrow SECURITY DEFINER function
`ratings_refresh_listing`, which recomputes them from the reviews under a lock on that row.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

from cmp.catalog.rating_model import Rating
from cmp.db.session import Session
from cmp.errors import Unauthorized

_COLUMNS = tuple(f.name for f in fields(Rating))


def _rating(row: dict[str, Any]) -> Rating:
    return Rating(**{name: row[name] for name in _COLUMNS})


class RatingRepository:
    """`product_ratings` rows as `Rating` entities (`uow.ratings`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def for_subscription(self, subscription_id: uuid.UUID) -> Rating | None:
        """The review of the current tenant's subscription, or None (also for another tenant's)."""
        row = self._session.fetch_one(
            "select * from product_ratings where subscription_id = %s", (subscription_id,)
        )
        return _rating(row) if row else None

    def add(self, rating: Rating) -> None:
        """Insert a new review (the unique subscription_id makes a second one an error)."""
        columns = ", ".join(_COLUMNS)
        values = ", ".join(f"%({name})s" for name in _COLUMNS)
        self._session.execute(
            f"insert into product_ratings ({columns}) values ({values})",
            {name: getattr(rating, name) for name in _COLUMNS},
        )

    def save(self, rating: Rating) -> None:
        """Write the review's text, author and time of change."""
        self._session.execute(
            "update product_ratings set rating = %s, title = %s, body = %s, author_user_id = %s,"
            " author_name = %s, updated_at = %s where id = %s",
            (
                rating.rating,
                rating.title,
                rating.body,
                rating.author_user_id,
                rating.author_name,
                rating.updated_at,
                rating.id,
            ),
        )

    def delete(self, rating_id: uuid.UUID) -> None:
        """Delete the review."""
        self._session.execute("delete from product_ratings where id = %s", (rating_id,))

    def author(self, user_id: uuid.UUID) -> tuple[str | None, str]:
        """The user's display name (None when unset) and the current organization's name; raises
        `Unauthorized` when the organization is gone."""
        row = self._session.fetch_one(
            "select u.display_name, t.name from tenants t left join users u on u.id = %s"
            " where t.id = app_current_tenant()",
            (user_id,),
        )
        if row is None:
            raise Unauthorized("account no longer exists")
        return row["display_name"], row["name"]

    def refresh_listing(self, product_id: uuid.UUID) -> None:
        """Recompute the product's listing rating from its reviews under a lock on the listing row (see
        migration 0012); nothing to do when the product is not on the marketplace."""
        self._session.execute("select ratings_refresh_listing(%s)", (product_id,))
