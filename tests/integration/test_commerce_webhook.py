"""`POST /v1/payments/webhooks/{provider}` through the webhook function: the signature over the raw body is
verified, replays and duplicates answer 200 without effect, bad input is a 400/401, and a well-signed event
about an order we do not know is a 200 with applied false, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import bootstrap
from cmp.commerce.checkout import CheckoutInput, CheckoutService, CheckoutUrls
from cmp.commerce.payment_model import CheckoutRequest, CheckoutSession
from cmp.config import Settings
from cmp.db import Database
from cmp.errors import NotFound, Unauthorized

from .commerce_support import buy, new_tenant, plan, publish
from .conftest import FAST_HASHER, REPO, Platform, api_event, caller_of

WEBHOOK = "/v1/payments/webhooks/local"


def post(platform: Platform, payload: bytes, signature: str | None, path: str = WEBHOOK) -> tuple[int, Any]:
    event = api_event("POST", path, raw_body=payload.decode("utf-8", "surrogateescape"))
    if signature is not None:
        event["headers"]["Stripe-Signature"] = signature
    response = platform.invoke("PaymentsWebhookFunction", event)
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def provider(platform: Platform) -> Any:
    return platform.function("PaymentsWebhookFunction").services.payments


@pytest.fixture
def bought(platform: Platform, owner_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    services = platform.function("CommerceApiFunction").services
    offer = publish(services.db, new_tenant(services.db), [plan("Starter", "starter", "10.00")])
    buyer = caller_of(platform.function("AuthApiFunction").services, "Webhook Buyer", "buyer")
    status, order = buy(platform, buyer, offer)
    assert status == 201 and order["status"] == "active", order
    [event] = owner_conn.execute(
        "select id from local_payment_objects where kind = 'event' and data #>> '{data,object,metadata,order_id}' = %s",
        (order["order_id"],),
    ).fetchall()
    return {"order": order, "buyer": buyer, "event_id": event[0]}


def test_a_replayed_event_is_verified_and_answered_without_effect(
    platform: Platform, provider: Any, bought: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    payload = provider.event_payload(bought["event_id"])
    for _ in range(2):
        status, body = post(platform, payload, provider.sign(payload))
        assert (status, body) == (200, {"received": True, "applied": False, "outcome": "duplicate"})
    count = owner_conn.execute(
        "select count(*) from subscriptions where tenant_id = %s", (bought["buyer"]["tenant_id"],)
    ).fetchone()
    assert count is not None and count[0] == 1


def test_a_delivered_event_is_applied(platform: Platform, provider: Any, bought: dict[str, Any]) -> None:
    stored = json.loads(provider.event_payload(bought["event_id"]))
    sub = stored["data"]["object"]["subscription"]
    deleted = {
        "id": f"evt_local_{uuid.uuid4().hex}",
        "object": "event",
        "type": "customer.subscription.deleted",
        "created": stored["created"] + 60,
        "data": {"object": {**sub, "status": "canceled"}},
    }
    payload = json.dumps(deleted).encode()
    status, body = post(platform, payload, provider.sign(payload))
    assert (status, body) == (200, {"received": True, "applied": True, "outcome": "applied"})
    status, again = post(platform, payload, provider.sign(payload))
    assert (status, again["applied"], again["outcome"]) == (200, False, "duplicate")


def test_bad_signatures_are_401_and_bad_payloads_400(
    platform: Platform, provider: Any, bought: dict[str, Any]
) -> None:
    payload = provider.event_payload(bought["event_id"])
    for signature in (None, "", "t=1,v1=abc", provider.sign(payload).replace("v1=", "v1=f")):
        status, body = post(platform, payload, signature)
        assert (status, body["error"]) == (401, "unauthorized"), signature
    tampered = payload.replace(b"checkout.session.completed", b"checkout.session.expired")
    assert post(platform, tampered, provider.sign(payload))[0] == 401
    for junk in (b"not json", b"[1, 2]", b'{"object": "event"}', b"\xff\xfe"):
        status, body = post(
            platform,
            junk.decode("utf-8", "surrogateescape").encode("utf-8", "surrogateescape"),
            provider.sign(junk),
        )
        assert status == 400, (junk, body)
    status, body = post(platform, payload, provider.sign(payload), "/v1/payments/webhooks/paypal")
    assert (status, body["error"]) == (404, "not_found")


def test_a_well_signed_event_about_an_unknown_order_is_a_200_not_applied(
    platform: Platform, provider: Any, bought: dict[str, Any]
) -> None:
    stored = json.loads(provider.event_payload(bought["event_id"]))
    for metadata in (
        {"order_id": str(uuid.uuid4()), "tenant_id": bought["buyer"]["tenant_id"]},
        {"order_id": str(uuid.uuid4()), "tenant_id": str(uuid.uuid4())},
        {"order_id": "nonsense", "tenant_id": "nonsense"},
        {},
    ):
        session = {
            **stored["data"]["object"],
            "id": "cs_local_unknown",
            "metadata": metadata,
            "subscription": None,
        }
        event = {**stored, "id": f"evt_local_{uuid.uuid4().hex}", "data": {"object": session}}
        payload = json.dumps(event).encode()
        status, body = post(platform, payload, provider.sign(payload))
        assert (status, body) == (200, {"received": True, "applied": False, "outcome": "unknown"}), metadata


class _OpenStripeCheckout:
    """Stripe's side of a checkout as the commerce service sees it: an open session with its hosted page
    (the adapter itself is tested at Stripe's HTTP boundary with recorded shapes)."""

    name = "stripe"
    renews_itself = True

    def create_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        return CheckoutSession(
            provider="stripe",
            session_id=f"cs_test_{uuid.uuid4().hex}",
            status="open",
            payment_status="unpaid",
            url="https://checkout.stripe.com/c/pay/cs_test_x",
            customer_ref="cus_test_1",
            subscription_ref=None,
            amount_total=request.price.unit_amount,
            currency=request.price.currency,
        )


def test_a_stripe_checkout_waits_for_its_signed_webhook(
    db: Database, aws: None, fresh_outbox: None, owner_conn: psycopg.Connection[Any]
) -> None:
    secret = "whsec_test_" + uuid.uuid4().hex
    arn = client("secretsmanager").create_secret(Name=f"stripe-{uuid.uuid4().hex}", SecretString=secret)[
        "ARN"
    ]
    settings = Settings(
        payment_provider="stripe",
        stripe_webhook_secret_arn=arn,
        jwt_issuer="https://auth.test",
        jwt_audience="t",
    )
    services = bootstrap(
        settings, db=db, hasher=FAST_HASHER, jwt_secret=lambda: "test-signing-secret-" + "x" * 32
    )
    offer = publish(db, new_tenant(db), [plan("Starter", "starter", "29.00")])
    buyer = caller_of(services, "Stripe Buyer", "buyer")
    checkout = CheckoutService(
        services.unit_of_work,
        _OpenStripeCheckout,
        CheckoutUrls("https://p/ok", "https://p/no"),
        services.clock,
        services.ids,
    )
    order_id = checkout.checkout(
        buyer["tenant_id"], buyer["user_id"], CheckoutInput(offer["slug"], offer["plans"][0]["id"], "monthly")
    )
    order = services.commerce_views.order(buyer["tenant_id"], order_id)
    assert (order["status"], order["payment"]["url"]) == (
        "pending",
        "https://checkout.stripe.com/c/pay/cs_test_x",
    )

    event = json.loads((REPO / "tests/fixtures/stripe/events/checkout.session.completed.json").read_text())
    session = event["data"]["object"]
    session.update(
        id=order["payment"]["checkout_session_id"],
        metadata={"order_id": str(order_id), "tenant_id": buyer["tenant_id"]},
        client_reference_id=str(order_id),
    )
    event["created"] = int(time.time())
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    signature = f"t={timestamp},v1={digest}"

    assert services.webhooks.receive("stripe", payload, signature).applied
    order = services.commerce_views.order(buyer["tenant_id"], order_id)
    assert order["status"] == "active" and order["subscription_id"]
    assert not services.webhooks.receive("stripe", payload, signature).applied
    with pytest.raises(Unauthorized):
        services.webhooks.receive("stripe", payload, signature.replace("v1=", "v1=0"))
    with pytest.raises(NotFound):
        services.webhooks.receive("local", payload, signature)
