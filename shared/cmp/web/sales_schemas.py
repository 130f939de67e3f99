"""Response models of the seller's sales dashboard (`/v1/provider/sales`) and a product's customers
(`/v1/provider/products/{id}/customers`). Amounts are integers in the minor unit of their ISO 4217
currency (cents for USD, yen for JPY), summed per currency only."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from cmp.commerce.sales_views import DEFAULT_MONTHS, DEFAULT_YEARS, MAX_RANGE_DAYS
from cmp.web.schemas import ApiModel, Timestamp

DATE_PATTERN = r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2})?\s*$"


class Amount(ApiModel):
    """A sum of money in one currency."""

    currency: str = Field(description="ISO 4217 code")
    amount: int = Field(description="In the currency's minor unit")


class Counts(ApiModel):
    live: int = Field(description="Provisioning, active, past due or suspended now")
    total: int = Field(description="Ever")


class PeriodRevenue(ApiModel):
    """Revenue of one product in one period and currency."""

    period_start: str = Field(description="First day of the month or year (UTC), YYYY-MM-DD")
    currency: str
    amount: int = Field(description="Sum of paid and active orders, in the currency's minor unit")
    orders: int


class Named(ApiModel):
    id: str
    name: str | None


class SaleOrder(ApiModel):
    """An order of one of the seller's products."""

    id: str
    product: Named
    organization: Named = Field(description="The buyer organization")
    plan: Named
    billing_period: str
    amount: int = Field(description="In the currency's minor unit")
    currency: str
    status: str = Field(description="pending | paid | active | failed | cancelled | refunded")
    created_at: Timestamp


class ProductSales(ApiModel):
    """One product's sales."""

    id: str
    name: str | None
    slug: str | None
    category: str
    status: str
    rating_avg: float | None = Field(description="null when the product is not on the marketplace")
    rating_count: int
    subscribers: Counts = Field(description="Subscriptions")
    customers: Counts = Field(description="Distinct buyer organizations")
    revenue: list[PeriodRevenue] = Field(description="Per period and currency, oldest first")
    revenue_total: list[Amount] = Field(description="Over the whole range, per currency")
    recent_orders: list[SaleOrder] = Field(description="Latest orders of this product, newest first")


class SalesTotals(ApiModel):
    subscribers: Counts
    customers: Counts = Field(description="Distinct buyer organizations over all products")
    revenue: list[Amount] = Field(description="Over the whole range and all products, per currency")


class SalesDashboard(ApiModel):
    """The seller's sales over a range of days, per product (products ever published, by name)."""

    period: str = Field(description="month | year")
    from_: str = Field(alias="from", description="First day of the range, YYYY-MM-DD")
    to: str = Field(description="Last day of the range (included), YYYY-MM-DD")
    totals: SalesTotals
    products: list[ProductSales]
    recent_orders: list[SaleOrder] = Field(description="Latest orders of all products, newest first")


class Customer(ApiModel):
    """A buyer organization's subscription to the product."""

    subscription_id: str
    organization: Named
    plan: Named
    billing_period: str
    status: str = Field(description="provisioning | active | past_due | cancelled | expired | suspended")
    since: Timestamp
    current_period_end: Timestamp
    cancel_at_period_end: bool


class CustomerPage(ApiModel):
    """One page of a product's customers, newest first."""

    items: list[Customer]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


PeriodQuery = Annotated[
    str | None,
    Query(
        description="Revenue per `month` (default) or `year`, in UTC",
        json_schema_extra={"pattern": r"^\s*(month|year)?\s*$"},
    ),
]
FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        description=f"First day, YYYY-MM-DD (default: the start of the period {DEFAULT_MONTHS} months, or "
        f"{DEFAULT_YEARS} years, back, counting the last one); at most {MAX_RANGE_DAYS} days before `to`",
        json_schema_extra={"pattern": DATE_PATTERN},
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        description="Last day, YYYY-MM-DD, included (default: today, UTC)",
        json_schema_extra={"pattern": DATE_PATTERN},
    ),
]
