"""The gateway's own runtime route: a cheap call a credential can make to see what the gateway sees, with the
rate limit headers of its plan. Runtime routes take an API key, a widget token or the buyer's portal token
(the runtime authorizer, docs/gateway.md)."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.deps import Runtime, ServicesDep
from cmp.web.runtime_schemas import RuntimeContextOut
from cmp.web.schemas import answers

router = Router()


@router.get(
    "/v1/runtime/<subscription_id>/context",
    responses=answers(200, "The caller's runtime context", 401, 403, 404, 429, 503),
)
def runtime_context_of(
    subscription_id: UUID, ctx: Runtime, services: ServicesDep
) -> Response[RuntimeContextOut]:
    """The credential's runtime context. It is admitted like any runtime call (one `api_calls` unit, held to
    the key's, the subscription's and the product's rate limits), so its `RateLimit-Policy` and `RateLimit`
    headers show the limits in force, and a 429 shows `Retry-After`; a dedicated-plan subscription whose
    runtime does not exist yet is a 503 naming its provisioning state."""
    ctx.require_subscription(subscription_id)
    with services.gateway.admit(ctx, metric="api_calls") as admission:
        body = RuntimeContextOut(
            principal=ctx.principal,
            tenant_id=str(ctx.tenant_id),
            subscription_id=str(ctx.subscription_id),
            product_id=str(ctx.product_id),
            plan_id=ctx.plan_id,
            runtime=ctx.runtime,
            key_id=str(ctx.key_id) if ctx.key_id else None,
            scopes=list(ctx.scopes),
            origin=ctx.origin,
        )
    return Response(200, content_types.APPLICATION_JSON, body, admission.headers)
