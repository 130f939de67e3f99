"""Platform administration: the review queue, approve or reject, featured listings."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import Caller, caller, make_resolver
from cmp.web.schemas import FeatureRequest, RejectRequest

logger, metrics, tracer = instruments("admin-api")
services = bootstrap()
app = make_resolver(logger)


def admin() -> Caller:
    who = caller(app)
    who.require("admin")
    return who


@app.get("/v1/admin/reviews")
def review_queue() -> dict[str, Any]:
    admin()
    return {"items": services.reviews.queue()}


@app.post("/v1/admin/products/<product_id>/approve")
def approve(product_id: str) -> dict[str, Any]:
    return services.reviews.approve(admin().user_id, product_id)


@app.post("/v1/admin/products/<product_id>/reject")
def reject(product_id: str, body: RejectRequest) -> dict[str, Any]:
    return services.reviews.reject(admin().user_id, product_id, body.reasons)


@app.put("/v1/admin/products/<product_id>/featured")
def feature(product_id: str, body: FeatureRequest) -> dict[str, Any]:
    admin()
    return services.reviews.set_featured(product_id, body.featured)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
