"""Platform administration: the review queue, approve or reject, featured listings."""

from typing import Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.bootstrap import Services
from cmp.web.api import Caller, caller
from cmp.web.schemas import FeatureRequest, RejectRequest


def admin_routes(services: Services) -> Router:
    router = Router()

    def admin() -> Caller:
        who = caller(router)
        who.require("admin")
        return who

    @router.get("/v1/admin/reviews")
    def review_queue() -> dict[str, Any]:
        admin()
        return {"items": services.product_views.review_queue()}

    @router.post("/v1/admin/products/<product_id>/approve")
    def approve(product_id: UUID) -> dict[str, Any]:
        return services.reviews.approve(admin().user_id, str(product_id))

    @router.post("/v1/admin/products/<product_id>/reject")
    def reject(product_id: UUID, body: RejectRequest) -> dict[str, Any]:
        return services.reviews.reject(admin().user_id, str(product_id), body.reasons)

    @router.put("/v1/admin/products/<product_id>/featured")
    def feature(product_id: UUID, body: FeatureRequest) -> dict[str, Any]:
        admin()
        return services.reviews.set_featured(str(product_id), body.featured)

    return router
