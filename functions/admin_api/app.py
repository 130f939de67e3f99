"""Platform administration: the review queue, approve or reject, featured listings."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.admin import admin_routes

logger, metrics = instruments("admin-api")
app = make_resolver(logger)
services = bootstrap()
app.include_router(admin_routes(services))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
