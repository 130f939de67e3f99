"""The gateway's own runtime route (`/v1/runtime/{subscription_id}/context`), behind the runtime authorizer.

`services` is built once per container and injected into the routes by `make_resolver` (the
`cmp.web.deps.get_services` dependency).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.gateway.routing import mark_runtime
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.forwarding import to_dedicated_runtime
from cmp.web.routes.runtime import router

logger, metrics = instruments("runtime-api")
services = bootstrap()
app = make_resolver(logger, services)
app.use(middlewares=[to_dedicated_runtime(services)])
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return mark_runtime(event, app.resolve(event, context))
