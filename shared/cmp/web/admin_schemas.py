"""Request and response models of platform administration (`/v1/admin`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cmp.web.schemas import RequestModel, Timestamp


class RejectRequest(RequestModel):
    reasons: list[Annotated[str, Field(max_length=2000)]] = Field(min_length=1, max_length=20)


class FeatureRequest(RequestModel):
    featured: bool


# ---------------------------------------------------------------------------------------------- admin
class QueuedReview(BaseModel):
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


class ReviewQueue(BaseModel):
    items: list[QueuedReview]


class Approval(BaseModel):
    product_id: str
    status: Literal["approved"]
    version: str


class Rejection(BaseModel):
    product_id: str
    status: Literal["rejected"]
    reasons: list[str]


class Featured(BaseModel):
    product_id: str
    featured: bool
