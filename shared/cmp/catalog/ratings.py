"""Reviews and ratings by subscribers: write, replace, read and delete the review of a subscription.

Every write locks the subscription row first (so two requests for one subscription take turns), then
recomputes the product's listing rating in the same transaction (`RatingRepository.refresh_listing`), so
the marketplace's `rating_avg` / `rating_count` — and its rating sort — always equal the reviews'.
"""

from __future__ import annotations

import uuid
from typing import Any

from cmp.catalog.ports import RatingUnitOfWorkFactory
from cmp.catalog.rating_model import (
    Rating,
    ReviewText,
    author_display_name,
    ensure_may_review,
    ensure_not_own_product,
    parse_subscription_id,
)
from cmp.errors import NotFound
from cmp.ports import Clock, IdGenerator


def review_detail(rating: Rating) -> dict[str, Any]:
    """The review as its organization sees it: ids as strings, times in ISO 8601, `edited` when it was
    replaced after it was first written."""
    return {
        "id": str(rating.id),
        "subscription_id": str(rating.subscription_id),
        "product_id": str(rating.product_id),
        "rating": rating.rating,
        "title": rating.title,
        "body": rating.body,
        "author_name": rating.author_name,
        "edited": rating.edited,
        "created_at": rating.created_at.isoformat(),
        "updated_at": rating.updated_at.isoformat(),
    }


class RatingService:
    """A buyer organization's review of one of its subscriptions."""

    def __init__(self, uow: RatingUnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids

    def write(
        self, tenant_id: str, user_id: str, subscription_id: str, rating: object, title: object, body: object
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace the subscription's review; returns `(review_detail, created)`.

        Raises `ValidationFailed` (422) naming each bad field (`ReviewText.checked`), `NotFound` (404) for
        a subscription that is not the organization's, `Conflict` (409) for one that was never in use
        (`ensure_may_review`) or one of the seller's own product (`ensure_not_own_product`)."""
        text = ReviewText.checked(rating, title, body)
        sid = parse_subscription_id(subscription_id)
        author_id = uuid.UUID(user_id)
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(sid, for_update=True)
            ensure_may_review(subscription.status)
            ensure_not_own_product(subscription.tenant_id, subscription.seller_tenant_id)
            author = author_display_name(*uow.ratings.author(author_id))
            now = self._clock.now()
            review = uow.ratings.for_subscription(sid)
            created = review is None
            if review is None:
                review = Rating(
                    id=self._ids.new_id(),
                    tenant_id=subscription.tenant_id,
                    subscription_id=subscription.id,
                    product_id=subscription.product_id,
                    seller_tenant_id=subscription.seller_tenant_id,
                    author_user_id=author_id,
                    author_name=author,
                    rating=text.rating,
                    title=text.title,
                    body=text.body,
                    created_at=now,
                    updated_at=now,
                )
                uow.ratings.add(review)
            else:
                review.revise(text, author_id, author, now)
                uow.ratings.save(review)
            uow.ratings.refresh_listing(subscription.product_id)
            uow.commit()
        return review_detail(review), created

    def get(self, tenant_id: str, subscription_id: str) -> dict[str, Any]:
        """The subscription's review (`review_detail`); `NotFound` for a subscription that is not the
        organization's, or one without a review."""
        sid = parse_subscription_id(subscription_id)
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(sid)
            review = uow.ratings.for_subscription(sid)
        if review is None:
            raise NotFound("this subscription has no review")
        return review_detail(review)

    def delete(self, tenant_id: str, subscription_id: str) -> None:
        """Delete the subscription's review and recompute the product's rating; `NotFound` as `get`."""
        sid = parse_subscription_id(subscription_id)
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(sid, for_update=True)
            review = uow.ratings.for_subscription(sid)
            if review is None:
                raise NotFound("this subscription has no review")
            uow.ratings.delete(review.id)
            uow.ratings.refresh_listing(subscription.product_id)
            uow.commit()
