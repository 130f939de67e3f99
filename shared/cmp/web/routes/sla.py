"""A dedicated subscription's SLA for its buyer (`/v1/subscriptions/{id}/sla`, served by the commerce
API; docs/sla.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.deps import Buyer, ServicesDep
from cmp.web.schemas import LazySchemas, answers

if TYPE_CHECKING:
    from cmp.web import sla_schemas
else:
    sla_schemas = LazySchemas("cmp.web.sla_schemas")

router = Router()


@router.get(
    "/v1/subscriptions/<subscription_id>/sla",
    responses=answers(200, "The current period's SLOs, error budget and incidents", 401, 403, 404, 409),
)
def subscription_sla(
    subscription_id: UUID, buyer: Buyer, services: ServicesDep
) -> sla_schemas.SubscriptionSla:
    """The dedicated subscription's availability and latency SLOs in its current billing period: targets,
    attainment, error budget left, incidents and firing burn-rate alerts, as last evaluated. A subscription
    on the shared runtime is a 409 (SLAs cover dedicated plans)."""
    found = services.sla_views.subscription_sla(buyer.tenant_id, subscription_id)
    return sla_schemas.SubscriptionSla.model_validate(found)
