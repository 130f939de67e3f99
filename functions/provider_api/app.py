"""The seller's products: the five-step wizard, assets, submission for review, versions, and each product's
seller-provided knowledge base.

`services` is built once per container and injected into the routes by `make_resolver` (the
`cmp.web.deps.get_services` dependency).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.product_knowledge import router as knowledge_router
from cmp.web.routes.provider import router
from cmp.web.routes.sales import router as sales_router

logger, metrics = instruments("provider-api")
services = bootstrap()
app = make_resolver(logger, services)
app.include_router(router)
app.include_router(sales_router)
app.include_router(knowledge_router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
