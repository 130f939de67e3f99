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

from cmp.errors import Conflict, FieldError, ValidationFailed

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

SUBSCRIPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    "provisioning": frozenset({"active", "cancelled"}),
    "active": frozenset({"past_due", "cancelled", "suspended", "expired"}),
    "past_due": frozenset({"active", "cancelled", "expired"}),
    "suspended": frozenset({"active", "cancelled"}),
    "cancelled": frozenset(),
    "expired": frozenset(),
}
"""Which subscription status may follow which: a dedicated runtime is provisioned before it is active; a
declined renewal makes an active subscription past due until a payment succeeds; cancelled and expired
are final."""


@dataclass(frozen=True)
class Offer:
    """A product's live version as a buyer purchases it (its marketplace listing): the seller, the version,
    the capability document and the plans (stored camelCase documents, each with its stable `id`)."""

    product_id: uuid.UUID
    seller_tenant_id: uuid.UUID
    version: str
    name: str
    slug: str
    category: str
    capabilities: dict[str, Any]
    plans: list[dict[str, Any]]

    def priced_plan(self, plan_id: str, billing_period: str) -> tuple[dict[str, Any], int]:
        """The plan and its price in minor units for the period; raises ValidationFailed at `plan_id` (no
        such plan in this version) or at `billing_period` (no price for it)."""
        return priced_plan(self.plans, plan_id, billing_period, self.version)


def priced_plan(
    plans: list[dict[str, Any]], plan_id: str, billing_period: str, version: str
) -> tuple[dict[str, Any], int]:
    """`Offer.priced_plan` over the stored plans of any published version: the plan is found by its stable
    id (`cmp.capabilities.find_plan`) and priced in minor units of its currency (`PlanSpec.monthly` /
    `yearly`). Returns the stored plan document and the amount."""
    from cmp.capabilities import PlanSpec, find_plan  # the plan models: loaded by purchases and changes only

    specs = [PlanSpec.from_document(plan) for plan in plans]
    spec = find_plan(specs, plan_id)
    if spec is None:
        known = ", ".join(f"{p.id} ({p.name})" for p in specs)
        raise ValidationFailed(
            "no such plan",
            errors=[FieldError("plan_id", f"is not a plan of version {version}; its plans are {known}")],
        )
    prices = {"monthly": spec.monthly, "yearly": spec.yearly}
    price = prices[billing_period]
    if price is None:
        offered = [period for period, offer in prices.items() if offer is not None]
        hint = f"it is sold {' and '.join(offered)}" if offered else "contact the seller for a price"
        raise ValidationFailed(
            "the plan has no price for this billing period",
            errors=[
                FieldError("billing_period", f"plan '{spec.name}' has no {billing_period} price; {hint}")
            ],
        )
    return plans[specs.index(spec)], price.amount


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
    project_id: uuid.UUID | None = None
    product_name: str | None = None
    product_slug: str | None = None
    category: str | None = None
    plan: dict[str, Any] | None = None
    capabilities: dict[str, Any] | None = None
    runtime_type: RuntimeType | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    provider_subscription_ref: str | None = None
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
    billing_anchor_day: int | None = None
    status_reason: str | None = None
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

    def _move(self, status: SubscriptionStatus, reason: str | None = None) -> bool:
        """Move to `status` with `reason` (None clears it); False when already there, Conflict when the
        move is not allowed."""
        if self.status == status:
            changed = self.status_reason != reason
            self.status_reason = reason
            return changed
        if status not in SUBSCRIPTION_TRANSITIONS[self.status]:
            raise Conflict(f"subscription {self.id} is {self.status} and cannot become {status}")
        self.status = status
        self.status_reason = reason
        return True

    def activate(self) -> bool:
        """The runtime is ready (provisioning done) or a payment brought a past-due subscription back."""
        return self._move("active")

    def mark_past_due(self, reason: str) -> bool:
        """A renewal payment failed; the subscription keeps its period until a payment succeeds."""
        if self.status == "provisioning":
            return False
        return self._move("past_due", reason)

    def record_provisioning(self, step: str, status: str, detail: dict[str, Any], at: datetime) -> None:
        """Record one runtime provisioning step's outcome in `provisioning` (`steps.<step>` and `state`)."""
        steps = dict(self.provisioning.get("steps", {}))
        steps[step] = {"status": status, "detail": detail, "at": at.isoformat()}
        state = "failed" if status == "failed" else self.provisioning.get("state", "running")
        self.provisioning = {**self.provisioning, "state": state, "steps": steps}

    @property
    def upgrading(self) -> bool:
        """True while a live shared subscription's dedicated runtime, paid for by a plan upgrade, is being
        provisioned (`start_upgrade`): its calls still run on the shared runtime."""
        return (
            self.is_live
            and self.runtime_type == "shared"
            and "upgrade" in self.provisioning
            and self.provisioning.get("state") == "pending"
        )

    @property
    def awaits_runtime(self) -> bool:
        """True while the last provisioning step is still to come: a dedicated purchase not yet active, or
        an upgrade from shared underway (`upgrading`)."""
        return self.status == "provisioning" or self.upgrading

    def start_upgrade(self, from_plan_id: str, at: datetime) -> None:
        """The subscription moved to a dedicated plan (`change_plan` already applied): its runtime is to be
        provisioned; until `provisioning_succeeded` its `runtime_type` stays `shared`, so the gateway keeps
        running its calls there (no downtime)."""
        self.provisioning = {
            "state": "pending",
            "upgrade": {"from_plan_id": from_plan_id, "started_at": at.isoformat()},
        }
        self.status_reason = None

    @property
    def updating_version(self) -> bool:
        """True while the dedicated runtime rolls out the product version the subscription moved to
        (`move_version`); the runtime keeps serving the old version until that rollout is available."""
        return self.provisioning.get("state") == "updating" and "version_update" in self.provisioning

    def move_version(
        self, version: str, plan: dict[str, Any], capabilities: dict[str, Any], at: datetime
    ) -> bool:
        """Hold `version` from now: its document of the held plan (same id) and its capability snapshot;
        the price (`amount`) is left as it is. Returns True when a dedicated runtime must roll the version
        out (`provisioning.state` `updating`, `provisioning.version_update` `{"from_version",
        "to_version", "started_at"}`) until `version_rolled_out`. The caller checked `require_changeable`."""
        from_version = self.product_version
        self.product_version, self.plan, self.capabilities = version, plan, capabilities
        if self.runtime_type != "dedicated":
            return False
        update = {"from_version": from_version, "to_version": version, "started_at": at.isoformat()}
        self.provisioning = {**self.provisioning, "state": "updating", "version_update": update}
        self.status_reason = None
        return True

    def version_rolled_out(self, at: datetime) -> None:
        """The dedicated runtime runs the version the subscription moved to."""
        self.provisioning = {**self.provisioning, "state": "completed", "completed_at": at.isoformat()}

    def provisioning_succeeded(self, at: datetime) -> bool:
        """The last provisioning step finished: the subscription is active on its dedicated runtime (an
        upgraded one switches from the shared runtime now)."""
        self.provisioning = {**self.provisioning, "state": "completed", "completed_at": at.isoformat()}
        self.runtime_type = "dedicated"
        return self._move("active")

    def provisioning_cancelled(self, at: datetime) -> None:
        """The subscription was cancelled while its runtime was provisioned: provisioning stopped (its
        deprovisioning removes what was created); nothing failed, so no reason is shown."""
        self.provisioning = {**self.provisioning, "state": "cancelled", "cancelled_at": at.isoformat()}

    def provisioning_failed(self, reason: str, at: datetime) -> None:
        """Provisioning failed: a purchase stays `provisioning`, an upgrade stays on the shared runtime;
        either keeps the reason (`status_reason`) to show and act on."""
        self.provisioning = {**self.provisioning, "state": "failed", "failed_at": at.isoformat()}
        self.status_reason = reason

    def advance(self, period_start: datetime, period_end: datetime) -> bool:
        """A new billing period was paid (`invoice.paid`): move the period forward and clear a past-due
        state. False when the period is not later than the current one (a duplicate or the first invoice)."""
        if period_end <= self.current_period_end:
            return False
        self.current_period_start, self.current_period_end = period_start, period_end
        if self.status == "past_due":
            self._move("active")
        return True

    def cancel(self, at: datetime, at_period_end: bool, reason: str | None) -> bool:
        """The buyer cancels: at the end of the period (the subscription stays live until then) or at once.
        Raises Conflict when it already ended."""
        if not self.is_live:
            raise Conflict(f"subscription {self.id} is {self.status}; there is nothing to cancel")
        self.cancellation_reason = reason
        if at_period_end:
            self.cancel_at_period_end = True
            self.pending_change = None
            return True
        return self.end(at)

    def end(self, at: datetime) -> bool:
        """The subscription ends now (cancelled at once, at its period end, or deleted by the provider);
        False when it already had."""
        if self.status in ("cancelled", "expired"):
            return False
        self.cancelled_at = at
        self.pending_change = None
        return self._move("cancelled", self.status_reason if self.status == "past_due" else None)

    def schedule_change(self, change: dict[str, Any], now: datetime) -> None:
        """Remember a downgrade taking effect at the period end (`{"plan_id", "plan", "billing_period",
        "amount", "effective_at"}`); replaces an earlier one. Raises Conflict when the subscription ended
        or is set to cancel at the period end (`require_changeable`)."""
        self.require_changeable(now)
        self.pending_change = change

    def change_plan(
        self,
        plan: dict[str, Any],
        billing_period: BillingPeriod,
        amount: int,
        period: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Move to another plan of the version held, from now (an upgrade) or from the period end (a
        scheduled downgrade applied by the renewal job); `period` replaces the billing period when the
        interval changed (Stripe resets the billing cycle anchor). `runtime_type` is left as it is: it only
        changes once a dedicated runtime is ready (`provisioning_succeeded`)."""
        self.plan_id = str(plan["id"])
        self.plan = plan
        self.billing_period = billing_period
        self.amount = amount
        self.pending_change = None
        if period is not None:
            self.current_period_start, self.current_period_end = period
            self.billing_anchor_day = period[0].day

    def require_changeable(self, now: datetime) -> None:
        """Raises Conflict unless the plan may change now: live, provisioned, paid up (not past due), not
        cancelling, and inside its current billing period (a change is priced against that period)."""
        if not self.is_live:
            raise Conflict(f"subscription {self.id} is {self.status}; its plan can no longer change")
        if self.status == "past_due":
            reason = f" ({self.status_reason})" if self.status_reason else ""
            raise Conflict(
                f"subscription {self.id} is past due: its renewal payment failed{reason}; its plan cannot "
                "change until that period is paid (it can be cancelled)"
            )
        if not self.current_period_start <= now < self.current_period_end:
            raise Conflict(
                f"subscription {self.id}'s billing period ended at {self.current_period_end.isoformat()} and "
                "has not been renewed yet; change its plan after the renewal"
            )
        if self.cancel_at_period_end:
            raise Conflict(f"subscription {self.id} is cancelled at the end of its period")
        if self.awaits_runtime:
            raise Conflict(f"subscription {self.id} is still being provisioned; change its plan afterwards")
        if self.updating_version:
            moving = self.provisioning["version_update"]["to_version"]
            raise Conflict(
                f"subscription {self.id}'s runtime is still rolling out version {moving}; change it afterwards"
            )
