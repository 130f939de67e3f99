"""`analytics:read` against the real database, through the runtime authorizer function and the commerce
API's handler as API Gateway chains them: a key with the scope reads its own subscription's usage and
dashboard, a key without it is a 403 naming the scope, another subscription's key a 404, the owner's portal
token keeps working; a cancelled subscription's history stays readable while the same key still cannot
call the product; reading is not metered."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.authorization import READ_ONLY_ROUTES, is_read_only
from cmp.tenancy.credentials import ApiKeyRequest
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, api_event, unique_email

PRODUCT = capabilities(
    interfaces={"api": {"enabled": True}}, analytics={"usage": {"enabled": True, "metrics": ["messages"]}}
)
ROUTES = {
    "usage": "/v1/subscriptions/{subscription_id}/usage",
    "dashboard": "/v1/subscriptions/{subscription_id}/dashboard",
}
INVOKE = "/v1/runtime/{subscription_id}/context"


def call(
    platform: Platform, resource: str, subscription_id: object, headers: dict[str, str], function: str
) -> tuple[int, Any]:
    """GET `resource` for `subscription_id`: the runtime authorizer function first (its event carries the
    route, as API Gateway's does), then `function` with the context it passed on."""
    path = resource.replace("{subscription_id}", str(subscription_id))
    policy = platform.invoke(
        "RuntimeAuthorizerFunction",
        {
            "type": "REQUEST",
            "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:local/dev/GET{path}",
            "resource": resource,
            "path": path,
            "httpMethod": "GET",
            "headers": headers,
            "pathParameters": {"subscription_id": str(subscription_id)},
            "requestContext": {"resourcePath": resource, "stage": "dev"},
        },
    )
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    event = api_event("GET", path)
    event["requestContext"]["authorizer"] = {**policy["context"], "principalId": policy["principalId"]}
    event["resource"] = resource
    event["pathParameters"] = {"subscription_id": str(subscription_id)}
    response = platform.invoke(function, event)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def read(platform: Platform, name: str, subscription_id: object, headers: dict[str, str]) -> tuple[int, Any]:
    return call(platform, ROUTES[name], subscription_id, headers, "CommerceApiFunction")


def sign_up(platform: Platform, organization: str) -> dict[str, str]:
    """A buyer organization's owner, signed up through the auth API's services (the functions' signing key):
    `tenant_id`, `user_id` and the portal `token`."""
    tenancy = platform.function("AuthApiFunction").services.tenancy
    token = tenancy.signup(unique_email("analytics"), "Correct-Horse-42", organization, "buyer").access_token
    claims = tenancy.authenticate(token)
    return {"tenant_id": claims.tenant_id, "user_id": claims.user_id, "token": token}


@pytest.fixture
def buyer(platform: Platform) -> dict[str, str]:
    return sign_up(platform, "Analytics Buyer")


def key(services: Services, buyer: dict[str, str], subscription_id: uuid.UUID, *scopes: str) -> str:
    request = ApiKeyRequest("analytics", list(scopes))
    return services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription_id, request
    ).secret


def test_only_the_usage_and_dashboard_reads_are_read_only_routes() -> None:
    assert {("GET", route) for route in ROUTES.values()} == READ_ONLY_ROUTES
    assert is_read_only("get", ROUTES["usage"]) and is_read_only("GET", ROUTES["dashboard"])
    assert not is_read_only("POST", ROUTES["usage"])
    assert not is_read_only("GET", INVOKE) and not is_read_only(None, None)


def test_a_key_with_analytics_read_reads_its_own_subscription_only(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    mine = subscribe(db, buyer["tenant_id"], PRODUCT, plan=PRO_PLAN)
    other = subscribe(db, buyer["tenant_id"], PRODUCT, plan=PRO_PLAN, slug="other-agent")
    reader = {"X-Api-Key": key(services, buyer, mine.id, "analytics:read")}
    integration = platform.function("IntegrationApiFunction").services.integration  # its widget signing key
    token = integration.create_widget_token(
        buyer["tenant_id"], buyer["user_id"], mine.id, "Shop", ["https://shop.example.com"]
    )
    widget = {"Authorization": f"Bearer {token.value}"}
    for name in ROUTES:
        status, body = read(platform, name, mine.id, reader)
        assert status == 200, body
        assert body["subscription_id"] == str(mine.id)
        portal = read(platform, name, mine.id, {"Authorization": f"Bearer {buyer['token']}"})
        assert portal == (200, body)
        # another subscription of the same organization, and one that does not exist: 404, not 403
        for subscription in (other.id, uuid.uuid4()):
            status, body = read(platform, name, subscription, reader)
            assert (status, body["message"]) == (404, "subscription not found"), body
        status, body = read(platform, name, mine.id, {})
        assert (status, body["error"]) == (401, "credential_missing"), body
        assert "a widget token calls only the widget's own routes" in body["message"], body
        # a widget token can never read these: its missing scope is the refusal, whatever its Origin
        for origin in ({"Origin": "https://shop.example.com"}, {}, {"Origin": "https://evil.example.com"}):
            status, body = read(platform, name, mine.id, {**widget, **origin})
            assert (status, body["error"]) == (403, "forbidden"), body
            assert body["message"] == "this credential lacks the scope 'analytics:read'", body

    invoker = {"Authorization": f"Bearer {key(services, buyer, mine.id, 'invoke')}"}
    for name in ROUTES:
        status, body = read(platform, name, mine.id, invoker)
        assert status == 403, body
        assert "analytics:read" in body["message"], body


def test_another_organizations_key_and_portal_token_get_a_404(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    victim = subscribe(db, buyer["tenant_id"], PRODUCT, plan=PRO_PLAN)
    intruder = sign_up(platform, "Intruder")
    token = intruder["token"]
    own = subscribe(db, intruder["tenant_id"], PRODUCT, plan=PRO_PLAN)
    intruder_key = key(services, intruder, own.id, "analytics:read")
    for name in ROUTES:
        for headers in ({"X-Api-Key": intruder_key}, {"Authorization": f"Bearer {token}"}):
            status, body = read(platform, name, victim.id, headers)
            assert status == 404, body


def test_a_cancelled_subscriptions_history_stays_readable_but_its_key_cannot_call(
    platform: Platform,
    services: Services,
    db: Database,
    buyer: dict[str, str],
    owner_conn: psycopg.Connection[Any],
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], PRODUCT, plan=PRO_PLAN)
    secret = key(services, buyer, subscription.id, "invoke", "analytics:read")
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'cancelled' where id = %s", (subscription.id,))
    for headers in ({"X-Api-Key": secret}, {"Authorization": f"Bearer {buyer['token']}"}):
        for name in ROUTES:
            status, body = read(platform, name, subscription.id, headers)
            assert status == 200, body
        status, body = call(platform, INVOKE, subscription.id, headers, "RuntimeApiFunction")
        assert (status, body["error"]) == (403, "subscription_not_callable"), body
        assert "cancelled" in body["message"]
    # the read-only grant was not cached for the runtime routes: the next call is refused again
    status, body = call(platform, INVOKE, subscription.id, {"X-Api-Key": secret}, "RuntimeApiFunction")
    assert status == 403, body
    # reading is not a runtime call: no usage recorded and no rate-limit bucket of the key or subscription
    usage = owner_conn.execute(
        "select count(*) from usage_records where subscription_id = %s", (subscription.id,)
    ).fetchone()
    buckets = owner_conn.execute(
        "select count(*) from gateway_rate_buckets where bucket like %s", (f"%{subscription.id}%",)
    ).fetchone()
    assert usage is not None and buckets is not None
    assert (usage[0], buckets[0]) == (0, 0)
