"""The buyer's "Integrate" routes through the real handler, database and moto: API keys (secret once, stored
as SHA-256, masked after), widget tokens and the embed snippet, MCP details; every route refuses the signed
out, non-buyers, other organizations and other subscriptions, and never shows a secret twice."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, api_event, caller_of

FUNCTION = "IntegrationApiFunction"
SECRET = re.compile(r"^ar_sk_(live|test)_[0-9A-Za-z]{32}$")


def call(
    platform: Platform,
    method: str,
    path: str,
    who: dict[str, str] | None,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    host: str | None = None,
) -> tuple[int, Any]:
    event = api_event(method, path, body, who, query=query)
    if host:
        event["headers"]["host"] = host
    response = platform.invoke(FUNCTION, event)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def keys_path(subscription_id: object) -> str:
    return f"/v1/subscriptions/{subscription_id}/api-keys"


def tokens_path(subscription_id: object) -> str:
    return f"/v1/subscriptions/{subscription_id}/widget/tokens"


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Buyer Org", "buyer")


# ---------------------------------------------------------------------------------------------- API keys
def test_a_key_is_shown_once_stored_as_its_hash_and_listed_masked(
    platform: Platform, db: Database, buyer: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    status, created = call(
        platform,
        "POST",
        keys_path(subscription.id),
        buyer,
        {"name": "Production", "expires_at": expires.isoformat(), "rate_limit_per_minute": 120},
    )
    assert status == 201, created
    secret = created["secret"]
    assert SECRET.match(secret) and secret.startswith("ar_sk_live_")
    assert created["masked_key"] == f"ar_sk_live_****{secret[-3:]}"
    assert (created["scopes"], created["status"], created["rate_limit_per_minute"]) == (
        ["invoke"],
        "active",
        120,
    )
    assert datetime.fromisoformat(created["expires_at"]) == expires

    row = owner_conn.execute("select * from api_keys where id = %s", (created["id"],)).fetchone()
    assert row is not None
    assert hashlib.sha256(secret.encode()).hexdigest() in row
    assert all(secret not in str(value) and secret[11:] not in str(value) for value in row)

    status, listed = call(platform, "GET", keys_path(subscription.id), buyer)
    assert status == 200
    assert [k["masked_key"] for k in listed["items"]] == [created["masked_key"]]
    assert listed["items"][0]["last_used_at"] is None
    assert secret[11:] not in json.dumps(listed) and "secret" not in listed["items"][0]


def test_test_keys_and_scopes_the_product_offers(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    body = {
        "name": "Dev",
        "environment": "test",
        "scopes": ["invoke", "knowledge:read", "invoke", "analytics:read"],
    }
    status, created = call(platform, "POST", keys_path(subscription.id), buyer, body)
    assert status == 201, created
    assert created["secret"].startswith("ar_sk_test_") and created["environment"] == "test"
    assert created["scopes"] == ["invoke", "knowledge:read", "analytics:read"]


def test_a_scope_the_product_lacks_is_a_403_naming_the_capability(
    platform: Platform, db: Database, buyer: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    document = capabilities(
        configuration={"knowledge": {"enabled": False}, "rag": {"enabled": False}},
    )
    subscription = subscribe(db, buyer["tenant_id"], document)
    status, body = call(
        platform,
        "POST",
        keys_path(subscription.id),
        buyer,
        {"name": "Docs sync", "scopes": ["invoke", "knowledge:write", "workflows:manage"]},
    )
    assert status == 403, body
    assert body["errors"] == [
        {
            "path": "scopes[1]",
            "message": "'knowledge:write' needs configuration.knowledge.enabled or configuration.rag.enabled, "
            "which this product does not offer",
        },
        {
            "path": "scopes[2]",
            "message": "'workflows:manage' needs configuration.workflow.enabled, which this product does not offer",
        },
    ]
    assert owner_conn.execute(
        "select count(*) from api_keys where subscription_id = %s", (subscription.id,)
    ).fetchone() == (0,)


def test_bad_key_requests_are_422s_naming_the_field_and_the_plan_limit(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    path = keys_path(subscription.id)
    status, body = call(platform, "POST", path, buyer, {"name": "K", "scopes": ["invoke", "admin"]})
    assert status == 422 and body["errors"][0]["path"] == "scopes[1]", body
    status, body = call(platform, "POST", path, buyer, {"name": "K", "rate_limit_per_minute": 301})
    assert status == 422 and body["errors"] == [
        {
            "path": "rate_limit_per_minute",
            "message": "is 301 but the plan allows at most 300 requests per minute (plan.limits.rateLimitRpm)",
        }
    ]
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, body = call(platform, "POST", path, buyer, {"name": "K", "expires_at": past})
    assert status == 422 and body["errors"][0]["path"] == "expires_at", body
    status, body = call(platform, "POST", path, buyer, {"name": "K", "expires_at": 1900000000})
    assert status == 422 and body["errors"][0]["path"] == "expires_at", body
    status, body = call(platform, "POST", path, buyer, {"name": "K", "environment": "staging"})
    assert status == 422 and body["errors"][0]["path"] == "environment", body


def test_a_plan_without_a_rate_limit_caps_keys_at_the_products_runtime_limit(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    plan = {"id": "plan_ent", "name": "Enterprise", "tier": "enterprise", "limits": {"rateLimitRpm": None}}
    document = capabilities(runtime={"limits": {"rateLimit": 500}})
    subscription = subscribe(db, buyer["tenant_id"], document, plan=plan)
    status, body = call(
        platform, "POST", keys_path(subscription.id), buyer, {"name": "K", "rate_limit_per_minute": 501}
    )
    assert status == 422 and "(runtime.limits.rateLimit)" in body["errors"][0]["message"], body
    status, body = call(
        platform, "POST", keys_path(subscription.id), buyer, {"name": "K", "rate_limit_per_minute": 500}
    )
    assert status == 201, body


def test_an_ended_subscription_takes_no_new_credentials(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], status="cancelled")
    status, body = call(platform, "POST", keys_path(subscription.id), buyer, {"name": "K"})
    assert status == 409 and "cancelled" in body["message"], body
    status, body = call(
        platform, "POST", tokens_path(subscription.id), buyer, {"allowed_origins": ["https://a.example"]}
    )
    assert status == 409, body
    assert call(platform, "GET", keys_path(subscription.id), buyer) == (200, {"items": []})


def test_revoking_is_immediate_and_idempotent(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    _, created = call(platform, "POST", keys_path(subscription.id), buyer, {"name": "K"})
    one = f"{keys_path(subscription.id)}/{created['id']}"
    assert call(platform, "DELETE", one, buyer) == (204, None)
    assert call(platform, "DELETE", one, buyer) == (204, None)
    _, listed = call(platform, "GET", keys_path(subscription.id), buyer)
    assert listed["items"][0]["status"] == "revoked" and listed["items"][0]["revoked_at"]
    status, _ = call(platform, "DELETE", f"{keys_path(subscription.id)}/{subscription.id}", buyer)
    assert status == 404


# ---------------------------------------------------------------------------------------------- widget
def test_widget_tokens_bind_normalised_origins_and_embed_the_configured_widget(
    platform: Platform, db: Database, buyer: dict[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    document = capabilities(interfaces={"widget": {"enabled": True, "types": ["inline", "floating"]}})
    configuration = {
        "widget": {"type": "floating", "theme": "dark", "colors": {"primary": '#7c3aed"><script>'}}
    }
    subscription = subscribe(db, buyer["tenant_id"], document, configuration=configuration)
    origins = ["https://Shop.Example.com:443/", "https://shop.example.com", "http://localhost:3000"]
    status, created = call(
        platform, "POST", tokens_path(subscription.id), buyer, {"name": "Shop", "allowed_origins": origins}
    )
    assert status == 201, created
    assert created["allowed_origins"] == ["https://shop.example.com", "http://localhost:3000"]
    token = created["token"]
    assert token.startswith("ar_wt_") and created["masked_token"] == f"ar_wt_****{token[-3:]}"
    stored = owner_conn.execute(
        "select token_hash from widget_tokens where id = %s", (created["id"],)
    ).fetchone()
    assert stored == (hashlib.sha256(token.encode()).hexdigest(),)

    status, embed = call(
        platform,
        "GET",
        f"/v1/subscriptions/{subscription.id}/widget/embed",
        buyer,
        query={"token_id": created["id"]},
        host="api.test:8000",
    )
    assert status == 200, embed
    assert embed["script_url"] == "http://api.test:8000/v1/widget/chat.js"
    websocket = platform.function("IntegrationApiFunction").services.settings.websocket_url
    assert websocket.startswith("wss://") and websocket.endswith(
        ".amazonaws.com/" + websocket.rsplit("/", 1)[1]
    )
    assert embed["html"] == (
        f'<script src="http://api.test:8000/v1/widget/chat.js" data-token="{token}" '
        f'data-subscription="{subscription.id}" data-websocket="{websocket}" data-type="floating" data-theme="dark" '
        'data-colors-primary="#7c3aed&quot;&gt;&lt;script&gt;" async></script>'
    )
    assert embed["widget"] == configuration["widget"]

    status, listed = call(platform, "GET", tokens_path(subscription.id), buyer)
    assert status == 200 and token not in json.dumps(listed)
    assert call(platform, "DELETE", f"{tokens_path(subscription.id)}/{created['id']}", buyer) == (204, None)
    status, body = call(
        platform,
        "GET",
        f"/v1/subscriptions/{subscription.id}/widget/embed",
        buyer,
        query={"token_id": created["id"]},
    )
    assert status == 409 and "revoked" in body["message"], body


def test_without_a_configured_widget_the_snippet_carries_the_products_default_type(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    document = capabilities(interfaces={"widget": {"enabled": True, "types": ["popup", "inline"]}})
    subscription = subscribe(db, buyer["tenant_id"], document)
    _, created = call(
        platform, "POST", tokens_path(subscription.id), buyer, {"allowed_origins": ["https://a.example"]}
    )
    status, embed = call(
        platform,
        "GET",
        f"/v1/subscriptions/{subscription.id}/widget/embed",
        buyer,
        query={"token_id": created["id"]},
    )
    assert status == 200 and embed["widget"] == {"type": "popup"}
    assert 'data-type="popup" async></script>' in embed["html"]


def test_bad_origins_and_a_product_without_widget(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    path = tokens_path(subscription.id)
    bad = ["http://shop.example.com", "https://*.example.com", "https://a.example/path", "ftp://a.example"]
    status, body = call(platform, "POST", path, buyer, {"allowed_origins": bad})
    assert status == 422, body
    assert [e["path"] for e in body["errors"]] == [f"allowed_origins[{i}]" for i in range(4)]
    assert "must use https" in body["errors"][0]["message"]
    many = [f"https://site{i}.example" for i in range(21)]
    status, body = call(platform, "POST", path, buyer, {"allowed_origins": many})
    assert status == 422 and body["errors"][0]["path"] == "allowed_origins", body

    no_widget = subscribe(db, buyer["tenant_id"], capabilities(interfaces={"widget": {"enabled": False}}))
    status, body = call(
        platform, "POST", tokens_path(no_widget.id), buyer, {"allowed_origins": ["https://a.example"]}
    )
    assert status == 403 and body["errors"] == [
        {"path": "interfaces.widget.enabled", "message": "is disabled for this product"}
    ]


# ---------------------------------------------------------------------------------------------- MCP
def test_mcp_details_for_a_product_that_speaks_mcp(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], slug="acme-support-agent")
    _, invoking = call(platform, "POST", keys_path(subscription.id), buyer, {"name": "MCP"})
    call(platform, "POST", keys_path(subscription.id), buyer, {"name": "Stats", "scopes": ["analytics:read"]})
    status, mcp = call(platform, "GET", f"/v1/subscriptions/{subscription.id}/mcp", buyer, host="api.test")
    assert status == 200, mcp
    endpoint = f"http://api.test/v1/mcp/{subscription.id}"
    assert (mcp["endpoint"], mcp["transport"]) == (endpoint, "streamable-http")
    assert mcp["auth"] == {"header": "Authorization", "value": "Bearer <your API key>", "scope": "invoke"}
    assert mcp["api_keys"] == [{"id": invoking["id"], "name": "MCP", "masked_key": invoking["masked_key"]}]
    assert mcp["client_config"] == {
        "mcpServers": {
            "acme-support-agent": {
                "type": "http",
                "url": endpoint,
                "headers": {"Authorization": "Bearer <your API key>"},
            }
        }
    }
    assert invoking["secret"][11:] not in json.dumps(mcp)

    rest_only = subscribe(db, buyer["tenant_id"], capabilities(interfaces={"api": {"protocols": ["rest"]}}))
    status, body = call(platform, "GET", f"/v1/subscriptions/{rest_only.id}/mcp", buyer)
    assert status == 403 and body["errors"][0]["path"] == "interfaces.api.protocols", body


# ---------------------------------------------------------------------------------------------- who may call
def _routes(subscription_id: object, key_id: object, token_id: object) -> list[tuple[str, str, Any, Any]]:
    one = f"/v1/subscriptions/{subscription_id}"
    return [
        ("POST", f"{one}/api-keys", {"name": "K"}, None),
        ("GET", f"{one}/api-keys", None, None),
        ("DELETE", f"{one}/api-keys/{key_id}", None, None),
        ("POST", f"{one}/widget/tokens", {"allowed_origins": ["https://a.example"]}, None),
        ("GET", f"{one}/widget/tokens", None, None),
        ("DELETE", f"{one}/widget/tokens/{token_id}", None, None),
        ("GET", f"{one}/widget/embed", None, {"token_id": str(token_id)}),
        ("GET", f"{one}/mcp", None, None),
    ]


def test_every_route_refuses_other_organizations_non_buyers_and_the_signed_out(
    platform: Platform,
    db: Database,
    services: Services,
    buyer: dict[str, str],
    owner_conn: psycopg.Connection[Any],
) -> None:
    subscription = subscribe(db, buyer["tenant_id"])
    _, key = call(platform, "POST", keys_path(subscription.id), buyer, {"name": "K"})
    _, token = call(
        platform, "POST", tokens_path(subscription.id), buyer, {"allowed_origins": ["https://a.example"]}
    )
    other_buyer = caller_of(services, "Other Buyer", "buyer")
    subscribe(db, other_buyer["tenant_id"])  # the intruder holds subscriptions of its own
    seller_only = caller_of(services, "Seller Only", "seller")
    for method, path, body, query in _routes(subscription.id, key["id"], token["id"]):
        status, answer = call(platform, method, path, other_buyer, body, query=query)
        assert status == 404 and answer["error"] == "not_found", (method, path, answer)
        assert str(subscription.id) not in json.dumps(answer) and key["masked_key"] not in json.dumps(answer)
        assert call(platform, method, path, seller_only, body, query=query)[0] == 403, (method, path)
        assert call(platform, method, path, None, body, query=query)[0] == 401, (method, path)
    counts = owner_conn.execute(
        "select (select count(*) from api_keys where subscription_id = %(s)s and revoked_at is null),"
        " (select count(*) from widget_tokens where subscription_id = %(s)s and revoked_at is null)",
        {"s": subscription.id},
    ).fetchone()
    assert counts == (1, 1)


def test_a_credential_of_another_subscription_is_a_404_under_this_one(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    first = subscribe(db, buyer["tenant_id"])
    second = subscribe(db, buyer["tenant_id"])
    _, key = call(platform, "POST", keys_path(first.id), buyer, {"name": "K"})
    _, token = call(
        platform, "POST", tokens_path(first.id), buyer, {"allowed_origins": ["https://a.example"]}
    )
    for method, path, body, query in _routes(second.id, key["id"], token["id"]):
        if method == "DELETE" or "embed" in path:
            status, answer = call(platform, method, path, buyer, body, query=query)
            assert status == 404 and key["masked_key"] not in json.dumps(answer), (method, path, answer)
    _, listed = call(platform, "GET", keys_path(second.id), buyer)
    assert listed == {"items": []}
    _, still = call(platform, "GET", keys_path(first.id), buyer)
    assert still["items"][0]["status"] == "active"


def test_a_create_call_logs_nothing_of_the_secret(
    platform: Platform, db: Database, buyer: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The function's Powertools logger (its JSON lines, read from its own handler) and every other logger
    (botocore, psycopg, Powertools' resolver) at DEBUG, the most they can ever say, while a key is created."""
    module = platform.function(FUNCTION)
    lines = io.StringIO()
    handler = module.logger.registered_handler
    previous = handler.setStream(lines)
    module.logger.setLevel("DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        subscription = subscribe(db, buyer["tenant_id"])
        caplog.clear()
        status, created = call(platform, "POST", keys_path(subscription.id), buyer, {"name": "Logged?"})
        module.logger.info("probe: the capture sees this function's log lines")
    finally:
        handler.setStream(previous)
    assert status == 201
    assert "probe: the capture sees" in lines.getvalue() and caplog.records
    secret = created["secret"]
    for text in (lines.getvalue(), caplog.text):
        assert secret[11:] not in text and secret[-12:] not in text
