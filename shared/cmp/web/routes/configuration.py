"""A subscription's configuration (within what the seller enabled) and its adaptive dashboard descriptor.

The configuration routes take the buyer's portal token; the dashboard is a read-only runtime route as the
usage is (`cmp.web.routes.usage`): the buyer's portal token or a key with `analytics:read`, in any status of
the subscription, not metered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from cmp.web.deps import Buyer, Runtime, ServicesDep
from cmp.web.routes.usage import ANALYTICS_READ
from cmp.web.schemas import LazySchemas, answers

if TYPE_CHECKING:
    from cmp.web import configuration_schemas
else:
    configuration_schemas = LazySchemas("cmp.web.configuration_schemas")

router = Router()
ONE = "/v1/subscriptions/<subscription_id>"
SECTION = f"{ONE}/configuration/<section>"


@router.get(f"{ONE}/configuration", responses=answers(200, "Every section the product opens", 401, 403, 404))
def list_sections(
    subscription_id: UUID, buyer: Buyer, services: ServicesDep
) -> configuration_schemas.ConfigurationSections:
    """Every configuration section this subscription's product opens, in dashboard order, as stored or
    defaulted."""
    return configuration_schemas.ConfigurationSections.model_validate(
        services.subscription_configuration.read_all(buyer.tenant_id, subscription_id)
    )


@router.get(SECTION, responses=answers(200, "The section as stored, or its default", 401, 403, 404))
def get_section(
    subscription_id: UUID, section: str, buyer: Buyer, services: ServicesDep
) -> configuration_schemas.ConfigurationSection:
    """One section (`persona`, `conversation`, `branding`, `output`, `workflow`, `rag`, `widget`): 404 for an
    unknown name, 403 for a section the product does not open."""
    return configuration_schemas.ConfigurationSection.model_validate(
        services.subscription_configuration.read(buyer.tenant_id, subscription_id, section)
    )


@router.put(SECTION, responses=answers(200, "Stored", 401, 403, 404, 409))
def put_section(
    subscription_id: UUID,
    section: str,
    body: Annotated[dict[str, Any], Body(description="The whole section (fields left out are unset)")],
    buyer: Buyer,
    services: ServicesDep,
) -> configuration_schemas.ConfigurationSection:
    """Replace one section. Anything the seller did not enable is a 403 naming the capability path that
    forbids it (e.g. `configuration.persona.options.tone`); a value outside a limit is a 422 naming the
    limit; an ended subscription is a 409."""
    return configuration_schemas.ConfigurationSection.model_validate(
        services.subscription_configuration.replace(buyer.tenant_id, subscription_id, section, body)
    )


@router.get(f"{ONE}/dashboard", responses=answers(200, "The dashboard descriptor", 401, 403, 404))
def dashboard(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> configuration_schemas.Dashboard:
    """The sections the portal renders for this product (overview, quick start, configure, integrate,
    analytics), in order, each with its current state. 403 for a key without `analytics:read`; 404 for
    another subscription than the credential's."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(ANALYTICS_READ)
    return configuration_schemas.Dashboard.model_validate(
        services.subscription_dashboard.descriptor(str(ctx.tenant_id), subscription_id)
    )
