"""Commerce entities and their rules: orders and subscriptions. No I/O here.

An `Order` is one payment for one plan of one product version: pending → paid → active, or failed /
cancelled / refunded. A `Subscription` is what the buyer's organization owns after paying: the plan and the
typed capability snapshot of the version bought (a newer version never changes it), the buyer's
configuration within it, the billing period and the runtime it runs on. Amounts are integers in the
currency's minor unit (ISO 4217 exponent).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cmp.errors import Conflict

OrderStatus = Literal["pending", "paid", "active", "failed", "cancelled", "refunded"]
OrderKind = Literal["purchase", "plan_change", "renewal"]
SubscriptionStatus = Literal["provisioning", "active", "past_due", "cancelled", "expired", "suspended"]
BillingPeriod = Literal["monthly", "yearly"]
RuntimeType = Literal["shared", "dedicated"]

ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"paid", "failed", "cancelled"}),
    "paid": frozenset({"active", "refunded"}),
    "active": frozenset({"refunded"}),
    "failed": frozenset({"paid"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
"""Which order status may follow which. `failed → paid` exists because a provider may report a later
successful attempt of the same checkout (Stripe retries an async payment)."""

LIVE_STATUSES: frozenset[str] = frozenset({"provisioning", "active", "past_due", "suspended"})
"""Subscription statuses that hold the product (at most one per project and product)."""


@dataclass
class Order:
    """One payment for a plan of a product version, by the buyer organization `tenant_id`."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    seller_tenant_id: uuid.UUID
    buyer_user_id: uuid.UUID | None
    product_id: uuid.UUID
    product_version: str
    plan_id: str
    plan_name: str
    billing_period: BillingPeriod
    currency: str
    amount: int
    payment_provider: str
    kind: OrderKind = "purchase"
    status: OrderStatus = "pending"
    subscription_id: uuid.UUID | None = None
    checkout_session_id: str | None = None
    payment: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def _move(self, status: OrderStatus) -> bool:
        """Move to `status`; False when already there (a repeated event), Conflict when not allowed."""
        if self.status == status:
            return False
        if status not in ORDER_TRANSITIONS[self.status]:
            raise Conflict(f"order {self.id} is {self.status} and cannot become {status}")
        self.status = status
        return True

    def mark_paid(self) -> bool:
        """The provider confirmed payment; False when it already was (duplicate or late event)."""
        if self.status == "active":
            return False
        self.failure_reason = None
        return self._move("paid")

    def activate(self, subscription_id: uuid.UUID) -> bool:
        """The subscription this order paid for exists; False when it already did."""
        if self.status == "active" and self.subscription_id == subscription_id:
            return False
        self.subscription_id = subscription_id
        return self._move("active")

    def fail(self, reason: str) -> bool:
        """Payment failed (declined card, expired session); a paid or active order stays as it is."""
        if self.status in ("paid", "active", "refunded"):
            return False
        self.failure_reason = reason
        return self._move("failed")

    def cancel(self) -> bool:
        """The buyer abandoned a pending checkout."""
        return self._move("cancelled")

    def refund(self) -> bool:
        """The payment was refunded."""
        return self._move("refunded")


@dataclass
class Subscription:
    """A buyer organization's product: the plan and capability snapshot it bought, and its billing state.

    `plan` is the bought plan's stored document (camelCase, with its `id`), `capabilities` the capability
    document of `product_version`; `configuration` maps a section name to the buyer's validated values.
    """

    id: uuid.UUID
    tenant_id: uuid.UUID
    project_id: uuid.UUID
    seller_tenant_id: uuid.UUID
    product_id: uuid.UUID
    product_version: str
    product_name: str
    product_slug: str
    category: str
    plan_id: str
    plan: dict[str, Any]
    capabilities: dict[str, Any]
    runtime_type: RuntimeType
    status: SubscriptionStatus
    billing_period: BillingPeriod
    currency: str
    amount: int
    current_period_start: datetime
    current_period_end: datetime
    payment_provider: str
    configuration: dict[str, Any] = field(default_factory=dict)
    cancel_at_period_end: bool = False
    cancelled_at: datetime | None = None
    cancellation_reason: str | None = None
    pending_change: dict[str, Any] | None = None
    provider_customer_ref: str | None = None
    provider_subscription_ref: str | None = None
    provisioning: dict[str, Any] = field(default_factory=dict)
    last_event_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        """True while the subscription holds the product (provisioning, active, past due or suspended)."""
        return self.status in LIVE_STATUSES

    def configure(self, section: str, values: dict[str, Any]) -> None:
        """Store one validated configuration section (validation is `cmp.capabilities`' job); a subscription
        that ended cannot be configured (Conflict)."""
        if not self.is_live:
            raise Conflict(f"subscription {self.id} is {self.status}; it can no longer be configured")
        self.configuration = {**self.configuration, section: values}
