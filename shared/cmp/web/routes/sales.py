"""The seller's sales dashboard, a product's customers and its usage (`/v1/provider/...`, the seller role).

`provider_api` serves these beside the product wizard: their models (`LazySchemas`) and the sales views load on
a route's first call, not with the function."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.catalog.paging import ProductPage
from cmp.web.deps import Seller, ServicesDep
from cmp.web.schemas import PRODUCT, SELLER, LazySchemas, PageCursor, PageLimit, answers

if TYPE_CHECKING:
    from cmp.web import sales_schemas, usage_schemas
else:
    sales_schemas = LazySchemas("cmp.web.sales_schemas")
    usage_schemas = LazySchemas("cmp.web.usage_schemas")

router = Router()


@router.get(
    "/v1/provider/sales",
    responses=answers(200, "Subscribers, customers, revenue and orders per product", *SELLER),
)
def sales(
    seller: Seller,
    services: ServicesDep,
    period: sales_schemas.PeriodQuery = None,
    from_: sales_schemas.FromQuery = None,
    to: sales_schemas.ToQuery = None,
) -> sales_schemas.SalesDashboard:
    """The organization's sales: per product ever published, subscribers and customers (live and ever),
    revenue per month or year and currency (paid and active orders, minor units), the latest orders."""
    from cmp.commerce.sales_views import SalesRange  # with the commerce model, on the first sales call

    views = services.sales_views
    sales_range = SalesRange.from_query(period, from_, to, views.today())
    return sales_schemas.SalesDashboard.model_validate(views.dashboard(seller.tenant_id, sales_range))


@router.get(
    "/v1/provider/products/<product_id>/customers",
    responses=answers(200, "One page of the product's customers, newest first", *PRODUCT),
)
def customers(
    product_id: UUID,
    seller: Seller,
    services: ServicesDep,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> sales_schemas.CustomerPage:
    """The organizations subscribed (now or before) to one of the organization's products: plan, status
    and since when, newest first, a page at a time (`next_cursor`)."""
    page = ProductPage.from_query(limit, cursor)
    return sales_schemas.CustomerPage.model_validate(
        services.sales_views.customers(seller.tenant_id, str(product_id), page)
    )


@router.get(
    "/v1/provider/products/<product_id>/usage",
    responses=answers(200, "The product's usage per customer this billing period", *PRODUCT),
)
def product_usage(product_id: UUID, seller: Seller, services: ServicesDep) -> usage_schemas.ProductUsage:
    """Usage of one of the organization's products: per customer (organization, plan, status) in the
    customer's current billing period, per metric, and the totals; the same numbers the customer sees."""
    return usage_schemas.ProductUsage.model_validate(
        services.sales_views.usage(seller.tenant_id, str(product_id))
    )
