"""Usage: a subscription's usage per metric and day against its plan's limits, for the buyer
(`/v1/subscriptions/{id}/usage`, served by the commerce API).

A read-only runtime route (`cmp.gateway.authorization.READ_ONLY_ROUTES`): the runtime authorizer admits the
buyer's portal token or an API key of the subscription with the `analytics:read` scope, in any status of
the subscription (a cancelled one's history stays readable). Reading is not a runtime call: it is neither
metered (`api_calls`) nor counted by the rate limiter (docs/integrate.md, "Reading usage with a key")."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.gateway.authorization import ANALYTICS_READ
from cmp.metering.views import parse_period
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.schemas import LazySchemas, answers

if TYPE_CHECKING:
    from cmp.web import usage_schemas
else:
    usage_schemas = LazySchemas("cmp.web.usage_schemas")

router = Router()


@router.get(
    "/v1/subscriptions/<subscription_id>/usage",
    responses=answers(200, "Usage this period (or the period asked for) by metric and day", 401, 403, 404),
)
def subscription_usage(
    subscription_id: UUID, ctx: Runtime, services: ServicesDep, period: usage_schemas.UsagePeriodQuery = None
) -> usage_schemas.SubscriptionUsage:
    """The subscription's usage in its current billing period, or with `period` (the day a past period
    started) in that one: per metric against the plan's limits, per UTC day, late events counted as
    adjustments, and the periods there are. Exact at any moment (roll-up plus newer records). 403 for a key
    without `analytics:read`; 404 for another subscription than the credential's."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(ANALYTICS_READ)
    found = services.usage_views.subscription_usage(str(ctx.tenant_id), subscription_id, parse_period(period))
    return usage_schemas.SubscriptionUsage.model_validate(found)
