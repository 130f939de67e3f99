"""Where a runtime call runs: in-process (a shared-plan subscription, or the dedicated runtime's own process
serving its subscription) or on the subscription's dedicated runtime, to which the gateway forwards the
API Gateway event it received, `requestContext.authorizer` (the `RuntimeContext`) included.

    forwarded = services.runtime_routing.forward(ctx, event)   # None: run the route here
    if forwarded is not None:
        return forwarded                                        # the dedicated runtime's proxy response

The dedicated runtime runs the same routes (`infra/runtime/app.py`) and admits the call itself
(`Gateway.admit`: rate limits, quotas, metering), so a call is admitted once. It serves only the
subscription its Deployment names (`Settings.dedicated_subscription_id`); any other is a 404 there.

The endpoint is read in the caller's tenant (row-level security), so a call can only reach its own
organization's runtime. A dedicated subscription with no endpoint yet is a 503 naming its provisioning
state (`RuntimeUnavailable`); an endpoint marked down, or one that does not answer, is a 503 with
`Retry-After` (`RuntimeDown`), never a fallback to another runtime.

Every runtime response carries `X-CMP-Runtime: shared | dedicated` (`mark_runtime`), errors included.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from cmp.errors import NotFound
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import RuntimeDown, RuntimeUnavailable

if TYPE_CHECKING:
    import urllib3

RUNTIME_HEADER = "X-CMP-Runtime"
INVOCATIONS = "/2015-03-31/functions/function/invocations"
"""Where the runtime image takes an invocation (the Lambda Runtime Interface Emulator's path,
infra/Dockerfile); the body is the API Gateway proxy event, the answer its proxy response."""
CONNECT_SECONDS = 2.0
READ_SECONDS = 29.0
"""API Gateway REST's integration timeout: no answer can be used after it."""


class RuntimeRoutes(Protocol):
    """The subscriptions' runtimes as the caller's tenant sees them (`cmp.provisioning.router`)."""

    def route(self, tenant_id: UUID, subscription_id: UUID) -> dict[str, Any] | None:
        """`{"runtime_type", "state", "url", "endpoint_state", "state_reason"}` of the tenant's
        subscription (url and endpoint_state None until registered); None when it is not the tenant's."""
        ...


class RuntimeRouting:
    """Forwards dedicated subscriptions' calls. `serves` is the subscription this process is the dedicated
    runtime of (None in the pooled functions)."""

    def __init__(self, routes: RuntimeRoutes, serves: UUID | None = None) -> None:
        self._routes = routes
        self._serves = serves
        self._pool: urllib3.PoolManager | None = None

    def endpoint(self, ctx: RuntimeContext) -> str | None:
        """The base URL to send the call to; None to run it in this process. Raises NotFound when this
        process is another subscription's dedicated runtime, RuntimeUnavailable (503, the provisioning
        state) before the endpoint is registered, RuntimeDown (503, Retry-After) when it is marked down."""
        if self._serves is not None:
            if ctx.subscription_id != self._serves:
                raise NotFound("subscription not found")
            return None
        if ctx.runtime != "dedicated":
            return None
        route = self._routes.route(ctx.tenant_id, ctx.subscription_id)
        if route is None:
            raise NotFound("subscription not found")
        if route["runtime_type"] != "dedicated":
            return None
        if route["endpoint_state"] == "down":
            raise RuntimeDown(route["state_reason"] or "marked down")
        if route["endpoint_state"] != "ready" or not route["url"]:
            raise RuntimeUnavailable(str(route["state"] or "pending"))
        url: str = route["url"]
        return url

    def forward(self, ctx: RuntimeContext, event: dict[str, Any]) -> dict[str, Any] | None:
        """The dedicated runtime's proxy response (`statusCode`, `headers`, `body`…) to `event`, or None
        when the call runs here. Raises what `endpoint` raises, and RuntimeDown when the runtime cannot be
        reached, times out or answers something that is not a proxy response."""
        endpoint = self.endpoint(ctx)
        if endpoint is None:
            return None
        import urllib3

        if self._pool is None:
            self._pool = urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS), retries=False
            )
        try:
            answer = self._pool.request(
                "POST",
                endpoint.rstrip("/") + INVOCATIONS,
                body=json.dumps(event).encode(),
                headers={"Content-Type": "application/json"},
            )
        except urllib3.exceptions.HTTPError as e:
            raise RuntimeDown(f"unreachable: {type(e).__name__}") from e
        try:
            result = json.loads(answer.data)
        except ValueError:
            result = None
        if answer.status != 200 or not isinstance(result, dict) or "statusCode" not in result:
            raise RuntimeDown(f"it answered HTTP {answer.status} without a response")
        return result


def mark_runtime(event: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """`result` (a proxy response) with `X-CMP-Runtime` set to the call's runtime type as the runtime
    authorizer found it (`requestContext.authorizer.runtime`); unchanged when the route had no runtime
    context."""
    runtime = ((event.get("requestContext") or {}).get("authorizer") or {}).get("runtime")
    if runtime in ("shared", "dedicated"):
        result.setdefault("headers", {})
        if result["headers"] is None:
            result["headers"] = {}
        result["headers"][RUNTIME_HEADER] = runtime
        multi = result.get("multiValueHeaders")
        if isinstance(multi, dict):
            multi[RUNTIME_HEADER] = [runtime]
    return result
