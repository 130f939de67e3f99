"""Request and response models of the buyer's commerce API: checkout, orders, subscriptions, plan changes
and cancellation. Amounts are integers in the currency's minor unit (ISO 4217 exponent: JPY 0, USD 2,
KWD 3) beside their `currency`; `amount_display` is the same amount written with the exponent."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from cmp.web.schemas import ApiModel, RequestModel, Timestamp

BillingPeriod = Literal["monthly", "yearly"]
PlanId = Annotated[str, Field(min_length=1, max_length=40, examples=["plan_k3v9x2mq7wza"])]


# ---------------------------------------------------------------------------------------------- requests
class CheckoutBody(RequestModel):
    """Buy one plan of a product's current published version for the caller's organization."""

    product: str = Field(
        min_length=1, max_length=120, description="The product's slug or id", examples=["acme-support-agent"]
    )
    plan_id: PlanId = Field(description="The plan's stable `id`, as the marketplace's product page shows it")
    billing_period: BillingPeriod
    payment_method: str | None = Field(
        default=None,
        max_length=60,
        description="Local provider only: a Stripe test card (4242424242424242 pays, 4000000000000002 is "
        "declined, 4000000000009995 has insufficient funds, 4000000000000341 pays now and fails renewals) "
        "or its pm_card_* id; default pm_card_visa",
    )
    success_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")
    cancel_url: str | None = Field(default=None, max_length=1000, pattern=r"^https?://")


class PlanChangeBody(RequestModel):
    """Move the subscription to another plan (and/or billing period) of the version it holds."""

    plan_id: PlanId
    billing_period: BillingPeriod


class VersionMoveBody(RequestModel):
    """Move the subscription to a newer published version of its product."""

    version: str | None = Field(
        default=None,
        pattern=r"^[0-9]{1,6}\.[0-9]{1,6}\.[0-9]{1,6}$",
        description="The published version to move to; default: the product's current published version",
        examples=["1.1.0"],
    )


class CancelBody(RequestModel):
    """Cancel at the end of the period (the default) or at once."""

    at_period_end: bool = True
    reason: str | None = Field(default=None, max_length=1000)


# ---------------------------------------------------------------------------------------------- shared
class ProductRef(ApiModel):
    id: str
    slug: str | None
    name: str | None
    category: str | None
    version: str = Field(description="The product version bought (its capability snapshot)")


class PaymentInfo(ApiModel):
    """Where the buyer pays: with Stripe, send them to `url` (or use `client_secret` in an embedded
    checkout); the local provider completes at once (`url` null)."""

    provider: str = Field(examples=["local", "stripe"])
    checkout_session_id: str | None
    url: str | None
    client_secret: str | None
    failure_reason: str | None


# ---------------------------------------------------------------------------------------------- orders
class OrderPlan(ApiModel):
    id: str
    name: str


class Order(ApiModel):
    """One order: a purchase, a plan change or a renewal."""

    order_id: str
    kind: Literal["purchase", "plan_change", "renewal"]
    status: Literal["pending", "paid", "active", "failed", "cancelled", "refunded"]
    product: ProductRef
    plan: OrderPlan
    billing_period: BillingPeriod
    amount: int = Field(description="Minor units of `currency` (negative: a credit)")
    currency: str = Field(examples=["USD"])
    amount_display: str = Field(examples=["29.00"])
    subscription_id: str | None = Field(description="Set once the order's subscription exists")
    failure_reason: str | None
    payment: PaymentInfo
    created_at: Timestamp | None
    updated_at: Timestamp | None


class OrderList(ApiModel):
    items: list[Order]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


# ---------------------------------------------------------------------------------------------- subscriptions
class SubscriptionPlan(ApiModel):
    id: str
    name: str
    tier: str | None
    features: list[str]


class Period(ApiModel):
    start: Timestamp | None
    end: Timestamp | None


class Usage(ApiModel):
    used: int
    limit: int | None = Field(description="null: unlimited")


class PendingChange(ApiModel):
    """A downgrade taking effect at the end of the period."""

    plan_id: str
    plan_name: str | None
    billing_period: BillingPeriod
    amount: int
    currency: str
    amount_display: str
    effective_at: Timestamp


class Subscription(ApiModel):
    """A product the organization holds: its plan, billing period, status and usage this period."""

    subscription_id: str
    status: Literal["provisioning", "active", "past_due", "cancelled", "expired", "suspended"]
    status_reason: str | None = Field(description="Why it is in this status (a declined renewal, …)")
    project_id: str
    product: ProductRef
    plan: SubscriptionPlan
    runtime_type: Literal["shared", "dedicated"]
    billing_period: BillingPeriod
    amount: int
    currency: str
    amount_display: str
    current_period: Period
    cancel_at_period_end: bool
    cancelled_at: Timestamp | None
    cancellation_reason: str | None
    pending_change: PendingChange | None
    provisioning: dict[str, Any] = Field(description="Dedicated runtimes: the provisioning steps' state")
    usage: dict[str, Usage] = Field(
        description="Per metric this period against the plan's limit, e.g. messages: {used: 8234, limit: 10000}"
    )
    created_at: Timestamp | None


class SubscriptionList(ApiModel):
    items: list[Subscription]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class RuntimeMove(ApiModel):
    """Where the subscription's calls run around a plan change."""

    type: Literal["shared", "dedicated"] = Field(description="Where its calls run now")
    state: str | None = Field(
        description="Its dedicated runtime's provisioning state (pending, updating, completed, failed); null "
        "if none"
    )
    target: Literal["shared", "dedicated"] = Field(
        description="Where its calls will run: `dedicated` while an upgrade's runtime is provisioned (the "
        "calls keep running on the shared runtime until it is ready)"
    )


class PlanChangeResult(ApiModel):
    """What the change does and when."""

    subscription_id: str
    change: Literal["upgrade", "downgrade"]
    effective_at: Timestamp = Field(description="Now for an upgrade, the period end for a downgrade")
    amount_due: int = Field(description="Charged now, minor units (negative: credited); 0 for a downgrade")
    currency: str
    amount_due_display: str
    order_id: str | None = Field(description="The plan_change order recording the proration (upgrades)")
    runtime: RuntimeMove
    subscription: Subscription


class VersionMoveResult(ApiModel):
    """The version the subscription moved from and to. The price is unchanged: a version move charges
    nothing and keeps the price the held plan is paid at."""

    subscription_id: str
    from_version: str
    to_version: str
    runtime: RuntimeMove = Field(
        description="A dedicated runtime's state is `updating` while it rolls the new version out (it "
        "serves the old version until then), `completed` once it runs it"
    )
    subscription: Subscription


class CancelResult(ApiModel):
    """When the subscription ends."""

    subscription_id: str
    effective_at: Timestamp = Field(description="Now, or the end of the current period")
    amount_due: int = Field(description="Always 0: a cancellation refunds nothing by itself")
    currency: str
    subscription: Subscription
