"""The runtime functions' middleware that hands a dedicated subscription's call to its dedicated runtime
(`cmp.gateway.routing`) before the route runs, and returns the runtime's proxy response as it came (its
RateLimit headers included; the route's response validation does not apply to it).

    app.use(middlewares=[to_dedicated_runtime(services)])

It acts on requests carrying a runtime authorizer context for the path's own subscription; any other
request (a portal token, another subscription in the path, which the route answers 404) runs the route.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from cmp.gateway.context import RUNTIMES, RuntimeContext
from cmp.gateway.errors import RuntimeDown
from cmp.sla.metrics import measured

if TYPE_CHECKING:
    from cmp.bootstrap import Services

Middleware = Callable[[APIGatewayRestResolver, NextMiddleware], Response[Any]]


def to_dedicated_runtime(services: Services) -> Middleware:
    """A Powertools middleware answering with the dedicated runtime's response, or the route's. It raises
    NotFound, RuntimeUnavailable or RuntimeDown as `RuntimeRouting.forward` does (mapped to HTTP by the
    resolver). Each forwarded call records the SLA's runtime metrics (`cmp.sla.metrics.measured`)."""

    def forward(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        authorizer = app.current_event.request_context.authorizer.get_context() or {}
        path_subscription = str(app.context.get("_route_args", {}).get("subscription_id", "")).lower()
        if (
            authorizer.get("runtime") not in RUNTIMES
            or authorizer.get("subscription_id") != path_subscription
        ):
            return next_middleware(app)
        ctx = RuntimeContext.from_authorizer(authorizer)
        event = app.current_event.raw_event
        result = measured(
            ctx.tenant_id,
            ctx.subscription_id,
            lambda: services.runtime_routing.forward(ctx, event),
            RuntimeDown,
        )
        return next_middleware(app) if result is None else proxy_response(result)

    return forward


def proxy_response(result: dict[str, Any]) -> Response[Any]:
    """A Lambda proxy response (`statusCode`, `headers`, `multiValueHeaders`, `body`, `isBase64Encoded`)
    as the resolver's Response."""
    headers: dict[str, Any] = {**(result.get("headers") or {})}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = values[0] if len(values) == 1 else list(values)
    content_type = next((headers.pop(k) for k in list(headers) if k.lower() == "content-type"), None)
    body: str | bytes | None = result.get("body")
    if body is not None and result.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return Response(int(result["statusCode"]), content_type, body, headers)
