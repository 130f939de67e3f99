"""Applying payment events: the one path by which a provider's word changes orders and subscriptions.

Both providers come through here: Stripe's webhooks, the local provider's events (delivered in-process
when its checkout completes at once), renewals the billing job charged, and what reconciliation learns by
asking the provider. Stripe delivers at least once, unordered, for up to 3 days (docs "Webhooks: best
practices"), so:

- the event id is claimed in `payment_events` in the SAME transaction as its effect (claiming first would
  lose the event when the write fails: DESIGN §7); a duplicate or replay finds the claim and does nothing;
- events find their order and tenant from the metadata set at checkout (`order_id`, `tenant_id`, copied onto
  Stripe's subscription), else from the session, provider subscription or customer;
- order does not matter: a `customer.subscription.updated` (active) or `invoice.paid` that arrives before
  `checkout.session.completed` completes the purchase itself, and the completion that follows is a no-op;
  a `subscription.updated` older than the last event applied to the subscription (`last_event_at`) is
  stale and ignored; a period only ever moves forward.

Completing a purchase marks the order paid, creates the subscription (plan document, validated capability
snapshot of the version bought, empty configuration) and activates the order, in one transaction: shared
plans are `active` at once; dedicated plans are `provisioning`, with an outbox message starting the
runtime-provisioning state machine (execution `provision-{subscription_id}`). So there is never a paid
order without a subscription nor a subscription without a paid order; a buyer who already holds the
product (two checkouts paid at once) gets no second subscription, and the paid order is flagged
`duplicate_purchase` for a refund.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cmp.commerce.model import Order, Subscription
from cmp.commerce.payment_model import PaymentEvent
from cmp.commerce.ports import CommerceUnitOfWork, CommerceUnitOfWorkFactory
from cmp.commerce.proration import next_period_end
from cmp.db.outbox import OutboxMessage
from cmp.errors import Conflict, NotFound
from cmp.ports import Clock, IdGenerator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Applied:
    """What applying one event did: `applied` False for a duplicate, a stale or ignored event, one about
    nothing of ours or one its order refuses; `outcome` says which (`applied`, `duplicate`, `stale`,
    `ignored`, `unknown`, `refused`)."""

    applied: bool
    outcome: str
    order_id: uuid.UUID | None = None
    subscription_id: uuid.UUID | None = None


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class PaymentEvents:
    """Applies `PaymentEvent`s. `provisioning_machine` returns the runtime-provisioning state machine's
    ARN (read when a dedicated plan is bought)."""

    def __init__(
        self,
        uow: CommerceUnitOfWorkFactory,
        provisioning_machine: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._machine = provisioning_machine
        self._clock = clock
        self._ids = ids

    def apply(self, event: PaymentEvent) -> Applied:
        """Apply one event exactly once (see the module docstring). Never raises for an event about an
        unknown order or subscription (logged, `unknown`) nor for a transition the order or subscription
        refuses (a refund of an order never paid: logged, `refused`, nothing written, the claim released);
        other errors propagate with nothing written (the provider delivers again)."""
        if event.kind == "ignored":
            return Applied(False, "ignored")
        owner = self._owner(event)
        if owner is None:
            log.warning(
                "payment event about nothing of ours",
                extra={"event_id": event.event_id, "type": event.raw_type, "provider": event.provider},
            )
            return Applied(False, "unknown")
        tenant_id, order_id = owner
        with self._uow(tenant_id) as uow:
            order = self._order(uow, event, order_id)
            subscription = self._subscription(uow, event, order)
            if order is None and subscription is None:
                log.warning("payment event about an unknown order", extra={"event_id": event.event_id})
                return Applied(False, "unknown")
            if not uow.payment_events.claim(event, tenant_id, order.id if order else None):
                return Applied(False, "duplicate", order.id if order else None)
            try:
                outcome = self._dispatch(uow, event, order, subscription)
            except Conflict as e:
                log.warning(
                    "payment event refused by the order or subscription; not applied",
                    extra={"event_id": event.event_id, "type": event.raw_type, "reason": e.message},
                )
                return Applied(False, "refused", order.id if order else None)
            uow.commit()
        sub_id = subscription.id if subscription else (order.subscription_id if order else None)
        return Applied(outcome == "applied", outcome, order.id if order else None, sub_id)

    # ------------------------------------------------------------------------------------------ lookup
    def _owner(self, event: PaymentEvent) -> tuple[uuid.UUID, uuid.UUID | None] | None:
        tenant_id, order_id = _uuid(event.tenant_id), _uuid(event.order_id)
        if tenant_id is not None:
            return tenant_id, order_id
        with self._uow() as uow:
            found: tuple[uuid.UUID, uuid.UUID | None] | None = uow.payment_events.owner(event)
        return found

    @staticmethod
    def _order(uow: CommerceUnitOfWork, event: PaymentEvent, order_id: uuid.UUID | None) -> Order | None:
        if order_id is not None:
            try:
                order: Order = uow.orders.get(order_id, for_update=True)
                return order
            except NotFound:
                return None
        if event.session_id:
            found: Order | None = uow.orders.by_checkout_session(event.provider, event.session_id)
            return found
        return None

    @staticmethod
    def _subscription(
        uow: CommerceUnitOfWork, event: PaymentEvent, order: Order | None
    ) -> Subscription | None:
        if order is not None and order.subscription_id is not None:
            subscription: Subscription = uow.subscriptions.get(order.subscription_id, for_update=True)
            return subscription
        if event.subscription_ref:
            found: Subscription | None = uow.subscriptions.by_provider_ref(
                event.provider, event.subscription_ref
            )
            return found
        return None

    # ------------------------------------------------------------------------------------------ effects
    def _dispatch(
        self,
        uow: CommerceUnitOfWork,
        event: PaymentEvent,
        order: Order | None,
        subscription: Subscription | None,
    ) -> str:
        stale = (
            subscription is not None
            and subscription.last_event_at is not None
            and event.created < subscription.last_event_at
        )
        if subscription is not None and not stale:
            subscription.last_event_at = event.created
        was_live = subscription is not None and subscription.is_live
        kind = event.kind
        if kind == "checkout.completed" or (
            kind in ("invoice.paid", "subscription.updated")
            and subscription is None
            and order is not None
            and order.status in ("pending", "failed")
            and (kind == "invoice.paid" or event.subscription_status in ("active", "trialing"))
        ):
            outcome = self.complete(uow, order, event) if order is not None else "unknown"
        elif kind == "payment.failed":
            outcome = self._failed(uow, event, order, subscription)
        elif kind == "checkout.expired":
            outcome = (
                "applied" if order is not None and order.status == "pending" and order.cancel() else "ignored"
            )
        elif kind == "charge.refunded":
            outcome = "applied" if order is not None and order.refund() else "ignored"
        elif subscription is None:
            outcome = "unknown"
        elif stale:
            outcome = "stale"
        elif kind == "invoice.paid":
            outcome = self._renewed(uow, event, subscription)
        elif kind == "subscription.updated":
            outcome = self._updated(event, subscription)
        else:  # subscription.deleted
            outcome = "applied" if subscription.end(event.created) else "ignored"
        if order is not None:
            uow.orders.save(order)
        if subscription is not None:
            uow.subscriptions.save(subscription)
            if was_live and not subscription.is_live:
                uow.offers.refresh_subscriber_count(subscription.product_id)
                self.runtime_ended(uow, subscription)
        return outcome

    def complete(self, uow: CommerceUnitOfWork, order: Order, event: PaymentEvent) -> str:
        """Mark a purchase paid and give it its subscription (see the module docstring), in `uow`'s
        transaction; the caller saves the order and commits. Reconciliation calls this too."""
        if order.kind != "purchase" or order.subscription_id is not None:
            return "ignored"
        if order.status in ("cancelled", "refunded"):
            uow.reconciliation.open(
                "paid_without_subscription",
                f"the provider reports a payment ({event.event_id}) for an order that is {order.status}; "
                "refund it",
                order.tenant_id,
                order_id=order.id,
            )
            return "ignored"
        order.mark_paid()
        order.provider_subscription_ref = event.subscription_ref or order.provider_subscription_ref
        if event.customer_ref:
            uow.payment_customers.add(order.tenant_id, order.payment_provider, event.customer_ref)
        subscription = self._new_subscription(order, event)
        try:
            uow.subscriptions.add(subscription)
        except Conflict:
            uow.reconciliation.open(
                "duplicate_purchase",
                "the organization already holds this product: the payment of this order is to be refunded",
                order.tenant_id,
                order_id=order.id,
            )
            return "applied"
        order.activate(subscription.id)
        uow.reconciliation.resolve("paid_without_subscription", order.id)
        uow.offers.refresh_subscriber_count(order.product_id)
        if subscription.status == "provisioning":
            uow.outbox.add(
                OutboxMessage.start_execution(
                    self._machine(),
                    f"provision-{subscription.id}",
                    {"tenant_id": str(order.tenant_id), "subscription_id": str(subscription.id)},
                )
            )
        return "applied"

    def runtime_upgraded(self, uow: Any, subscription: Subscription, order_id: uuid.UUID) -> None:
        """A shared subscription moved to a dedicated plan (`cmp.commerce.changes`): start provisioning its
        runtime through the outbox (execution `upgrade-{order_id}`: one per plan change, so a later upgrade
        of the same subscription gets its own)."""
        uow.outbox.add(
            OutboxMessage.start_execution(
                self._machine(),
                f"upgrade-{order_id}",
                {"tenant_id": str(subscription.tenant_id), "subscription_id": str(subscription.id)},
            )
        )

    def runtime_version_moved(self, uow: Any, subscription: Subscription) -> None:
        """A dedicated subscription moved to another product version (`cmp.commerce.versions`): roll its
        runtime out with that version through the outbox (execution `version-{subscription_id}-{version}`,
        `action: update`: one per version, so a repeated start of the same move is one execution)."""
        uow.outbox.add(
            OutboxMessage.start_execution(
                self._machine(),
                f"version-{subscription.id}-{subscription.product_version}",
                {
                    "action": "update",
                    "tenant_id": str(subscription.tenant_id),
                    "subscription_id": str(subscription.id),
                },
            )
        )

    def runtime_ended(self, uow: Any, subscription: Subscription) -> None:
        """A dedicated subscription ended (at its period end, or the provider deleted it), or one whose
        upgrade to a dedicated runtime was underway: start deprovisioning its runtime through the outbox
        (execution `deprovision-{subscription_id}`)."""
        if subscription.runtime_type == "dedicated" or "upgrade" in subscription.provisioning:
            uow.outbox.add(
                OutboxMessage.start_execution(
                    self._machine(),
                    f"deprovision-{subscription.id}",
                    {
                        "action": "deprovision",
                        "tenant_id": str(subscription.tenant_id),
                        "subscription_id": str(subscription.id),
                    },
                )
            )

    def _new_subscription(self, order: Order, event: PaymentEvent) -> Subscription:
        if order.project_id is None or order.plan is None or order.capabilities is None:
            raise Conflict(f"order {order.id} does not record what it bought; it cannot be provisioned")
        start = event.period_start or event.created.replace(microsecond=0)
        end = event.period_end or next_period_end(start, order.billing_period)
        dedicated = order.runtime_type == "dedicated"
        return Subscription(
            id=self._ids.new_id(),
            tenant_id=order.tenant_id,
            project_id=order.project_id,
            seller_tenant_id=order.seller_tenant_id,
            product_id=order.product_id,
            product_version=order.product_version,
            product_name=order.product_name or "",
            product_slug=order.product_slug or "",
            category=order.category or "",
            plan_id=order.plan_id,
            plan=order.plan,
            capabilities=order.capabilities,
            runtime_type="dedicated" if dedicated else "shared",
            status="provisioning" if dedicated else "active",
            billing_period=order.billing_period,
            currency=order.currency,
            amount=order.amount,
            current_period_start=start,
            current_period_end=end,
            payment_provider=order.payment_provider,
            provider_customer_ref=event.customer_ref,
            provider_subscription_ref=order.provider_subscription_ref,
            provisioning={"state": "pending"} if dedicated else {},
            last_event_at=event.created,
            billing_anchor_day=start.day,
        )

    def _failed(
        self,
        uow: CommerceUnitOfWork,
        event: PaymentEvent,
        order: Order | None,
        subscription: Subscription | None,
    ) -> str:
        reason = event.failure_reason or "the payment failed"
        if order is not None and order.status in ("pending", "failed"):
            return "applied" if order.fail(reason) else "ignored"
        if subscription is not None and subscription.mark_past_due(reason):
            return "applied"
        return "ignored"

    def _renewed(self, uow: CommerceUnitOfWork, event: PaymentEvent, subscription: Subscription) -> str:
        """A paid invoice for a new period: the period moves on and a renewal order records the payment."""
        if event.period_start is None or event.period_end is None:
            return "ignored"
        if not subscription.advance(event.period_start, event.period_end):
            return "ignored"
        plan = subscription.plan
        renewal = Order(
            id=self._ids.new_id(),
            tenant_id=subscription.tenant_id,
            seller_tenant_id=subscription.seller_tenant_id,
            buyer_user_id=None,
            product_id=subscription.product_id,
            product_version=subscription.product_version,
            plan_id=subscription.plan_id,
            plan_name=str(plan.get("name", subscription.plan_id)),
            billing_period=subscription.billing_period,
            currency=event.currency or subscription.currency,
            amount=event.amount if event.amount is not None else subscription.amount,
            payment_provider=subscription.payment_provider,
            kind="renewal",
            status="paid",
            project_id=subscription.project_id,
            product_name=subscription.product_name,
            product_slug=subscription.product_slug,
            category=subscription.category,
            plan=plan,
            runtime_type=subscription.runtime_type,
            payment={"provider": subscription.payment_provider, "event_id": event.event_id},
        )
        renewal.activate(subscription.id)
        uow.orders.add(renewal)
        return "applied"

    @staticmethod
    def _updated(event: PaymentEvent, subscription: Subscription) -> str:
        changed = False
        if event.period_start is not None and event.period_end is not None:
            changed = subscription.advance(event.period_start, event.period_end)
        status = event.subscription_status
        if status in ("past_due", "unpaid"):
            changed = (
                subscription.mark_past_due("the provider reports the subscription's payment overdue")
                or changed
            )
        elif status == "active" and subscription.status == "past_due":
            changed = subscription.activate() or changed
        elif status in ("canceled", "incomplete_expired"):
            changed = subscription.end(event.created) or changed
        return "applied" if changed else "ignored"


def reconciled_event(order: Order, provider: str, kind: str, at: datetime, **fields: Any) -> PaymentEvent:
    """An event reconciliation builds from what the provider says about an order's checkout (its id is
    derived from the order, so reconciling twice applies once)."""
    event = PaymentEvent(
        provider=provider,
        event_id=f"reconcile:{order.id}:{kind}",
        raw_type=f"reconciliation.{kind}",
        kind=kind,  # type: ignore[arg-type]
        created=at,
        order_id=str(order.id),
        tenant_id=str(order.tenant_id),
    )
    return replace(event, **fields)
