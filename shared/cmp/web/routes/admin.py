"""Platform administration: the review queue, approve or reject, featured listings."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.catalog.paging import ProductPage
from cmp.web.admin_schemas import Approval, Featured, FeatureRequest, Rejection, RejectRequest, ReviewQueue
from cmp.web.deps import Admin, ServicesDep
from cmp.web.schemas import PageCursor, PageLimit, answers

router = Router()
ADMIN = (401, 403)
DECISION = (401, 403, 404, 409)


@router.get(
    "/v1/admin/reviews",
    responses=answers(200, "One page of the products waiting for a decision, oldest first", 422, *ADMIN),
)
def review_queue(
    admin: Admin,
    services: ServicesDep,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> ReviewQueue:
    """Products waiting for an admin decision, oldest submission first, one page at a time
    (`next_cursor`)."""
    page = ProductPage.from_query(limit, cursor)
    return ReviewQueue.model_validate(services.product_views.review_queue(page))


@router.post("/v1/admin/products/<product_id>/approve", responses=answers(200, "Published", *DECISION))
def approve(product_id: UUID, admin: Admin, services: ServicesDep) -> Approval:
    """Publish the product's submitted version (its automated checks must have passed)."""
    return Approval.model_validate(services.reviews.approve(admin.user_id, str(product_id)))


@router.post(
    "/v1/admin/products/<product_id>/reject", responses=answers(200, "Sent back to the seller", *DECISION)
)
def reject(product_id: UUID, body: RejectRequest, admin: Admin, services: ServicesDep) -> Rejection:
    """Send the product back to its seller with the reasons."""
    return Rejection.model_validate(services.reviews.reject(admin.user_id, str(product_id), body.reasons))


@router.put(
    "/v1/admin/products/<product_id>/featured", responses=answers(200, "Featured flag set", 401, 403, 404)
)
def feature(product_id: UUID, body: FeatureRequest, admin: Admin, services: ServicesDep) -> Featured:
    """Show or stop showing a live listing among the featured ones."""
    return Featured.model_validate(services.reviews.set_featured(str(product_id), body.featured))
