"""Stripe Billing behind the payments port: customers, prices, Checkout Sessions in subscription mode,
webhooks, plan changes and cancellation.

`stripe` is imported on first use (≈265 ms at import on a busy machine, measured with
`python -X importtime -c "import stripe"`), so only the functions that take payments pay for it. Requests go
through a `stripe.StripeClient` pinned to the library's API version (stripe 16.1.0: `2026-10-28.endive`);
responses are read as plain dicts. Webhook events may come in an older API version (an endpoint's version
is fixed when it is created), so events are read in both layouts Stripe has used since 2023 (see
`cmp.commerce.stripe_events`).

Vendor errors become domain errors (`raise … from e`): unreachable, rate limited, 5xx or refused credentials
-> `PaymentUnavailable` (503); an unknown object -> `NotFound`; an idempotency key reused with other
parameters -> `Conflict`; a declined card on a plan change -> `ValidationFailed` at `payment_method`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from cmp.commerce.payment_model import (
    BillingPeriod,
    CheckoutRequest,
    CheckoutSession,
    PaymentEvent,
    Price,
    ProrationQuote,
)
from cmp.commerce.proration import change_kind
from cmp.commerce.stripe_events import from_timestamp, is_proration, object_id, reduce_event
from cmp.errors import (
    BadRequest,
    Conflict,
    FieldError,
    NotFound,
    PaymentUnavailable,
    Unauthorized,
    ValidationFailed,
)

if TYPE_CHECKING:
    import stripe
    from stripe.params import CustomerCreateParams

INTERVALS: dict[BillingPeriod, Literal["month", "year"]] = {"monthly": "month", "yearly": "year"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stripe_product_id(product_id: str) -> str:
    """The id we give the Stripe Product of a CMP product (Stripe accepts our own ids), so it is looked up by
    id instead of searched for, and never created twice."""
    return f"cmp_{product_id}"


class StripePayments:
    """`PaymentProvider` over Stripe Billing.

    `api_key` and `webhook_secret` are callables (read from Secrets Manager by the caller, on first use);
    `client` replaces the whole `stripe.StripeClient`, `http_client` only its transport (tests record and
    answer requests there). `max_network_retries` is the client's retry count for connection errors, 409 and
    5xx answers; every POST carries an idempotency key, so a retry never charges or creates twice.
    """

    name = "stripe"
    renews_itself = True

    def __init__(
        self,
        api_key: Callable[[], str],
        webhook_secret: Callable[[], str],
        *,
        client: stripe.StripeClient | None = None,
        http_client: stripe.HTTPClient | None = None,
        max_network_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._stripe = client
        self._http_client = http_client
        self._max_network_retries = max_network_retries

    # ---- checkout ----------------------------------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """A Checkout Session in subscription mode for one order: the customer is created when
        `customer_ref` is None (email, `metadata.tenant_id`), the price looked up by its `lookup_key` and
        created only when absent. The session and the subscription it creates carry `request.metadata` plus
        `order_id` and `tenant_id`; `client_reference_id` is the order id. The order id is the idempotency
        key of every POST, so a retried checkout returns the same session instead of opening a second one.

        Raises `PaymentUnavailable` when Stripe cannot be reached and `Conflict` when the same order is
        checked out again with different parameters (another price or URL) within Stripe's 24 h key window.
        """
        client = self._client()
        metadata = {**request.metadata, "order_id": request.order_id, "tenant_id": request.tenant_id}
        with _translated("create the checkout session"):
            customer_ref = request.customer_ref
            if customer_ref is None:
                customer: CustomerCreateParams = {"metadata": {"tenant_id": request.tenant_id}}
                if request.customer_email:
                    customer["email"] = request.customer_email
                created = client.v1.customers.create(
                    customer, {"idempotency_key": f"cmp-customer-{request.order_id}"}
                )
                customer_ref = str(created.id)
            price_id = self._price_id(request.price)
            session = client.v1.checkout.sessions.create(
                {
                    "mode": "subscription",
                    "customer": customer_ref,
                    "client_reference_id": request.order_id,
                    "line_items": [{"price": price_id, "quantity": 1}],
                    "success_url": request.success_url,
                    "cancel_url": request.cancel_url,
                    "metadata": metadata,
                    "subscription_data": {"metadata": metadata},
                },
                {"idempotency_key": f"cmp-checkout-{request.order_id}"},
            )
        return _session(session.to_dict(), request.price.currency)

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        """The session's current state; raises `NotFound` for an id Stripe does not know."""
        with _translated(f"read checkout session {session_id}"):
            session = self._client().v1.checkout.sessions.retrieve(session_id)
        return _session(session.to_dict(), None)

    # ---- webhooks ----------------------------------------------------------------------------------------

    def parse_event(self, payload: bytes, signature_header: str | None) -> PaymentEvent:
        """Verify the `Stripe-Signature` header with `stripe.Webhook.construct_event` (HMAC-SHA256 of
        `{t}.{payload}` with the endpoint secret, default 300 s tolerance) and reduce the event
        (`cmp.commerce.stripe_events.reduce_event`).

        Raises `Unauthorized` for a missing, malformed, wrong or too old signature and `BadRequest` for a
        signed payload that is not a Stripe event (not UTF-8 JSON, or without id, type, created or object).
        """
        import stripe

        try:
            event = stripe.Webhook.construct_event(payload, signature_header, self._webhook_secret())
        except stripe.SignatureVerificationError as e:
            raise Unauthorized("the webhook signature does not match") from e
        except ValueError as e:
            raise BadRequest("the webhook payload is not a Stripe event") from e
        return reduce_event(event.to_dict())

    # ---- plan changes --------------------------------------------------------------------------------------

    def quote_change(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """Stripe's own figures for an upgrade at `at`: `invoices.create_preview` with the new price,
        `proration_date` = `at` and `proration_behavior=always_invoice` (the invoice the change would raise
        now). Negative lines sum to the credit, positive ones to the charge; when the interval changes the
        period is the new price's full line (Stripe resets the billing cycle anchor), otherwise the given one.

        Raises `ValueError` for a downgrade (`change_kind`: those wait for the period end) or prices in
        two currencies, `NotFound` for an unknown subscription, `PaymentUnavailable` when Stripe is out.
        """
        self._refuse_downgrade(current, new)
        client = self._client()
        with _translated(f"preview a change of {subscription_ref}"):
            item_id = self._item_id(subscription_ref)
            price_id = self._price_id(new)
            invoice = client.v1.invoices.create_preview(
                {
                    "subscription": subscription_ref,
                    "subscription_details": {
                        "items": [{"id": item_id, "price": price_id}],
                        "proration_date": _timestamp(at),
                        "proration_behavior": "always_invoice",
                    },
                }
            )
        lines = _lines(invoice.to_dict())
        period = (period_start, period_end)
        if current.billing_period != new.billing_period:
            period = _full_period(lines) or period
        return _quote(lines, new.currency, at, *period)

    def change_now(
        self,
        subscription_ref: str,
        current: Price,
        new: Price,
        period_start: datetime,
        period_end: datetime,
        at: datetime,
    ) -> ProrationQuote:
        """Move the subscription to `new` at once: `subscriptions.update` of its item with
        `proration_behavior=always_invoice`, `proration_date` = `at`, and
        `payment_behavior=pending_if_incomplete`, so Stripe applies the change only once its invoice is paid
        (docs "Pending updates"). Returns the credit and charge of that invoice and the period after the change.

        Raises `ValidationFailed` at `payment_method` when the payment is declined (the subscription keeps
        its plan), `ValueError` for a downgrade, `NotFound`, `PaymentUnavailable` as `quote_change`.
        """
        self._refuse_downgrade(current, new)
        client = self._client()
        with _translated(f"change {subscription_ref}"):
            item_id = self._item_id(subscription_ref)
            price_id = self._price_id(new)
            updated = client.v1.subscriptions.update(
                subscription_ref,
                {
                    "items": [{"id": item_id, "price": price_id}],
                    "proration_behavior": "always_invoice",
                    "proration_date": _timestamp(at),
                    "payment_behavior": "pending_if_incomplete",
                    "expand": ["latest_invoice"],
                },
                {"idempotency_key": f"cmp-change-{subscription_ref}-{new.lookup_key}-{_timestamp(at)}"},
            ).to_dict()
        if updated.get("pending_update"):
            raise ValidationFailed(
                "the payment for the plan change was declined; the subscription keeps its plan",
                errors=[FieldError("payment_method", "declined by the card issuer")],
            )
        invoice = updated.get("latest_invoice")
        if not isinstance(invoice, dict):
            raise PaymentUnavailable("Stripe did not return the invoice of the plan change")
        item = updated["items"]["data"][0]
        period = (from_timestamp(item["current_period_start"]), from_timestamp(item["current_period_end"]))
        return _quote(_lines(invoice), new.currency, at, *period)

    def schedule_change(self, subscription_ref: str, new: Price, effective: datetime) -> None:
        """Move the subscription to `new` from `effective` without proration: a subscription schedule made
        from the subscription (or its existing one) whose current phase ends at `effective`, followed by one
        period of `new`, then released, so the subscription goes on renewing at `new`. A second call replaces
        the pending phase. Raises `NotFound` and `PaymentUnavailable` as the other calls."""
        client = self._client()
        with _translated(f"schedule a change of {subscription_ref}"):
            subscription = client.v1.subscriptions.retrieve(subscription_ref).to_dict()
            schedule_id = object_id(subscription.get("schedule"))
            if schedule_id is None:
                schedule = client.v1.subscription_schedules.create(
                    {"from_subscription": subscription_ref},
                    {"idempotency_key": f"cmp-schedule-{subscription_ref}"},
                ).to_dict()
            else:
                schedule = client.v1.subscription_schedules.retrieve(schedule_id).to_dict()
            current = _current_phase(schedule)
            price_id = self._price_id(new)
            end = _timestamp(effective)
            client.v1.subscription_schedules.update(
                str(schedule["id"]),
                {
                    "end_behavior": "release",
                    "phases": [
                        {
                            "items": [
                                {
                                    "price": str(object_id(item["price"])),
                                    "quantity": item.get("quantity") or 1,
                                }
                                for item in current["items"]
                            ],
                            "start_date": current["start_date"],
                            "end_date": end,
                            "proration_behavior": "none",
                        },
                        {
                            "items": [{"price": price_id, "quantity": 1}],
                            "duration": {"interval": INTERVALS[new.billing_period], "interval_count": 1},
                            "proration_behavior": "none",
                        },
                    ],
                },
                {"idempotency_key": f"cmp-schedule-{subscription_ref}-{new.lookup_key}-{end}"},
            )

    def cancel(self, subscription_ref: str, at_period_end: bool) -> None:
        """Cancel at the period end (`cancel_at_period_end`, after releasing a pending schedule: Stripe
        refuses cancellation changes on a scheduled subscription) or at once (`subscriptions.cancel`,
        without a proration credit). Raises `NotFound` and `PaymentUnavailable` as the other calls."""
        client = self._client()
        with _translated(f"cancel {subscription_ref}"):
            if not at_period_end:
                client.v1.subscriptions.cancel(subscription_ref)
                return
            subscription = client.v1.subscriptions.retrieve(subscription_ref).to_dict()
            schedule_id = object_id(subscription.get("schedule"))
            if schedule_id is not None:
                client.v1.subscription_schedules.release(schedule_id)
            client.v1.subscriptions.update(
                subscription_ref,
                {"cancel_at_period_end": True},
                {"idempotency_key": f"cmp-cancel-{subscription_ref}"},
            )

    def charge_renewal(
        self, subscription_ref: str, price: Price, period_start: datetime, period_end: datetime
    ) -> PaymentEvent:
        """Never called: Stripe charges each period itself (`renews_itself` is True) and reports it with
        `invoice.paid`. Raises `RuntimeError` so a caller that ignores `renews_itself` cannot charge twice."""
        raise RuntimeError(
            f"Stripe renews {subscription_ref} itself (renews_itself is True); wait for its invoice.paid event"
        )

    # ---- helpers -----------------------------------------------------------------------------------------

    def _client(self) -> stripe.StripeClient:
        if self._stripe is None:
            import stripe

            self._stripe = stripe.StripeClient(
                self._api_key(),
                http_client=self._http_client,
                max_network_retries=self._max_network_retries,
            )
        return self._stripe

    def _price_id(self, price: Price) -> str:
        """The Stripe Price for `price`: found by `lookup_key`, else created (with its Product when that is
        missing) under an idempotency key made of the lookup key, so two concurrent checkouts create one."""
        client = self._client()
        found = client.v1.prices.list({"lookup_keys": [price.lookup_key], "limit": 1}).to_dict()["data"]
        if found and found[0].get("active"):
            return str(found[0]["id"])
        product_id = stripe_product_id(price.product_id)
        if not self._product_exists(product_id):
            client.v1.products.create(
                {"id": product_id, "name": price.product_name, "metadata": {"product_id": price.product_id}},
                {"idempotency_key": f"cmp-product-{price.product_id}"},
            )
        created = client.v1.prices.create(
            {
                "product": product_id,
                "currency": price.currency.lower(),
                "unit_amount": price.unit_amount,
                "recurring": {"interval": INTERVALS[price.billing_period], "interval_count": 1},
                "lookup_key": price.lookup_key,
                # an inactive price keeps its lookup key until a new price takes it over
                "transfer_lookup_key": bool(found),
                "nickname": price.plan_name,
                "metadata": {"product_id": price.product_id, "plan_id": price.plan_id},
            },
            {"idempotency_key": f"cmp-price-{price.lookup_key}"},
        )
        return str(created.id)

    def _product_exists(self, product_id: str) -> bool:
        import stripe

        try:
            self._client().v1.products.retrieve(product_id)
        except stripe.InvalidRequestError as e:
            if e.http_status == 404:
                return False
            raise
        return True

    def _item_id(self, subscription_ref: str) -> str:
        """The id of the subscription's one item (CMP subscriptions hold one price)."""
        subscription = self._client().v1.subscriptions.retrieve(subscription_ref).to_dict()
        return str(subscription["items"]["data"][0]["id"])

    @staticmethod
    def _refuse_downgrade(current: Price, new: Price) -> None:
        if change_kind(current, new) == "downgrade":
            raise ValueError(
                "a downgrade is scheduled for the period end (schedule_change), never charged now"
            )


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn the Stripe errors a call can raise into domain errors naming `action`."""
    import stripe

    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as e:
        raise PaymentUnavailable(f"Stripe could not be reached to {action}; try again") from e
    except (stripe.AuthenticationError, stripe.PermissionError) as e:
        raise PaymentUnavailable(f"Stripe refused our credentials to {action}") from e
    except stripe.IdempotencyError as e:
        raise Conflict(f"a request to {action} was already made with other parameters") from e
    except stripe.CardError as e:
        raise ValidationFailed(
            "the payment was declined", errors=[FieldError("payment_method", e.user_message or str(e.code))]
        ) from e
    except stripe.InvalidRequestError as e:
        if e.http_status == 404:
            raise NotFound(f"Stripe does not know the object needed to {action}") from e
        raise
    except stripe.APIError as e:
        raise PaymentUnavailable(f"Stripe failed to {action} (HTTP {e.http_status}); try again") from e


def _session(session: dict[str, Any], currency: str | None) -> CheckoutSession:
    return CheckoutSession(
        provider="stripe",
        session_id=str(session["id"]),
        status=session["status"],
        payment_status=session["payment_status"],
        url=session.get("url"),
        customer_ref=object_id(session.get("customer")),
        subscription_ref=object_id(session.get("subscription")),
        amount_total=session.get("amount_total") or 0,
        currency=str(session.get("currency") or currency or "").upper(),
        client_secret=session.get("client_secret"),
    )


def _lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    lines = invoice["lines"]
    if lines.get("has_more"):
        raise PaymentUnavailable("the plan change invoice has more lines than one subscription item can make")
    return list(lines["data"])


def _full_period(lines: list[dict[str, Any]]) -> tuple[datetime, datetime] | None:
    """The period of the invoice's full (non-proration) subscription line, if any."""
    full = [line for line in lines if not is_proration(line) and line["amount"] > 0]
    if not full:
        return None
    period = full[0]["period"]
    return from_timestamp(period["start"]), from_timestamp(period["end"])


def _quote(
    lines: list[dict[str, Any]], currency: str, at: datetime, period_start: datetime, period_end: datetime
) -> ProrationQuote:
    return ProrationQuote(
        currency=currency,
        credit=-sum(line["amount"] for line in lines if line["amount"] < 0),
        charge=sum(line["amount"] for line in lines if line["amount"] > 0),
        proration_date=from_timestamp(_timestamp(at)),
        period_start=period_start,
        period_end=period_end,
    )


def _current_phase(schedule: dict[str, Any]) -> dict[str, Any]:
    """The schedule's phase in force (the one starting at `current_phase.start_date`)."""
    started = (schedule.get("current_phase") or {}).get("start_date")
    for phase in schedule["phases"]:
        if phase["start_date"] == started:
            return cast(dict[str, Any], phase)
    return cast(dict[str, Any], schedule["phases"][0])


def _timestamp(value: datetime) -> int:
    """Whole seconds since the Unix epoch, as Stripe's timestamps count them."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return (value - _EPOCH) // timedelta(seconds=1)
