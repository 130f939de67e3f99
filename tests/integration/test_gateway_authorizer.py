"""The runtime authorizer against the real database: each credential kind, expired, revoked, wrong origin,
another tenant's subscription, the warm cache's revocation bound, and the function's API Gateway answers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.errors import Forbidden, NotFound, Unauthorized
from cmp.gateway.authorization import RuntimeAuthorizer
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import Refused
from cmp.tenancy.credentials import SCOPES, ApiKeyRequest
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, caller_of, unique_email

WIDGET_KEY = "integration-test-widget-key"
SHOP = "https://shop.example.com"


@pytest.fixture
def wired(services: Services) -> Services:
    services.widget_token_key = lambda: WIDGET_KEY
    return services


def _product(**overrides: Any) -> dict[str, Any]:
    return capabilities(
        interfaces={"api": {"enabled": True}, "widget": {"enabled": True}},
        **overrides,
    )


def _buyer_with_token(services: Services) -> tuple[dict[str, str], str]:
    email = unique_email("runtime-buyer")
    token = services.tenancy.signup(email, "Correct-Horse-42", "Runtime Buyer", "buyer").access_token
    claims = services.tenancy.authenticate(token)
    return {"tenant_id": claims.tenant_id, "user_id": claims.user_id}, token


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


def test_an_api_key_gives_its_subscription_context_and_scopes(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Key Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k", ["invoke"])
    )
    ctx = wired.runtime_authorizer.authorize(issued.secret, None, None)
    assert ctx == RuntimeContext(
        principal="api_key",
        tenant_id=uuid.UUID(buyer["tenant_id"]),
        subscription_id=subscription.id,
        product_id=subscription.product_id,
        plan_id="plan_pro",
        runtime="shared",
        key_id=issued.key.id,
        scopes=("invoke",),
    )
    assert RuntimeContext.from_authorizer(ctx.to_authorizer()) == ctx
    ctx.require_scope("invoke")
    with pytest.raises(Forbidden, match="knowledge:write"):
        ctx.require_scope("knowledge:write")
    with pytest.raises(NotFound):
        ctx.require_subscription(uuid.uuid4())
    assert wired.runtime_authorizer.authorize(issued.secret, None, str(subscription.id).upper()) == ctx
    for path in (str(uuid.uuid4()), "not-a-uuid"):  # the path names another subscription: 404, not 403
        with pytest.raises(NotFound, match="subscription not found"):
            wired.runtime_authorizer.authorize(issued.secret, None, path)


def test_unknown_revoked_and_expired_keys_are_refused(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Refused Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k", expires_at=soon)
    )
    clock = Clock()
    authorizer = RuntimeAuthorizer(wired.unit_of_work, wired.tenancy.authenticate, clock, cache_seconds=0)
    with pytest.raises(Unauthorized, match="unknown API key") as unknown:
        authorizer.authorize(issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"), None, None)
    assert authorizer.authorize(issued.secret, None, None).key_id == issued.key.id
    clock.at = soon + timedelta(seconds=1)
    with pytest.raises(
        Unauthorized, match=re.escape("expired at " + soon.isoformat(timespec="seconds"))
    ) as expired:
        authorizer.authorize(issued.secret, None, None)
    clock.at = datetime.now(UTC)
    wired.integration.revoke_api_key(buyer["tenant_id"], subscription.id, issued.key.id)
    with pytest.raises(Unauthorized, match="API key was revoked at 20") as revoked:
        authorizer.authorize(issued.secret, None, None)
    codes = [e.value.code for e in (unknown, expired, revoked)]
    assert codes == ["credential_unknown", "credential_expired", "credential_revoked"]


def test_a_revoked_key_outlives_the_warm_cache_by_at_most_its_ttl(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Cache Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k")
    )
    ticks = [1000.0]
    authorizer = RuntimeAuthorizer(
        wired.unit_of_work, wired.tenancy.authenticate, Clock(), cache_seconds=10, monotonic=lambda: ticks[0]
    )
    ctx = authorizer.authorize(issued.secret, None, None)
    wired.integration.revoke_api_key(buyer["tenant_id"], subscription.id, issued.key.id)
    ticks[0] += 9.9
    assert authorizer.authorize(issued.secret, None, None) == ctx  # still cached: the stated worst case
    with pytest.raises(Unauthorized, match="revoked"):
        wired.gateway.admit(ctx)  # but no call is admitted on it
    ticks[0] += 0.2
    with pytest.raises(Unauthorized, match="revoked"):
        authorizer.authorize(issued.secret, None, None)


def test_a_widget_token_works_only_from_its_origins(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Widget Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = wired.integration.create_widget_token(
        buyer["tenant_id"], buyer["user_id"], subscription.id, "Shop", [SHOP]
    )
    ctx = wired.runtime_authorizer.authorize(issued.value, "https://SHOP.example.com:443", None)
    assert (ctx.principal, ctx.origin, ctx.scopes, ctx.key_id) == (
        "widget_token",
        SHOP,
        ("invoke",),
        issued.token.id,
    )
    for origin, reason in (
        ("https://evil.example.com", "not valid from the Origin https://evil.example.com;"),
        (None, "needs the Origin header"),
        ("", "needs the Origin header"),
        ("null", "not valid from the Origin null;"),
    ):
        with pytest.raises(Forbidden, match=reason) as refused:
            wired.runtime_authorizer.authorize(issued.value, origin, None)
        assert refused.value.code == "origin_not_allowed" and SHOP not in refused.value.message
        with pytest.raises(Forbidden, match="analytics:read") as refused:  # the scope first, not the Origin
            wired.runtime_authorizer.authorize(issued.value, origin, None, scope="analytics:read")
        assert refused.value.code == "forbidden"
        assert refused.value.message == "this credential lacks the scope 'analytics:read'"
        with pytest.raises(Forbidden, match=reason):  # a route it may call: its Origin decides
            wired.runtime_authorizer.authorize(issued.value, origin, None, scope="invoke")


def test_a_portal_token_acts_for_its_own_organizations_subscription_only(
    wired: Services, db: Database
) -> None:
    buyer, token = _buyer_with_token(wired)
    other, _ = _buyer_with_token(wired)
    own = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    theirs = subscribe(db, other["tenant_id"], _product(), plan=PRO_PLAN)
    ctx = wired.runtime_authorizer.authorize(f"{token}", None, str(own.id))
    assert (ctx.principal, ctx.subscription_id, ctx.scopes, ctx.key_id) == ("portal", own.id, SCOPES, None)
    assert ctx.user_id == uuid.UUID(buyer["user_id"])
    with pytest.raises(NotFound, match="subscription not found"):  # as for their key: 404, never 403
        wired.runtime_authorizer.authorize(token, None, str(theirs.id))
    with pytest.raises(NotFound):
        wired.runtime_authorizer.authorize(token, None, "not-a-uuid")
    with pytest.raises(Unauthorized):
        wired.runtime_authorizer.authorize(token, None, None)
    with pytest.raises(Unauthorized):
        wired.runtime_authorizer.authorize(token + "x", None, str(own.id))


def test_a_suspended_subscription_cannot_be_called(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Suspended Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN, status="suspended")
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'active' where id = %s", (subscription.id,))
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k")
    )
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'suspended' where id = %s", (subscription.id,))
    with pytest.raises(Forbidden, match="the subscription is suspended") as refused:
        wired.runtime_authorizer.authorize(issued.secret, None, None)
    assert refused.value.code == "subscription_not_callable"
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'cancelled' where id = %s", (subscription.id,))
    with pytest.raises(Forbidden, match="the subscription is cancelled"):
        wired.runtime_authorizer.authorize(issued.secret, None, None)


def _authorizer_event(headers: dict[str, str], subscription_id: uuid.UUID) -> dict[str, Any]:
    path = f"/v1/runtime/{subscription_id}/context"
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:local/dev/GET{path}",
        "resource": "/v1/runtime/{subscription_id}/context",
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "pathParameters": {"subscription_id": str(subscription_id)},
        "requestContext": {"resourcePath": "/v1/runtime/{subscription_id}/context", "stage": "dev"},
    }


def test_the_function_allows_with_the_context_or_carries_the_refusal_to_the_route(
    platform: Platform, services: Services, db: Database
) -> None:
    services.widget_token_key = lambda: WIDGET_KEY  # the authorizer finds tokens by hash, not by key
    buyer = caller_of(services, "Function Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k")
    )
    for headers in ({"X-Api-Key": issued.secret}, {"Authorization": f"Bearer {issued.secret}"}):
        policy = platform.invoke("RuntimeAuthorizerFunction", _authorizer_event(headers, subscription.id))
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert RuntimeContext.from_authorizer(policy["context"]).key_id == issued.key.id
    token = services.integration.create_widget_token(
        buyer["tenant_id"], buyer["user_id"], subscription.id, "Shop", [SHOP]
    )
    wrong_origin = {"Authorization": f"Bearer {token.value}", "Origin": "https://evil.example.com"}
    for headers, status, code in (
        ({}, 401, "credential_missing"),
        ({"X-Api-Key": issued.secret + "x"}, 401, "credential_unknown"),
        (wrong_origin, 403, "origin_not_allowed"),
    ):
        policy = platform.invoke("RuntimeAuthorizerFunction", _authorizer_event(headers, subscription.id))
        # Let through, but with no tenant, subscription or principal: only the refusal, which the route's
        # `runtime_context` raises before its body runs.
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert set(policy["context"]) == {"refusal", "refusal_status", "refusal_message", "refusal_errors"}
        with pytest.raises(Refused) as refused:
            RuntimeContext.from_authorizer(policy["context"])
        assert (refused.value.status, refused.value.code) == (status, code)


def test_an_authorized_key_records_last_used_at_at_most_once_a_minute(
    wired: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(wired, "Used Key Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k", ["invoke"])
    )

    def last_used() -> Any:
        row = owner_conn.execute("select last_used_at from api_keys where id = %s", (issued.key.id,))
        return row.fetchone()[0]  # type: ignore[index]

    assert last_used() is None
    wired.runtime_authorizer.forget()
    wired.runtime_authorizer.authorize(issued.secret, None, None)
    first = last_used()
    assert first is not None
    wired.runtime_authorizer.forget()
    wired.runtime_authorizer.authorize(issued.secret, None, None)
    assert last_used() == first  # within the minute: not written again
    owner_conn.execute(
        "update api_keys set last_used_at = now() - interval '2 minutes' where id = %s", (issued.key.id,)
    )
    wired.runtime_authorizer.forget()
    wired.runtime_authorizer.authorize(issued.secret, None, None)
    assert last_used() > first - timedelta(seconds=1)
    listed = wired.integration.api_keys(buyer["tenant_id"], subscription.id)
    assert listed[0].last_used_at is not None


def test_an_authorized_widget_token_records_last_used_at_and_the_list_shows_it(
    wired: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(wired, "Used Token Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    token = wired.integration.create_widget_token(
        buyer["tenant_id"], buyer["user_id"], subscription.id, "Shop", [SHOP]
    )
    assert wired.integration.widget_tokens(buyer["tenant_id"], subscription.id)[0].last_used_at is None
    wired.runtime_authorizer.forget()
    wired.runtime_authorizer.authorize(token.value, SHOP, str(subscription.id))
    row = owner_conn.execute("select last_used_at from widget_tokens where id = %s", (token.token.id,))
    first = row.fetchone()[0]  # type: ignore[index]
    assert first is not None
    wired.runtime_authorizer.forget()
    wired.runtime_authorizer.authorize(token.value, SHOP, str(subscription.id))
    listed = wired.integration.widget_tokens(buyer["tenant_id"], subscription.id)
    assert listed[0].last_used_at == first  # within the minute: not written again


def test_a_refused_key_is_named_by_the_header_it_came_in(
    platform: Platform, wired: Services, db: Database
) -> None:
    buyer = caller_of(wired, "Header Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], _product(), plan=PRO_PLAN)
    issued = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k")
    )
    bad = issued.secret + "x"
    for headers, path in (
        ({"X-Api-Key": bad}, "X-Api-Key"),
        ({"Authorization": f"Bearer {bad}"}, "Authorization"),
    ):
        policy = platform.invoke("RuntimeAuthorizerFunction", _authorizer_event(headers, subscription.id))
        with pytest.raises(Refused) as refused:
            RuntimeContext.from_authorizer(policy["context"])
        assert [e.to_dict() for e in refused.value.errors] == [{"path": path, "message": "unknown"}]
    # Revoked after the authorizer let it through: the gateway's own check names the same header.
    ctx = wired.runtime_authorizer.authorize(issued.secret, None, None, header="Authorization")
    wired.integration.revoke_api_key(buyer["tenant_id"], subscription.id, issued.key.id)
    with pytest.raises(Unauthorized) as revoked:
        wired.gateway.admit(RuntimeContext.from_authorizer(ctx.to_authorizer()))
    assert [e.path for e in revoked.value.errors] == ["Authorization"]
    wired.runtime_authorizer.forget()  # past the warm cache: the authorizer reads the revocation itself
    with pytest.raises(Unauthorized) as again:
        wired.runtime_authorizer.authorize(issued.secret, None, None, header="Authorization")
    assert [e.path for e in again.value.errors] == ["Authorization"]
