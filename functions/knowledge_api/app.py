"""The knowledge ingestion API of a subscription: documents (presigned uploads), websites, Q&A pairs and
stats (`cmp.web.routes.knowledge`)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.knowledge import router

logger, metrics = instruments("knowledge-api")
services = bootstrap()
app = make_resolver(logger, services)
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
