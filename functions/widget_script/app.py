"""The embeddable chat widget's script (`GET /v1/widget/chat.js`), public and static.

Needs no services: it serves one file of the cmp package.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.widget import router

logger, metrics = instruments("widget-script")
app = make_resolver(logger)
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
