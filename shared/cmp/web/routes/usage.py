"""Usage: a subscription's usage per metric and day against its plan's limits, for the buyer
(`/v1/subscriptions/{id}/usage`, served by the commerce API)."""

from __future__ import annotations

from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.metering.views import parse_period
from cmp.web.deps import Buyer, ServicesDep
from cmp.web.schemas import answers
from cmp.web.usage_schemas import SubscriptionUsage, UsagePeriodQuery

router = Router()


@router.get(
    "/v1/subscriptions/<subscription_id>/usage",
    responses=answers(200, "Usage this period (or the period asked for) by metric and day", 401, 403, 404),
)
def subscription_usage(
    subscription_id: UUID, buyer: Buyer, services: ServicesDep, period: UsagePeriodQuery = None
) -> SubscriptionUsage:
    """The subscription's usage in its current billing period, or with `period` (the day a past period
    started) in that one: per metric against the plan's limits, per UTC day, late events counted as
    adjustments, and the periods there are. Exact at any moment (roll-up plus newer records)."""
    found = services.usage_views.subscription_usage(buyer.tenant_id, subscription_id, parse_period(period))
    return SubscriptionUsage.model_validate(found)
