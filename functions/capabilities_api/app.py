"""The capability document's JSON Schema, and validation of a draft without saving it.

Needs no services: the routes only read and check capability documents.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.capabilities import router

logger, metrics = instruments("capabilities-api")
app = make_resolver(logger)
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
