"""Plan changes and cancellation of a subscription, by Stripe Billing's rules (`cmp.commerce.proration`).

- An upgrade (a higher price in the same interval, or monthly -> yearly) happens at once: the provider
  moves the subscription and invoices the proration (`change_now`), a `plan_change` order records what
  was charged (or credited, negative), and the subscription takes the new plan (and, monthly -> yearly, a
  new yearly period from now).
- A downgrade (a lower or equal price in the same interval, and yearly -> monthly always) waits for the end
  of the period: the provider schedules it (`schedule_change`) and the subscription keeps it as
  `pending_change`; nothing is charged now. The renewal job applies it.
- A change stays within the product version the subscription holds (its capability snapshot); a newer
  version's plans are not offered here, since moving to a newer version changes what the buyer configured
  against: that is an explicit upgrade of the version, not a plan change.
- A shared subscription moving to a dedicated plan is an upgrade like any other (charged now, prorated),
  which also starts provisioning its dedicated runtime through the outbox, in the same transaction
  (execution `upgrade-{order_id}` of the runtime-provisioning state machine). Until that runtime is ready
  the subscription keeps `runtime_type` `shared` and its calls keep running there; the provisioning's
  `complete` step switches it (`Subscription.provisioning_succeeded`). A failed provisioning leaves it on
  the shared runtime with the reason in `status_reason` and a `provisioning_failed` reconciliation issue
  for operators (as a failed dedicated purchase). Such a move must be an upgrade by price (a higher price
  in the same interval, or monthly -> yearly): a runtime is not provisioned at a period's end.
- A dedicated subscription cannot move to a shared plan (409): its runtime would have to be removed while
  the period it paid for runs; cancel at the period end (which deprovisions it) and buy the shared plan.
- Cancellation is at the period end (the subscription stays live until then; the renewal job ends it) or
  at once, with the buyer's reason recorded. Nothing is refunded by a cancellation.

The subscription row stays locked while the provider is called, so two changes of one subscription run
one after the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cmp.commerce.model import Order, Subscription, priced_plan
from cmp.commerce.payment_model import Price
from cmp.commerce.ports import CommerceUnitOfWorkFactory, PaymentProvider
from cmp.commerce.proration import change_kind
from cmp.errors import Conflict, FieldError, ValidationFailed
from cmp.money import format_amount
from cmp.ports import Clock, IdGenerator

if TYPE_CHECKING:
    from cmp.commerce.events import PaymentEvents


def subscription_price(subscription: Subscription) -> Price:
    """The provider price of what the subscription pays now."""
    return Price(
        product_id=str(subscription.product_id),
        product_name=subscription.product_name,
        plan_id=subscription.plan_id,
        plan_name=str(subscription.plan.get("name", subscription.plan_id)),
        billing_period=subscription.billing_period,
        currency=subscription.currency,
        unit_amount=subscription.amount,
    )


def plan_price(subscription: Subscription, plan: dict[str, Any], billing_period: str, amount: int) -> Price:
    """The provider price of another plan of the subscription's product."""
    return Price(
        product_id=str(subscription.product_id),
        product_name=subscription.product_name,
        plan_id=str(plan["id"]),
        plan_name=str(plan.get("name", plan["id"])),
        billing_period=billing_period,  # type: ignore[arg-type]
        currency=str(plan["currency"]),
        unit_amount=amount,
    )


class SubscriptionChanges:
    """`payments` returns the configured provider; `events` starts a dedicated runtime's deprovisioning
    when a cancellation ends the subscription at once (`PaymentEvents.runtime_ended`)."""

    def __init__(
        self,
        uow: CommerceUnitOfWorkFactory,
        payments: Callable[[], PaymentProvider],
        clock: Clock,
        ids: IdGenerator,
        events: PaymentEvents,
    ) -> None:
        self._uow = uow
        self._payments = payments
        self._clock = clock
        self._ids = ids
        self._events = events

    def change_plan(
        self, tenant_id: str, subscription_id: uuid.UUID, plan_id: str, billing_period: str
    ) -> dict[str, Any]:
        """Change the plan and/or billing period; returns `{"change", "effective_at", "amount_due",
        "currency", "amount_due_display", "order_id", "runtime"}`, `runtime` being `{"type", "state",
        "target"}`: where the calls run now, the provisioning state (None on a shared runtime) and where
        they will run (`dedicated` while an upgrade's runtime is provisioned).

        Raises NotFound (no such subscription in the organization), ValidationFailed at `plan_id` (not a
        plan of the version held, another currency) or `billing_period` (no price for it), Conflict (the
        same plan and period, a subscription that ended, is cancelling or still being provisioned, a
        dedicated subscription to a shared plan, a move to a dedicated plan that is not an upgrade by
        price), PaymentUnavailable.
        """
        payments = self._payments()
        now = self._clock.now()
        with self._uow(uuid.UUID(tenant_id)) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id, for_update=True)
            subscription.require_changeable(now)
            plans = uow.offers.version_plans(subscription.product_id, subscription.product_version)
            plan, amount = priced_plan(plans, plan_id, billing_period, subscription.product_version)
            if plan["id"] == subscription.plan_id and billing_period == subscription.billing_period:
                raise Conflict("the subscription is already on this plan and billing period")
            self._check_compatible(subscription, plan)
            current = subscription_price(subscription)
            new = plan_price(subscription, plan, billing_period, amount)
            ref = subscription.provider_subscription_ref or ""
            kind = change_kind(current, new)
            moves = plan.get("runtimeType", "shared") == "dedicated" and subscription.runtime_type == "shared"
            if moves and kind == "downgrade":
                raise Conflict(
                    "moving to the dedicated runtime starts now, so it must be an upgrade: a higher price in "
                    "the same billing period, or monthly to yearly"
                )
            if kind == "downgrade":
                effective = subscription.current_period_end
                payments.schedule_change(ref, new, effective)
                subscription.schedule_change(
                    {
                        "plan_id": plan["id"],
                        "plan": plan,
                        "billing_period": billing_period,
                        "amount": amount,
                        "effective_at": effective.isoformat(),
                    },
                    now,
                )
                uow.subscriptions.save(subscription)
                uow.commit()
                return _result("downgrade", effective.isoformat(), 0, subscription, None)
            quote = payments.change_now(
                ref, current, new, subscription.current_period_start, subscription.current_period_end, now
            )
            period_changed = (quote.period_start, quote.period_end) != (
                subscription.current_period_start,
                subscription.current_period_end,
            )
            from_plan_id = subscription.plan_id
            subscription.change_plan(
                plan,
                new.billing_period,
                amount,
                (quote.period_start, quote.period_end) if period_changed else None,
            )
            order = self._change_order(subscription, plan, quote.amount_due, quote.proration_date.isoformat())
            uow.orders.add(order)
            if moves:
                subscription.start_upgrade(from_plan_id, now)
                self._events.runtime_upgraded(uow, subscription, order.id)
            uow.subscriptions.save(subscription)
            uow.commit()
        return _result("upgrade", quote.proration_date.isoformat(), quote.amount_due, subscription, order.id)

    def cancel(
        self, tenant_id: str, subscription_id: uuid.UUID, at_period_end: bool, reason: str | None
    ) -> dict[str, Any]:
        """Cancel at the period end or at once; returns `{"effective_at", "amount_due", "currency"}`.
        Raises NotFound, Conflict (it already ended), PaymentUnavailable."""
        payments = self._payments()
        now = self._clock.now()
        with self._uow(uuid.UUID(tenant_id)) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id, for_update=True)
            if not subscription.is_live:
                raise Conflict(f"the subscription is {subscription.status}; there is nothing to cancel")
            if subscription.provider_subscription_ref:
                payments.cancel(subscription.provider_subscription_ref, at_period_end)
            subscription.cancel(now, at_period_end, reason)
            uow.subscriptions.save(subscription)
            if not subscription.is_live:
                uow.offers.refresh_subscriber_count(subscription.product_id)
                self._events.runtime_ended(uow, subscription)
            uow.commit()
        effective = subscription.current_period_end if at_period_end else now
        return {"effective_at": effective.isoformat(), "amount_due": 0, "currency": subscription.currency}

    @staticmethod
    def _check_compatible(subscription: Subscription, plan: dict[str, Any]) -> None:
        if plan.get("currency") != subscription.currency:
            raise ValidationFailed(
                "the plan is priced in another currency",
                errors=[
                    FieldError(
                        "plan_id",
                        f"is priced in {plan.get('currency')}, the subscription in {subscription.currency}",
                    )
                ],
            )
        if subscription.runtime_type == "dedicated" and plan.get("runtimeType", "shared") == "shared":
            raise Conflict(
                "a dedicated subscription cannot move to a shared plan while its period runs (its runtime "
                "would be removed mid-period); cancel at the period end, which deprovisions the runtime, "
                "and buy the shared plan",
                errors=[FieldError("plan_id", "runs on the shared runtime")],
            )

    def _change_order(
        self, subscription: Subscription, plan: dict[str, Any], amount_due: int, at: str
    ) -> Order:
        order = Order(
            id=self._ids.new_id(),
            tenant_id=subscription.tenant_id,
            seller_tenant_id=subscription.seller_tenant_id,
            buyer_user_id=None,
            product_id=subscription.product_id,
            product_version=subscription.product_version,
            plan_id=str(plan["id"]),
            plan_name=str(plan.get("name", plan["id"])),
            billing_period=subscription.billing_period,
            currency=subscription.currency,
            amount=amount_due,
            payment_provider=subscription.payment_provider,
            kind="plan_change",
            status="paid",
            project_id=subscription.project_id,
            product_name=subscription.product_name,
            product_slug=subscription.product_slug,
            category=subscription.category,
            plan=plan,
            runtime_type=plan.get("runtimeType", subscription.runtime_type),
            payment={"provider": subscription.payment_provider, "proration_date": at},
        )
        order.activate(subscription.id)
        return order


def _result(
    kind: str, effective_at: str, amount_due: int, subscription: Subscription, order_id: uuid.UUID | None
) -> dict[str, Any]:
    currency = subscription.currency
    return {
        "change": kind,
        "effective_at": effective_at,
        "amount_due": amount_due,
        "currency": currency,
        "amount_due_display": format_amount(amount_due, currency),
        "order_id": str(order_id) if order_id else None,
        "runtime": runtime_view(subscription),
    }


def runtime_view(subscription: Subscription) -> dict[str, Any]:
    """`{"type", "state", "target"}`: where the subscription's calls run now, its provisioning state (None
    for a shared runtime never provisioned) and where they will run once that provisioning completes."""
    upgrading = subscription.upgrading
    return {
        "type": subscription.runtime_type,
        "state": subscription.provisioning.get("state"),
        "target": "dedicated" if upgrading else subscription.runtime_type,
    }
