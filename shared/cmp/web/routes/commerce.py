"""The buyer's commerce: checkout, orders, subscriptions (list, one, plan change, version move,
cancellation)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from cmp.catalog.paging import ProductPage
from cmp.web.commerce_schemas import (
    CancelBody,
    CancelResult,
    CheckoutBody,
    Order,
    OrderList,
    PlanChangeBody,
    PlanChangeResult,
    Subscription,
    SubscriptionList,
    VersionMoveBody,
    VersionMoveResult,
)
from cmp.web.deps import Buyer, ServicesDep
from cmp.web.schemas import PageCursor, PageLimit, answers

router = Router()
BUYER = (401, 403)
ONE = (401, 403, 404)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retrying with the same key and body returns the first order; another body is a 409",
    ),
]


@router.post(
    "/v1/checkout",
    responses=answers(201, "Order created; see `status` and `payment`", 401, 403, 404, 409, 503),
)
def checkout(
    body: CheckoutBody, buyer: Buyer, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> tuple[Order, int]:
    """Buy a plan of a product's current published version. With the local provider the payment is taken
    at once (`status` active, or failed with `failure_reason`); with Stripe, send the buyer to
    `payment.url` and the order completes by webhook."""
    from cmp.commerce.checkout import CheckoutInput  # the checkout service's module: loaded on first checkout

    asked = CheckoutInput(
        body.product,
        body.plan_id,
        body.billing_period,
        body.payment_method,
        body.success_url,
        body.cancel_url,
    )
    order_id = services.checkout.checkout(buyer.tenant_id, buyer.user_id, asked, idempotency_key)
    return Order.model_validate(services.commerce_views.order(buyer.tenant_id, order_id)), 201


@router.get(
    "/v1/orders", responses=answers(200, "One page of the organization's orders, newest first", *BUYER)
)
def list_orders(
    buyer: Buyer, services: ServicesDep, limit: PageLimit = None, cursor: PageCursor = None
) -> OrderList:
    """The organization's orders: purchases, plan changes and renewals."""
    page = ProductPage.from_query(limit, cursor)
    return OrderList.model_validate(services.commerce_views.page_orders(buyer.tenant_id, page))


@router.get("/v1/orders/<order_id>", responses=answers(200, "The order", *ONE))
def get_order(order_id: UUID, buyer: Buyer, services: ServicesDep) -> Order:
    """One order of the organization (another organization's id is a 404)."""
    return Order.model_validate(services.commerce_views.order(buyer.tenant_id, order_id))


@router.get(
    "/v1/subscriptions",
    responses=answers(200, "One page of the organization's subscriptions, newest first", *BUYER),
)
def list_subscriptions(
    buyer: Buyer,
    services: ServicesDep,
    category: Annotated[
        Literal["agent", "app", "assistant", "automation"] | None, Query(description="Only this category")
    ] = None,
    status: Annotated[
        Literal["provisioning", "active", "past_due", "cancelled", "expired", "suspended"] | None,
        Query(description="Only this status"),
    ] = None,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> SubscriptionList:
    """The products the organization holds across categories, with usage against plan limits."""
    page = ProductPage.from_query(limit, cursor)
    found = services.commerce_views.page_subscriptions(buyer.tenant_id, page, category, status)
    return SubscriptionList.model_validate(found)


@router.get("/v1/subscriptions/<subscription_id>", responses=answers(200, "The subscription", *ONE))
def get_subscription(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> Subscription:
    """One subscription of the organization with its usage this period."""
    return Subscription.model_validate(services.commerce_views.subscription(buyer.tenant_id, subscription_id))


@router.post(
    "/v1/subscriptions/<subscription_id>/plan",
    responses=answers(
        200, "Changed now (upgrade) or scheduled for the period end (downgrade)", 401, 403, 404, 409, 503
    ),
)
def change_plan(
    subscription_id: UUID, body: PlanChangeBody, buyer: Buyer, services: ServicesDep
) -> PlanChangeResult:
    """Move to another plan or billing period of the version held: an upgrade (a higher price, or monthly
    to yearly) applies now and charges the proration; a downgrade (a lower price, or yearly to monthly)
    applies at the end of the period and charges nothing now. An upgrade from a shared to a dedicated plan
    also provisions the dedicated runtime; the calls keep running on the shared one until it is ready
    (`runtime`). A dedicated subscription cannot move to a shared plan (409)."""
    done = services.subscription_changes.change_plan(
        buyer.tenant_id, subscription_id, body.plan_id, body.billing_period
    )
    shown = services.commerce_views.subscription(buyer.tenant_id, subscription_id)
    return PlanChangeResult.model_validate(
        {**done, "subscription_id": str(subscription_id), "subscription": shown}
    )


@router.post(
    "/v1/subscriptions/<subscription_id>/version",
    responses=answers(200, "Moved to the version; a dedicated runtime rolls it out", 401, 403, 404, 409, 422),
)
def move_version(
    subscription_id: UUID, body: VersionMoveBody, buyer: Buyer, services: ServicesDep
) -> VersionMoveResult:
    """Move to a newer published version of the product (default: its current one), keeping the plan (by
    its id) and the price paid. 409 when already on it, when it is older or not published, or when it no
    longer offers the plan held; 422 (one error per field) when the configuration saved breaks what the new
    version allows; nothing changes then. A dedicated runtime is rolled out with the new version and keeps
    serving the old one until the new one is available (`runtime.state` `updating`)."""
    done = services.subscription_versions.move(buyer.tenant_id, subscription_id, body.version)
    shown = services.commerce_views.subscription(buyer.tenant_id, subscription_id)
    return VersionMoveResult.model_validate(
        {**done, "subscription_id": str(subscription_id), "subscription": shown}
    )


@router.post(
    "/v1/subscriptions/<subscription_id>/cancel",
    responses=answers(200, "Cancelled now or at the period end", 401, 403, 404, 409, 503),
)
def cancel(subscription_id: UUID, body: CancelBody, buyer: Buyer, services: ServicesDep) -> CancelResult:
    """Cancel at the end of the period (default; it stays usable until then) or at once, with a reason."""
    done = services.subscription_changes.cancel(
        buyer.tenant_id, subscription_id, body.at_period_end, body.reason
    )
    shown = services.commerce_views.subscription(buyer.tenant_id, subscription_id)
    return CancelResult.model_validate(
        {**done, "subscription_id": str(subscription_id), "subscription": shown}
    )
