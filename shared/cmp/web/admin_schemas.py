"""Request and response models of platform administration (`/v1/admin`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from cmp.web.schemas import ApiModel, RequestModel, Timestamp


class RejectRequest(RequestModel):
    """Why the product is sent back (shown to the seller)."""

    reasons: list[Annotated[str, Field(max_length=2000)]] = Field(min_length=1, max_length=20)


class FeatureRequest(RequestModel):
    """Whether the listing is featured (a JSON boolean; strings are refused)."""

    featured: bool


# ---------------------------------------------------------------------------------------------- admin
class QueuedReview(ApiModel):
    """A product in the review queue with its latest review run."""

    product_id: str
    tenant_id: str
    tenant_name: str
    name: str | None
    category: str
    status: str
    review_run_id: str
    review_status: str
    checks: Any
    submitted_at: Timestamp


class ReviewQueue(ApiModel):
    """One page of the products waiting for a decision."""

    items: list[QueuedReview]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class Approval(ApiModel):
    """The version the approval published."""

    product_id: str
    status: Literal["approved"]
    version: str


class Rejection(ApiModel):
    """The reasons the seller sees."""

    product_id: str
    status: Literal["rejected"]
    reasons: list[str]


class Featured(ApiModel):
    """The listing's featured flag as now stored."""

    product_id: str
    featured: bool
