"""The Stripe adapter against Stripe's HTTP boundary: the requests it makes (method, path, form parameters,
idempotency keys), how it reads recorded response shapes, how vendor errors become domain errors, and real
webhook signatures."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe

from cmp.commerce.payment_model import CheckoutRequest, Price
from cmp.commerce.ports import PaymentProvider
from cmp.commerce.stripe_payments import StripePayments
from cmp.errors import BadRequest, Conflict, NotFound, PaymentUnavailable, Unauthorized
from tests.unit.commerce.stripe_http import SECRET, RecordedStripe, fixture, signature

TENANT = "0b0c0d0e-0000-4000-8000-000000000001"
ORDER = "5f1e2d3c-0000-4000-8000-0000000000a1"
PRODUCT = "7a7a7a7a-0000-4000-8000-000000000001"
CUSTOMER = "cus_RkT3pXw9bQ2mZa"
SUB = "sub_1QkU2hB7WZ01zgkWv4Ns8Dq1"
STARTER_PRICE = "price_1QkT4wB7WZ01zgkW8sLx2fRt"

STARTER = Price(PRODUCT, "Support Agent", "starter", "Starter", "monthly", "USD", 2900)


def utc(*parts: int) -> datetime:
    year, month, day, *rest = parts
    return datetime(year, month, day, *rest, tzinfo=UTC)


def checkout_request(customer_ref: str | None = None) -> CheckoutRequest:
    return CheckoutRequest(
        order_id=ORDER,
        tenant_id=TENANT,
        customer_email="buyer@example.com",
        customer_ref=customer_ref,
        price=STARTER,
        success_url="https://portal.example.com/checkout/done?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://portal.example.com/checkout/cancel",
        metadata={"plan_id": "starter", "order_id": "spoofed"},
    )


@pytest.fixture
def http() -> RecordedStripe:
    return RecordedStripe()


@pytest.fixture
def payments(http: RecordedStripe) -> StripePayments:
    return StripePayments(lambda: "sk_test_51Kx", lambda: SECRET, http_client=http, max_network_retries=0)


# ---- shape -------------------------------------------------------------------------------------------------


def test_is_a_payment_provider_that_renews_itself(payments: StripePayments) -> None:
    provider: PaymentProvider = payments
    assert (provider.name, provider.renews_itself) == ("stripe", True)
    with pytest.raises(RuntimeError, match="renews_itself is True"):
        provider.charge_renewal(SUB, STARTER, utc(2025, 2, 1), utc(2025, 3, 1))


def test_importing_the_adapter_does_not_import_stripe() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared"
    code = (
        f"import sys; sys.path.insert(0, {str(shared)!r}); import cmp.commerce.stripe_payments; "
        "print('stripe' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_keys_are_read_on_first_use_only(http: RecordedStripe) -> None:
    reads: list[str] = []

    def key() -> str:
        reads.append("key")
        return "sk_test_51Kx"

    adapter = StripePayments(key, lambda: SECRET, http_client=http, max_network_retries=0)
    assert reads == []
    for _ in range(2):
        http.expect("GET", "/v1/checkout/sessions/cs_1", "checkout_session_complete")
        adapter.retrieve_checkout("cs_1")
    assert reads == ["key"]
    assert http.sent[0].headers["Authorization"] == "Bearer sk_test_51Kx"


# ---- checkout ----------------------------------------------------------------------------------------------


def test_checkout_creates_customer_product_price_and_session(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("POST", "/v1/customers", "customer")
    http.expect("GET", "/v1/prices", "prices_empty")
    http.expect("GET", f"/v1/products/cmp_{PRODUCT}", "error_no_such_product", status=404)
    http.expect("POST", "/v1/products", "product")
    http.expect("POST", "/v1/prices", "price_starter")
    http.expect("POST", "/v1/checkout/sessions", "checkout_session_open")

    session = payments.create_checkout(checkout_request())

    http.done()
    customer, lookup, product_get, product, price, created = http.sent
    assert customer.form == {"metadata[tenant_id]": TENANT, "email": "buyer@example.com"}
    assert customer.idempotency_key == f"cmp-customer-{ORDER}"
    assert lookup.form == {"lookup_keys[0]": STARTER.lookup_key, "limit": "1"}
    assert product_get.method == "GET"
    assert product.form == {"id": f"cmp_{PRODUCT}", "name": "Support Agent", "metadata[product_id]": PRODUCT}
    assert product.idempotency_key == f"cmp-product-{PRODUCT}"
    assert price.form == {
        "product": f"cmp_{PRODUCT}",
        "currency": "usd",
        "unit_amount": "2900",
        "recurring[interval]": "month",
        "recurring[interval_count]": "1",
        "lookup_key": f"cmp:{PRODUCT}:starter:monthly:USD:2900",
        "transfer_lookup_key": "false",
        "nickname": "Starter",
        "metadata[product_id]": PRODUCT,
        "metadata[plan_id]": "starter",
    }
    assert price.idempotency_key == f"cmp-price-{STARTER.lookup_key}"
    assert created.form == {
        "mode": "subscription",
        "customer": CUSTOMER,
        "client_reference_id": ORDER,
        "line_items[0][price]": STARTER_PRICE,
        "line_items[0][quantity]": "1",
        "success_url": "https://portal.example.com/checkout/done?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://portal.example.com/checkout/cancel",
        # the order's own ids win over a caller's metadata of the same name
        "metadata[plan_id]": "starter",
        "metadata[order_id]": ORDER,
        "metadata[tenant_id]": TENANT,
        "subscription_data[metadata][plan_id]": "starter",
        "subscription_data[metadata][order_id]": ORDER,
        "subscription_data[metadata][tenant_id]": TENANT,
    }
    assert created.idempotency_key == f"cmp-checkout-{ORDER}"
    assert session.provider == "stripe"
    assert session.session_id == "cs_test_a1Vq8pGXzL2m4eKJcR7tY9wB3nD6fH0sQ5uE1iO"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.url is not None and session.url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert (session.customer_ref, session.subscription_ref) == (CUSTOMER, None)
    assert (session.amount_total, session.currency) == (2900, "USD")


def test_checkout_reuses_the_customer_and_the_price(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("GET", "/v1/prices", "prices_starter")
    http.expect("POST", "/v1/checkout/sessions", "checkout_session_open")

    payments.create_checkout(checkout_request(customer_ref=CUSTOMER))

    http.done()
    assert [s.path for s in http.sent] == ["/v1/prices", "/v1/checkout/sessions"]
    assert http.sent[1].form["customer"] == CUSTOMER
    assert http.sent[1].form["line_items[0][price]"] == STARTER_PRICE


def test_an_archived_price_is_replaced_and_hands_over_its_lookup_key(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", "/v1/prices", "prices_starter_inactive")
    http.expect("GET", f"/v1/products/cmp_{PRODUCT}", "product")
    http.expect("POST", "/v1/prices", "price_starter")
    http.expect("POST", "/v1/checkout/sessions", "checkout_session_open")

    payments.create_checkout(checkout_request(customer_ref=CUSTOMER))

    http.done()
    assert http.sent[2].form["transfer_lookup_key"] == "true"
    assert [s.method for s in http.sent] == ["GET", "GET", "POST", "POST"]  # the product exists: not created


def test_a_retried_checkout_sends_the_same_idempotent_requests(http: RecordedStripe) -> None:
    """Stripe replays the first answer for a key it has seen with the same parameters, so a retry after a
    lost response cannot open a second session or create a second customer."""
    for _ in range(2):
        http.expect("POST", "/v1/customers", "customer")
        http.expect("GET", "/v1/prices", "prices_starter")
        http.expect("POST", "/v1/checkout/sessions", "checkout_session_open")
    first = StripePayments(lambda: "sk_test_51Kx", lambda: SECRET, http_client=http, max_network_retries=0)
    second = StripePayments(lambda: "sk_test_51Kx", lambda: SECRET, http_client=http, max_network_retries=0)

    assert first.create_checkout(checkout_request()) == second.create_checkout(checkout_request())

    once, again = http.sent[:3], http.sent[3:]
    assert [(s.path, s.params, s.idempotency_key) for s in once] == [
        (s.path, s.params, s.idempotency_key) for s in again
    ]
    assert once[0].idempotency_key == f"cmp-customer-{ORDER}"
    assert once[2].idempotency_key == f"cmp-checkout-{ORDER}"


def test_an_order_checked_out_again_with_other_parameters_is_a_conflict(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", "/v1/prices", "prices_starter")
    http.expect("POST", "/v1/checkout/sessions", "error_idempotency", status=400)
    with pytest.raises(Conflict) as caught:
        payments.create_checkout(checkout_request(customer_ref=CUSTOMER))
    assert isinstance(caught.value.__cause__, stripe.IdempotencyError)


def test_retrieve_checkout_reads_a_completed_session(payments: StripePayments, http: RecordedStripe) -> None:
    http.expect("GET", "/v1/checkout/sessions/cs_test_a1Vq8", "checkout_session_complete")
    session = payments.retrieve_checkout("cs_test_a1Vq8")
    assert (session.status, session.payment_status, session.url) == ("complete", "paid", None)
    assert (session.subscription_ref, session.customer_ref) == (SUB, CUSTOMER)


def test_retrieve_checkout_of_an_unknown_session_is_not_found(
    payments: StripePayments, http: RecordedStripe
) -> None:
    http.expect("GET", "/v1/checkout/sessions/cs_test_missing", "error_no_such_session", status=404)
    with pytest.raises(NotFound):
        payments.retrieve_checkout("cs_test_missing")


# ---- vendor errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (429, "error_rate_limit", stripe.RateLimitError),
        (500, "error_api", stripe.APIError),
        (503, "error_api", stripe.APIError),
        (401, "error_authentication", stripe.AuthenticationError),
    ],
)
def test_stripe_out_of_service_is_payment_unavailable(
    payments: StripePayments, http: RecordedStripe, status: int, body: str, cause: type[Exception]
) -> None:
    http.expect("GET", "/v1/checkout/sessions/cs_1", body, status=status)
    with pytest.raises(PaymentUnavailable) as caught:
        payments.retrieve_checkout("cs_1")
    assert type(caught.value.__cause__) is cause
    assert caught.value.status == 503


def test_a_connection_error_is_payment_unavailable(payments: StripePayments, http: RecordedStripe) -> None:
    http.fail("GET", "/v1/prices", stripe.APIConnectionError("connection reset by peer"))
    with pytest.raises(PaymentUnavailable, match="could not be reached") as caught:
        payments.create_checkout(checkout_request(customer_ref=CUSTOMER))
    assert isinstance(caught.value.__cause__, stripe.APIConnectionError)


def test_a_5xx_is_retried_with_the_same_idempotency_key(
    http: RecordedStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe.HTTPClient, "_sleep_time_seconds", lambda self, retries: 0)
    adapter = StripePayments(lambda: "sk_test_51Kx", lambda: SECRET, http_client=http, max_network_retries=1)
    http.expect("GET", "/v1/prices", "prices_starter")
    http.expect("POST", "/v1/checkout/sessions", "error_api", status=503)
    http.expect("POST", "/v1/checkout/sessions", "checkout_session_open")

    assert adapter.create_checkout(checkout_request(customer_ref=CUSTOMER)).status == "open"

    first, retry = http.sent[1], http.sent[2]
    assert first.idempotency_key == retry.idempotency_key == f"cmp-checkout-{ORDER}"
    assert first.params == retry.params


# ---- webhooks: real signatures -------------------------------------------------------------------------


def payload(name: str) -> bytes:
    return json.dumps(fixture(f"events/{name}")).encode()


def test_a_good_signature_is_accepted(payments: StripePayments) -> None:
    body = payload("checkout.session.completed")
    event = payments.parse_event(body, signature(body))
    assert (event.event_id, event.kind) == ("evt_1QkU2iB7WZ01zgkWsessionOk", "checkout.completed")


def test_a_signature_among_several_is_enough(payments: StripePayments) -> None:
    """During a secret roll Stripe signs with both secrets: `t=…,v1=<old>,v1=<new>`."""
    body = payload("checkout.session.completed")
    now = int(time.time())
    old = signature(body, "whsec_old_secret", now).split(",")[1]
    assert payments.parse_event(body, f"{signature(body, timestamp=now)},{old}").kind == "checkout.completed"
    assert payments.parse_event(body, f"t={now},{old},{signature(body, timestamp=now).split(',')[1]}").kind


@pytest.mark.parametrize(
    "case",
    ["tampered", "wrong secret", "too old", "missing", "malformed", "other scheme", "timestamp swapped"],
)
def test_a_bad_signature_is_unauthorized(payments: StripePayments, case: str) -> None:
    body = payload("checkout.session.completed")
    now = int(time.time())
    header: str | None
    if case == "tampered":
        header = signature(body)
        body = body.replace(b'"amount_total": 2900', b'"amount_total": 1')
    elif case == "wrong secret":
        header = signature(body, "whsec_someone_else")
    elif case == "too old":
        header = signature(body, timestamp=now - 301)
    elif case == "missing":
        header = None
    elif case == "malformed":
        header = "v1=abc"
    elif case == "other scheme":
        header = signature(body).replace("v1=", "v0=")
    else:  # a valid signature of another timestamp does not sign this one
        header = f"t={now},{signature(body, timestamp=now - 10).split(',')[1]}"
    with pytest.raises(Unauthorized):
        payments.parse_event(body, header)


def test_a_signature_within_the_tolerance_is_accepted(payments: StripePayments) -> None:
    body = payload("checkout.session.completed")
    assert (
        payments.parse_event(body, signature(body, timestamp=int(time.time()) - 290)).kind
        == "checkout.completed"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        json.dumps(fixture("responses/customer")).encode(),  # an object, not an event
        json.dumps(
            {"object": "event", "id": "evt_1", "type": "invoice.paid", "created": 1}
        ).encode(),  # no data
        json.dumps(
            {"id": "evt_x", "object": "v2.core.event", "type": "v1.billing.meter.no_meter_found"}
        ).encode(),
        b"\xff\xfe\x00",
    ],
)
def test_a_signed_payload_that_is_not_an_event_is_a_bad_request(
    payments: StripePayments, body: bytes
) -> None:
    header = signature(body) if body != b"\xff\xfe\x00" else "t=1,v1=00"
    with pytest.raises(BadRequest):
        payments.parse_event(body, header)


def test_a_redelivered_event_reduces_to_the_same_event(payments: StripePayments) -> None:
    """Stripe re-signs each delivery (a new `t=`); the event id is what makes a duplicate a duplicate."""
    body = payload("invoice.paid")
    first = payments.parse_event(body, signature(body, timestamp=int(time.time()) - 200))
    again = payments.parse_event(body, signature(body))
    assert first == again
    assert first.event_id == "evt_1QkX0bB7WZ01zgkWinvoicePaid"
