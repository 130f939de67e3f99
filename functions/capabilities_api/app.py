"""The capability document's JSON Schema, and validation of a draft without saving it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.capabilities import capability_routes

logger, metrics = instruments("capabilities-api")
app = make_resolver(logger)
app.include_router(capability_routes())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
