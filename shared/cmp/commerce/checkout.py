"""Checkout: a buyer's organization pays for one plan of a product's current published version.

`CheckoutService.checkout` reads the product's live version from its marketplace listing, checks the plan
and its price for the billing period, refuses a product the organization already holds live (409), gives
the organization a default project when it has none ("auto-project"), writes the order (pending, amount in
minor units of the plan's currency, the plan document and capability snapshot frozen on it) and commits,
then opens the provider's checkout. Stripe answers with a hosted page URL and completes later by webhook;
the local provider completes at once and its event has already been applied when `checkout` returns.

`Idempotency-Key`: a retried checkout with the same key and the same request returns the first order (in
its current state) and opens nothing new; the same key with another request is a 409. Keys are per
organization and kept with the order. A checkout the provider refused (an unknown test card, the provider
unreachable) fails its order and frees the key, so the retry starts afresh.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cmp.commerce.model import Order
from cmp.commerce.payment_model import CheckoutRequest, CheckoutSession, Price
from cmp.commerce.ports import CommerceUnitOfWork, CommerceUnitOfWorkFactory, PaymentProvider
from cmp.errors import Conflict, DomainError, FieldError, ValidationFailed
from cmp.ports import Clock, IdGenerator


@dataclass(frozen=True)
class CheckoutInput:
    """What the buyer asked for: `product` is a slug or id; `payment_method` a local test card."""

    product: str
    plan_id: str
    billing_period: str
    payment_method: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the request, to tell a retry from another request under the same key."""
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutUrls:
    """Where the provider's hosted page sends the buyer back when the request names no URL."""

    success_url: str
    cancel_url: str


def snapshot_capabilities(document: dict[str, Any]) -> dict[str, Any]:
    """The typed capability snapshot a subscription keeps: the version's document read back through
    `cmp.capabilities` (defaults completed, unknown keys dropped); raises Conflict when a published document
    no longer reads (a purchase must not store what the runtime cannot use)."""
    from cmp.capabilities import ProductCapabilities  # the capability models: loaded by checkouts only

    try:
        snapshot: dict[str, Any] = ProductCapabilities.from_document(document).to_document()
    except ValueError as e:
        raise Conflict("this version's capability document is no longer valid; it cannot be bought") from e
    return snapshot


def price_of(order: Order) -> Price:
    """The provider price of what an order buys."""
    return Price(
        product_id=str(order.product_id),
        product_name=order.product_name or str(order.product_id),
        plan_id=order.plan_id,
        plan_name=order.plan_name,
        billing_period=order.billing_period,
        currency=order.currency,
        unit_amount=order.amount,
    )


def checkout_request(order: Order) -> CheckoutRequest:
    """The provider request of an order, rebuilt from what the order stored (reconciliation repeats it:
    both providers key the call on the order id, so the repeat returns the first session)."""
    asked = order.payment.get("request", {})
    return CheckoutRequest(
        order_id=str(order.id),
        tenant_id=str(order.tenant_id),
        customer_email=asked.get("customer_email"),
        customer_ref=asked.get("customer_ref"),
        price=price_of(order),
        success_url=str(asked.get("success_url", "")),
        cancel_url=str(asked.get("cancel_url", "")),
        payment_method=asked.get("payment_method"),
        metadata={"product_id": str(order.product_id), "plan_id": order.plan_id},
    )


def record_session(order: Order, session: CheckoutSession) -> None:
    """Keep what the provider answered on the order (`payment`: the session id, URL, client secret and
    failure reason shown to the buyer)."""
    order.checkout_session_id = order.checkout_session_id or session.session_id
    order.provider_subscription_ref = order.provider_subscription_ref or session.subscription_ref
    order.payment = {
        **order.payment,
        "provider": session.provider,
        "checkout_session_id": session.session_id,
        "url": session.url,
        "client_secret": session.client_secret,
        "failure_reason": session.failure_reason,
    }


class CheckoutService:
    """`payments` returns the configured provider (built on first use)."""

    def __init__(
        self,
        uow: CommerceUnitOfWorkFactory,
        payments: Callable[[], PaymentProvider],
        urls: CheckoutUrls,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._payments = payments
        self._urls = urls
        self._clock = clock
        self._ids = ids

    def checkout(
        self, tenant_id: str, user_id: str, asked: CheckoutInput, idempotency_key: str | None = None
    ) -> uuid.UUID:
        """Buy `asked` for the caller's organization; returns the order id (read it with `CommerceViews`).

        Raises NotFound (unknown product), ValidationFailed at `plan_id` / `billing_period` /
        `payment_method`, Conflict (the organization holds the product live; the key was used for
        another request), PaymentUnavailable (the provider is unreachable; nothing was charged).
        """
        payments = self._payments()
        tenant, user = uuid.UUID(tenant_id), uuid.UUID(user_id)
        if asked.billing_period not in ("monthly", "yearly"):
            raise ValidationFailed(
                "unknown billing period", errors=[FieldError("billing_period", "must be monthly or yearly")]
            )
        with self._uow(tenant) as uow:
            if idempotency_key is not None:
                first = uow.orders.by_idempotency_key(idempotency_key)
                if first is not None:
                    return self._replayed(first, asked)
            order = self._new_order(uow, tenant, user, asked, payments.name, idempotency_key)
            try:
                uow.orders.add(order)
            except Conflict:
                uow.rollback()
                return self._after_race(tenant, asked, idempotency_key)
            uow.commit()
        try:
            session = payments.create_checkout(checkout_request(order))
        except DomainError as e:
            self._refused(tenant, order.id, e)
            raise
        with self._uow(tenant) as uow:
            stored: Order = uow.orders.get(order.id, for_update=True)
            record_session(stored, session)
            if session.customer_ref:
                uow.payment_customers.add(tenant, payments.name, session.customer_ref)
            uow.orders.save(stored)
            uow.commit()
        return order.id

    def _new_order(
        self,
        uow: CommerceUnitOfWork,
        tenant: uuid.UUID,
        user: uuid.UUID,
        asked: CheckoutInput,
        provider: str,
        idempotency_key: str | None,
    ) -> Order:
        offer = uow.offers.find(asked.product)
        plan, amount = offer.priced_plan(asked.plan_id, asked.billing_period)
        capabilities = snapshot_capabilities(offer.capabilities)
        held = uow.subscriptions.live_for_product(offer.product_id)
        if held is not None:
            raise Conflict(
                f"your organization already holds {offer.name} (subscription {held.id}, {held.status}); "
                "change its plan instead"
            )
        return Order(
            id=self._ids.new_id(),
            tenant_id=tenant,
            seller_tenant_id=offer.seller_tenant_id,
            buyer_user_id=user,
            product_id=offer.product_id,
            product_version=offer.version,
            plan_id=str(plan["id"]),
            plan_name=str(plan["name"]),
            billing_period=asked.billing_period,  # type: ignore[arg-type]
            currency=str(plan["currency"]),
            amount=amount,
            payment_provider=provider,
            project_id=uow.subscriptions.default_project(tenant),
            product_name=offer.name,
            product_slug=offer.slug,
            category=offer.category,
            plan=plan,
            capabilities=capabilities,
            runtime_type=plan.get("runtimeType", "shared"),
            idempotency_key=idempotency_key,
            request_fingerprint=asked.fingerprint if idempotency_key else None,
            payment={
                "provider": provider,
                "request": {
                    "customer_ref": uow.payment_customers.get(tenant, provider),
                    "customer_email": uow.payment_customers.email_of(user),
                    "payment_method": asked.payment_method,
                    "success_url": asked.success_url or self._urls.success_url,
                    "cancel_url": asked.cancel_url or self._urls.cancel_url,
                },
            },
        )

    @staticmethod
    def _replayed(first: Order, asked: CheckoutInput) -> uuid.UUID:
        if first.request_fingerprint != asked.fingerprint:
            raise Conflict("this Idempotency-Key was used for another checkout; use a new key")
        return first.id

    def _after_race(self, tenant: uuid.UUID, asked: CheckoutInput, idempotency_key: str | None) -> uuid.UUID:
        """A concurrent request with the same key inserted first: answer with its order."""
        with self._uow(tenant) as uow:
            first = uow.orders.by_idempotency_key(idempotency_key) if idempotency_key else None
        if first is None:
            raise Conflict("a concurrent checkout with this Idempotency-Key failed; retry")
        return self._replayed(first, asked)

    def _refused(self, tenant: uuid.UUID, order_id: uuid.UUID, error: DomainError) -> None:
        with self._uow(tenant) as uow:
            order: Order = uow.orders.get(order_id, for_update=True)
            order.fail(f"the payment provider refused the checkout: {error.message}")
            order.idempotency_key = None
            order.request_fingerprint = None
            uow.orders.save(order)
            uow.commit()
