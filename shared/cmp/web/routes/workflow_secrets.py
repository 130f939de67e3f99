"""A subscription's workflow secrets (`{{ secrets.NAME }}` in steps; docs/workflows.md). Values go in, never
come out: every answer shows names and times only. Runtime routes: the owning buyer's portal token or an API
key of the subscription with `workflows:manage` (403 naming it otherwise); another subscription is a 404."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.gateway.authorization import WORKFLOWS_MANAGE
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.schemas import answers
from cmp.web.workflow_schemas import SecretBody, SecretList, SecretOut

router = Router()
ALL = "/v1/subscriptions/<subscription_id>/secrets"
ONE = f"{ALL}/<name>"


@router.get(ALL, responses=answers(200, "The subscription's secrets by name, without values", 401, 403, 404))
def list_secrets(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> SecretList:
    """Name, creation, rotation times and last use of each secret (another organization's id is a 404)."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(WORKFLOWS_MANAGE)
    items = services.workflow_secrets.list(str(ctx.tenant_id), subscription_id)
    return SecretList.model_validate({"items": items})


@router.put(
    ONE, responses=answers(200, "Stored (created, or rotated when it existed)", 401, 403, 404, 409, 422)
)
def put_secret(
    subscription_id: UUID, name: str, body: SecretBody, ctx: Runtime, services: ServicesDep
) -> SecretOut:
    """Create the secret or replace its value (a rotation, recorded in `rotations`). 403 when the product
    disables secrets, 409 when its `maxSecrets` is reached, 422 for a bad name or value."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(WORKFLOWS_MANAGE)
    view, _ = services.workflow_secrets.put(str(ctx.tenant_id), subscription_id, name, body.value)
    return SecretOut.model_validate(view)


@router.delete(ONE, responses=answers(204, "Deleted", 401, 403, 404))
def delete_secret(subscription_id: UUID, name: str, ctx: Runtime, services: ServicesDep) -> Response[None]:
    """Forget the secret; steps that reference it fail with `Secret.Missing` from now on."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(WORKFLOWS_MANAGE)
    services.workflow_secrets.delete(str(ctx.tenant_id), subscription_id, name)
    return Response(status_code=204)
