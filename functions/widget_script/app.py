"""The embeddable chat widget's script (`GET /v1/widget/chat.js`), public and static.

Needs no services and reads no parameter or body: it serves one file of the cmp package, from a resolver
without request validation (`make_resolver(..., validated=False)`), so neither pydantic nor Powertools'
validation middleware loads at its cold start.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.widget import router

logger, metrics = instruments("widget-script")
app = make_resolver(logger, validated=False)
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
