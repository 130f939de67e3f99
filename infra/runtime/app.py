"""The dedicated runtime's handler (infra/Dockerfile): the pooled runtime functions' routes (agent chat,
feedback, widget settings and knowledge search, MCP, the runtime context) in one resolver, run for the one
subscription its Deployment names (`CMP_RUNTIME=dedicated`, `CMP_SUBSCRIPTION_ID`).

The gateway forwards each call's API Gateway event here (`cmp.gateway.routing`); the routes admit it
(rate limits, quotas, metering) as they do in the pooled functions, and answer `X-CMP-Runtime: dedicated`.
The health checker's probe (`cmp.provisioning.health.HEALTH_EVENT`) is answered without the database.
"""

import os
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.gateway.routing import mark_runtime
from cmp.observability import instruments
from cmp.provisioning.health import health_answer, is_health_probe
from cmp.web.api import make_resolver
from cmp.web.forwarding import to_dedicated_runtime
from cmp.web.routes.agents import router as agents
from cmp.web.routes.mcp import router as mcp
from cmp.web.routes.runtime import router as runtime

logger, metrics = instruments("dedicated-runtime")
services = bootstrap()
app = make_resolver(logger, services)
app.use(middlewares=[to_dedicated_runtime(services)])  # refuses any other subscription (404)
for routes in (agents, mcp, runtime):
    app.include_router(routes)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_health_probe(event):  # the health checker's probe: answered without the database
        return health_answer(
            services.settings.dedicated_subscription_id, os.environ.get("CMP_PRODUCT_VERSION", "")
        )
    return mark_runtime(event, app.resolve(event, context))
