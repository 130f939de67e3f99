"""A subscription's MCP endpoint (`POST /v1/mcp/{subscription_id}`): the agent's `ask` and the knowledge
base's `search` as MCP tools, behind the runtime authorizer.

`services` is built once per container and injected into the route by `make_resolver`. The `mcp` package is
imported on the first MCP request (`cmp.mcp_endpoint`), not at cold start.
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.gateway.routing import mark_runtime
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.forwarding import to_dedicated_runtime
from cmp.web.routes.mcp import router

logger, metrics = instruments("mcp-api")
services = bootstrap()
app = make_resolver(logger, services)
app.use(middlewares=[to_dedicated_runtime(services)])
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return mark_runtime(event, app.resolve(event, context))
