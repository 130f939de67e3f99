"""The billing jobs (one scheduled function): renewal of billing periods and reconciliation.

Renewal (providers that do not renew by themselves: the local one; Stripe charges each period itself and
reports it by `invoice.paid`): for every subscription whose period ended, in its own transaction,
a cancellation at the period end ends it; a scheduled downgrade takes effect; then the provider charges the
next period (`charge_renewal`, once per period whatever happens) and the resulting `invoice.paid` (the
period moves on, a renewal order records the payment) or `payment.failed` (the subscription is past due
with the reason) is applied like any payment event.

Reconciliation: a purchase left pending for `pending_after` is asked of the provider (`retrieve_checkout`,
or, when the order never stored its session because the process died after the provider call, the same
checkout opened again: both providers key it on the order id, so this returns the first session) and
completed, failed or cancelled accordingly; a paid purchase without a subscription gets one (the same
completion as its event); a live subscription without a paid order is flagged with the reason. Whatever is
found goes through `PaymentEvents`, so what it repairs is repaired once.

Cross-tenant reads are the narrow SECURITY DEFINER scans of `BillingScans`; each item is then handled in
its tenant's unit of work with the row locked and its state checked again, so two runs at once (or a run
and a webhook) do each thing once. One item failing is logged and counted, never stops the others.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from cmp.commerce.changes import subscription_price
from cmp.commerce.checkout import checkout_request, record_session
from cmp.commerce.events import PaymentEvents, reconciled_event
from cmp.commerce.model import Order, Subscription
from cmp.commerce.payment_model import CheckoutSession
from cmp.commerce.ports import CommerceUnitOfWorkFactory, PaymentProvider
from cmp.commerce.proration import next_period_end
from cmp.errors import NotFound
from cmp.ports import Clock

log = logging.getLogger(__name__)


class BillingJobs:
    """`pending_after`: how long a checkout may stay pending before reconciliation asks the provider;
    `batch`: the most items each scan takes per run."""

    def __init__(
        self,
        uow: CommerceUnitOfWorkFactory,
        payments: Callable[[], PaymentProvider],
        events: PaymentEvents,
        clock: Clock,
        pending_after: timedelta = timedelta(minutes=5),
        batch: int = 200,
    ) -> None:
        self._uow = uow
        self._payments = payments
        self._events = events
        self._clock = clock
        self._pending_after = pending_after
        self._batch = batch

    def run(self) -> dict[str, int]:
        """Renewal, then reconciliation; returns how many items each outcome had (e.g. `renewed`,
        `past_due`, `ended`, `completed`, `failed_orders`, `provisioned`, `flagged`, `errors`)."""
        report = self.renew()
        report.update(self.reconcile())
        return dict(report)

    # ------------------------------------------------------------------------------------------ renewal
    def renew(self) -> Counter[str]:
        """Renew every subscription of the configured provider whose period ended."""
        payments = self._payments()
        report: Counter[str] = Counter()
        if payments.renews_itself:
            return report
        with self._uow() as uow:
            due = uow.billing_scans.due_subscriptions(payments.name, self._clock.now(), self._batch)
        for tenant_id, subscription_id in due:
            report[self._guarded(self._renew_one, payments, tenant_id, subscription_id)] += 1
        return report

    def _renew_one(self, payments: PaymentProvider, tenant_id: uuid.UUID, subscription_id: uuid.UUID) -> str:
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id, for_update=True)
            if not subscription.is_live or subscription.current_period_end > now:
                return "skipped"
            if subscription.cancel_at_period_end:
                subscription.end(subscription.current_period_end)
                uow.subscriptions.save(subscription)
                uow.offers.refresh_subscriber_count(subscription.product_id)
                self._events.runtime_ended(uow, subscription)
                uow.commit()
                return "ended"
            change = subscription.pending_change
            if change is not None:
                subscription.change_plan(change["plan"], change["billing_period"], int(change["amount"]))
            price = subscription_price(subscription)
            start = subscription.current_period_end
            end = next_period_end(start, subscription.billing_period, subscription.billing_anchor_day)
            uow.subscriptions.save(subscription)
            uow.commit()
        event = payments.charge_renewal(subscription.provider_subscription_ref or "", price, start, end)
        applied = self._events.apply(event)
        if event.kind == "payment.failed":
            return "past_due" if applied.applied else "skipped"
        return "renewed" if applied.applied else "skipped"

    # ------------------------------------------------------------------------------------------ reconciliation
    def reconcile(self) -> Counter[str]:
        """Repair or flag what an interrupted checkout or provisioning left behind."""
        payments = self._payments()
        report: Counter[str] = Counter()
        cutoff = self._clock.now() - self._pending_after
        with self._uow() as uow:
            orders = uow.billing_scans.stale_orders(cutoff, self._batch)
            subscriptions = uow.billing_scans.unpaid_subscriptions(cutoff, self._batch)
        for tenant_id, order_id in orders:
            report[self._guarded(self._reconcile_order, payments, tenant_id, order_id)] += 1
        for tenant_id, subscription_id in subscriptions:
            report[self._guarded(self._flag_unpaid, payments, tenant_id, subscription_id)] += 1
        return report

    def _reconcile_order(self, payments: PaymentProvider, tenant_id: uuid.UUID, order_id: uuid.UUID) -> str:
        with self._uow(tenant_id) as uow:
            order: Order = uow.orders.get(order_id)
        now = self._clock.now()
        if order.status == "paid" and order.subscription_id is None:
            done = self._events.apply(reconciled_event(order, payments.name, "checkout.completed", now))
            return "provisioned" if done.applied else "skipped"
        if order.status != "pending" or order.payment_provider != payments.name:
            return "skipped"
        if order.checkout_session_id:
            session = payments.retrieve_checkout(order.checkout_session_id)
        else:
            session = payments.create_checkout(checkout_request(order))
        self._record(tenant_id, order_id, session)
        return self._settle(order, session, payments.name, now)

    def _settle(self, order: Order, session: CheckoutSession, provider: str, now: datetime) -> str:
        """Apply what the session says about the order (once: reconciled events are claimed by id); the
        outcome counts the order as settled also when the provider's own event settled it meanwhile (the
        local provider re-delivers its event when the checkout is asked again)."""
        common = {"session_id": session.session_id, "customer_ref": session.customer_ref}
        if session.status == "complete" and session.payment_status in ("paid", "no_payment_required"):
            event = reconciled_event(
                order,
                provider,
                "checkout.completed",
                now,
                subscription_ref=session.subscription_ref,
                **common,
            )
            outcome = "completed"
        elif session.status == "complete":
            reason = session.failure_reason or "the payment failed"
            event = reconciled_event(order, provider, "payment.failed", now, failure_reason=reason, **common)
            outcome = "failed_orders"
        elif session.status == "expired":
            event = reconciled_event(order, provider, "checkout.expired", now, **common)
            outcome = "expired"
        else:
            return "still_open"
        self._events.apply(event)
        with self._uow(order.tenant_id) as uow:
            now_status = uow.orders.get(order.id).status
        settled = {"completed": ("active", "paid"), "failed_orders": ("failed",), "expired": ("cancelled",)}
        return outcome if now_status in settled[outcome] else "skipped"

    def _record(self, tenant_id: uuid.UUID, order_id: uuid.UUID, session: CheckoutSession) -> None:
        with self._uow(tenant_id) as uow:
            order: Order = uow.orders.get(order_id, for_update=True)
            if order.checkout_session_id != session.session_id:
                record_session(order, session)
                uow.orders.save(order)
                uow.commit()

    def _flag_unpaid(
        self, payments: PaymentProvider, tenant_id: uuid.UUID, subscription_id: uuid.UUID
    ) -> str:
        with self._uow(tenant_id) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id)
            if uow.orders.paid_for(subscription_id) or not subscription.is_live:
                return "skipped"
            uow.reconciliation.open(
                "subscription_without_payment",
                f"subscription {subscription_id} is {subscription.status} but no paid order refers to it; "
                "check the provider and cancel it if nothing was paid",
                tenant_id,
                subscription_id=subscription_id,
            )
            uow.commit()
        log.warning("subscription without payment flagged", extra={"subscription_id": str(subscription_id)})
        return "flagged"

    @staticmethod
    def _guarded(
        step: Callable[[PaymentProvider, uuid.UUID, uuid.UUID], str],
        payments: PaymentProvider,
        tenant_id: uuid.UUID,
        item_id: uuid.UUID,
    ) -> str:
        try:
            return step(payments, tenant_id, item_id)
        except NotFound:
            return "skipped"
        except Exception:
            log.exception("billing item failed; the next run retries it", extra={"item_id": str(item_id)})
            return "errors"
