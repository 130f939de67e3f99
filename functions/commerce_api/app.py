"""The buyer's commerce: checkout, orders and subscriptions (plan changes, cancellation, configuration
sections, the adaptive dashboard, usage and a dedicated plan's SLA).

`services` is built once per container and injected into the routes by `make_resolver` (the
`cmp.web.deps.get_services` dependency).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.commerce import router
from cmp.web.routes.configuration import router as configuration_router
from cmp.web.routes.sla import router as sla_router
from cmp.web.routes.usage import router as usage_router

logger, metrics = instruments("commerce-api")
services = bootstrap()
app = make_resolver(logger, services)
app.include_router(router)
app.include_router(configuration_router)
app.include_router(usage_router)
app.include_router(sla_router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
