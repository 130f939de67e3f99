"""Response models of the usage routes: a subscription's usage for its buyer
(`/v1/subscriptions/{id}/usage`) and a product's usage for its seller (`/v1/provider/products/{id}/usage`).
Quantities are in each metric's unit (docs/metering.md): counts, tokens, bytes, milliseconds."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from cmp.web.commerce_schemas import Usage
from cmp.web.sales_schemas import Named
from cmp.web.schemas import OPTIONAL_DAY_PATTERN, ApiModel, Timestamp

UsagePeriodQuery = Annotated[
    str | None,
    Query(
        pattern=OPTIONAL_DAY_PATTERN,
        description="The UTC day a past billing period started (YYYY-MM-DD, as `periods[].start` shows); "
        "absent: the current period",
    ),
]


class UsagePeriod(ApiModel):
    start: Timestamp
    end: Timestamp
    current: bool = Field(description="The subscription's current billing period")
    closed: bool = Field(
        description="Its roll-up is final: a later event counts as an adjustment on the next"
    )


class UsageDay(ApiModel):
    date: str = Field(description="UTC day, YYYY-MM-DD")
    usage: dict[str, int] = Field(description="Metric -> quantity counted on that day")


class SubscriptionUsage(ApiModel):
    """One subscription's usage in one billing period, against its plan's limits."""

    subscription_id: str
    plan: Named
    period: UsagePeriod
    usage: dict[str, Usage] = Field(
        description="Per metric: used this period (adjustments included) and the plan's limit (null: "
        "unlimited); `tokens` sums `tokens_in` and `tokens_out`"
    )
    adjustments: dict[str, int] = Field(
        description="Per metric: late events of an already closed period counted in this one"
    )
    days: list[UsageDay] = Field(description="Oldest first")
    periods: list[UsagePeriod] = Field(description="Every period the subscription had usage in, newest first")


class CustomerPeriod(ApiModel):
    start: Timestamp
    end: Timestamp


class CustomerUsage(ApiModel):
    subscription_id: str
    organization: Named
    plan: Named
    status: str
    period: CustomerPeriod = Field(description="The customer's current billing period")
    usage: dict[str, int] = Field(description="Metric -> quantity in that period")


class ProductUsage(ApiModel):
    """A product's usage per customer in each customer's current billing period."""

    product_id: str
    totals: dict[str, int] = Field(description="Metric -> quantity over the customers listed")
    customers: list[CustomerUsage]
