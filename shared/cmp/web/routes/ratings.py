"""Reviews and ratings: a buyer organization's review of its subscription's product, and a published
product's public reviews."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.catalog.rating_model import ReviewListQuery
from cmp.web.deps import Buyer, ServicesDep
from cmp.web.ratings_schemas import RatingFilter, Review, ReviewPage, ReviewRequest
from cmp.web.schemas import PageCursor, PageLimit, answers

router = Router()
REVIEW = "/v1/subscriptions/<subscription_id>/review"
BUYER = (401, 403, 404)


def _written() -> dict[int, Any]:
    """PUT answers 200 (replaced) or 201 (created), both with the review."""
    responses = answers(200, "Replaced", *BUYER, 409)
    responses[201] = {"description": "Created", "content": {"application/json": {"model": Review}}}
    return responses


@router.put(REVIEW, responses=_written())
def write_review(
    subscription_id: UUID, body: ReviewRequest, buyer: Buyer, services: ServicesDep
) -> tuple[Review, int]:
    """Write the subscription's review (201), or replace it (200). The organization must hold or have
    held the product (409 while the subscription is still being provisioned); another organization's
    subscription is a 404."""
    review, created = services.ratings.write(
        buyer.tenant_id, buyer.user_id, str(subscription_id), body.rating, body.title, body.body
    )
    return Review.model_validate(review), 201 if created else 200


@router.get(REVIEW, responses=answers(200, "The subscription's review", *BUYER))
def get_review(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> Review:
    """The subscription's review; 404 when it has none (or the subscription is not the organization's)."""
    return Review.model_validate(services.ratings.get(buyer.tenant_id, str(subscription_id)))


@router.delete(REVIEW, responses=answers(204, "Deleted", *BUYER))
def delete_review(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> Response[None]:
    """Delete the subscription's review (the product's rating is recomputed at once)."""
    services.ratings.delete(buyer.tenant_id, str(subscription_id))
    return Response(status_code=204)


@router.get(
    "/v1/marketplace/products/<slug_or_id>/reviews",
    responses=answers(200, "One page of the product's reviews, newest first", 404),
)
def product_reviews(
    slug_or_id: str,
    services: ServicesDep,
    rating: RatingFilter = None,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> ReviewPage:
    """A published product's reviews (by slug or id), newest first, a page at a time (`next_cursor`),
    with its rating summary; `rating` keeps only reviews with that many stars. Public."""
    query = ReviewListQuery.from_query(rating, limit, cursor)
    return ReviewPage.model_validate(services.rating_views.product_reviews(slug_or_id, query))
