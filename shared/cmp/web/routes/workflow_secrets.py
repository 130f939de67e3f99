"""A subscription's workflow secrets (`{{ secrets.NAME }}` in steps; docs/workflows.md). Values go in, never
come out: every answer shows names and times only."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.deps import Buyer, ServicesDep
from cmp.web.schemas import answers
from cmp.web.workflow_schemas import SecretBody, SecretList, SecretOut

router = Router()
ALL = "/v1/subscriptions/<subscription_id>/secrets"
ONE = f"{ALL}/<name>"


@router.get(ALL, responses=answers(200, "The subscription's secrets by name, without values", 401, 403, 404))
def list_secrets(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> SecretList:
    """Name, creation, rotation times and last use of each secret (another organization's id is a 404)."""
    items = services.workflow_secrets.list(buyer.tenant_id, subscription_id)
    return SecretList.model_validate({"items": items})


@router.put(
    ONE, responses=answers(200, "Stored (created, or rotated when it existed)", 401, 403, 404, 409, 422)
)
def put_secret(
    subscription_id: UUID, name: str, body: SecretBody, buyer: Buyer, services: ServicesDep
) -> SecretOut:
    """Create the secret or replace its value (a rotation, recorded in `rotations`). 403 when the product
    disables secrets, 409 when its `maxSecrets` is reached, 422 for a bad name or value."""
    view, _ = services.workflow_secrets.put(buyer.tenant_id, subscription_id, name, body.value)
    return SecretOut.model_validate(view)


@router.delete(ONE, responses=answers(204, "Deleted", 401, 403, 404))
def delete_secret(subscription_id: UUID, name: str, buyer: Buyer, services: ServicesDep) -> Response[None]:
    """Forget the secret; steps that reference it fail with `Secret.Missing` from now on."""
    services.workflow_secrets.delete(buyer.tenant_id, subscription_id, name)
    return Response(status_code=204)
