"""Public marketplace: categories, search, product details, comparison and featured listings (no sign-in)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.marketplace import marketplace_routes

logger, metrics = instruments("marketplace-api")
app = make_resolver(logger)
services = bootstrap()
app.include_router(marketplace_routes(services))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
