"""Request and response models of product reviews: a subscription's review (`/v1/subscriptions/{id}/review`)
and a product's public reviews (`/v1/marketplace/products/{slug}/reviews`)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from cmp.catalog.rating_model import BODY_MAX_CHARS, RATING_MAX, RATING_MIN, TITLE_MAX_CHARS
from cmp.web.schemas import ApiModel, RequestModel, Timestamp


class ReviewRequest(RequestModel):
    """A review: stars, a one-line title and an optional text (surrounding whitespace is trimmed)."""

    rating: int = Field(ge=RATING_MIN, le=RATING_MAX, examples=[5], description="Stars, 1 to 5")
    title: str = Field(
        min_length=1, max_length=TITLE_MAX_CHARS, examples=["Answers our customers in minutes"]
    )
    body: str = Field(
        default="",
        max_length=BODY_MAX_CHARS,
        description="Line breaks and tabs are kept; other control characters are refused",
    )


class Review(ApiModel):
    """The organization's review of its subscription's product."""

    id: str
    subscription_id: str
    product_id: str
    rating: int
    title: str
    body: str
    author_name: str = Field(description="The writer's display name, or the organization's name")
    edited: bool = Field(description="Replaced after it was first written")
    created_at: Timestamp
    updated_at: Timestamp


class PublicReview(ApiModel):
    """A review as the product page shows it (no ids of the organization, its subscription or its user)."""

    id: str
    rating: int
    title: str
    body: str
    author_name: str
    edited: bool
    created_at: Timestamp
    updated_at: Timestamp


class ReviewedProduct(ApiModel):
    id: str
    slug: str
    name: str


class StarCount(ApiModel):
    rating: int
    count: int


class RatingSummary(ApiModel):
    """The product's rating, as its marketplace card shows it, and how many reviews gave each star count."""

    rating_avg: float = Field(description="Average stars, to two decimals; 0 without reviews")
    rating_count: int
    distribution: list[StarCount] = Field(description="5 stars to 1")


class ReviewPage(ApiModel):
    """One page of a product's reviews, newest first."""

    product: ReviewedProduct
    summary: RatingSummary
    items: list[PublicReview]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


RatingFilter = Annotated[
    str | None,
    Query(
        description=f"Only reviews with this many stars ({RATING_MIN} to {RATING_MAX})",
        json_schema_extra={"pattern": rf"^\s*([{RATING_MIN}-{RATING_MAX}])?\s*$"},
    ),
]
"""The `rating` query parameter of a product's review list (checked by `ReviewListQuery.from_query`)."""
