"""`POST /v1/payments/webhooks/{provider}` through the webhook function: the signature over the raw body is
verified, replays and duplicates answer 200 without effect, bad input is a 400/401, and a well-signed event
about an order we do not know is a 200 with applied false, never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from .commerce_support import buy, new_tenant, plan, publish
from .conftest import Platform, api_event, caller_of

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
