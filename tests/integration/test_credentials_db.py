"""API keys and widget tokens in PostgreSQL: row-level security on the buyer, a credential can only name its
own organization's subscription, and the gateway's SECURITY DEFINER lookup by hash (the one read made before
any tenant is known)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.tenancy.credential_repository import GatewayCredential
from cmp.tenancy.credentials import ApiKeyRequest
from tests.subscriptions import capabilities, subscribe

from .conftest import caller_of

WIDGET_KEY = "integration-test-widget-key"


@pytest.fixture
def wired(services: Services) -> Services:
    services.widget_token_key = lambda: WIDGET_KEY
    return services


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_gateway_finds_a_key_by_its_hash_without_a_tenant(wired: Services, db: Database) -> None:
    buyer = caller_of(wired, "Gateway Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"])
    expires = datetime.now(UTC) + timedelta(days=3)
    own = wired.integration.create_api_key(
        buyer["tenant_id"],
        buyer["user_id"],
        subscription.id,
        ApiKeyRequest("Own limit", ["invoke", "analytics:read"], expires, 42, "test"),
    )
    planned = wired.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("Plan limit")
    )

    with db.unit_of_work() as uow:  # no tenant: what the gateway has before the lookup
        assert uow.api_keys.list(subscription.id) == []  # row-level security hides the rows themselves
        found = uow.credential_lookup.by_hash(_sha(own.secret))
        plan_limited = uow.credential_lookup.by_hash(_sha(planned.secret))
        assert uow.credential_lookup.by_hash(_sha(own.secret + "x")) is None
        assert uow.credential_lookup.by_hash("not a hash") is None

    assert found is not None and found.expires_at is not None
    assert abs((found.expires_at - expires).total_seconds()) < 0.001
    assert replace(found, expires_at=None) == GatewayCredential(
        kind="api_key",
        credential_id=own.key.id,
        tenant_id=uuid.UUID(buyer["tenant_id"]),
        subscription_id=subscription.id,
        product_id=subscription.product_id,
        plan_id=subscription.plan_id,
        runtime_type=subscription.runtime_type,
        environment="test",
        scopes=["invoke", "analytics:read"],
        allowed_origins=None,
        expires_at=None,
        revoked_at=None,
        subscription_status="active",
        rate_limit_per_minute=42,
    )
    assert plan_limited is not None and plan_limited.rate_limit_per_minute == 300  # the Pro plan's

    wired.integration.revoke_api_key(buyer["tenant_id"], subscription.id, own.key.id)
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'cancelled' where id = %s", (subscription.id,))
    with db.unit_of_work() as uow:
        revoked = uow.credential_lookup.by_hash(_sha(own.secret))
    assert revoked is not None and revoked.revoked_at is not None
    assert revoked.subscription_status == "cancelled"


def test_the_gateway_finds_a_widget_token_with_its_origins_and_the_products_limit(
    wired: Services, db: Database
) -> None:
    buyer = caller_of(wired, "Widget Buyer", "buyer")
    plan = {"id": "plan_ent", "name": "Enterprise", "tier": "enterprise", "limits": {"rateLimitRpm": None}}
    subscription = subscribe(
        db, buyer["tenant_id"], capabilities(runtime={"limits": {"rateLimit": 450}}), plan=plan
    )
    issued = wired.integration.create_widget_token(
        buyer["tenant_id"], buyer["user_id"], subscription.id, "Shop", ["https://shop.example.com"]
    )
    with db.unit_of_work() as uow:
        found = uow.credential_lookup.by_hash(_sha(issued.value))
    assert found is not None
    assert (found.kind, found.credential_id, found.environment, found.scopes) == (
        "widget_token",
        issued.token.id,
        "live",
        ["invoke"],
    )
    assert (found.allowed_origins, found.expires_at, found.rate_limit_per_minute) == (
        ["https://shop.example.com"],
        None,
        450,
    )


def test_the_lookup_is_security_definer_and_only_the_application_may_run_it(
    owner_conn: psycopg.Connection[Any],
) -> None:
    definer, acl = owner_conn.execute(
        "select prosecdef, proacl::text from pg_proc where proname = 'gateway_credential'"
    ).fetchone()
    assert definer is True
    assert "cmp_app=X" in acl and not acl.startswith("{=X") and ",=X" not in acl  # no grant to PUBLIC


def test_credentials_stay_in_their_organization(wired: Services, db: Database) -> None:
    a = caller_of(wired, "Org A", "buyer")
    b = caller_of(wired, "Org B", "buyer")
    subscription_a = subscribe(db, a["tenant_id"])
    subscription_b = subscribe(db, b["tenant_id"])
    wired.integration.create_api_key(a["tenant_id"], a["user_id"], subscription_a.id, ApiKeyRequest("A"))
    wired.integration.create_widget_token(
        a["tenant_id"], a["user_id"], subscription_a.id, "A", ["https://a.example"]
    )

    with db.session(b["tenant_id"]) as session:
        assert session.fetch_all("select id from api_keys") == []
        assert session.fetch_all("select id from widget_tokens") == []
        assert session.execute("update api_keys set revoked_at = now()") == 0
        assert session.execute("delete from widget_tokens") == 0

    row = (uuid.uuid4(), "ar_sk_live_", "abc", _sha(uuid.uuid4().hex))
    insert = (
        "insert into api_keys (id, tenant_id, subscription_id, name, environment, key_prefix, key_hint, key_hash)"
        " values (%s, %s, %s, 'planted', 'live', %s, %s, %s)"
    )
    # B names A's subscription as its own tenant: the composite key to subscriptions refuses it
    with pytest.raises(psycopg.errors.ForeignKeyViolation), db.session(b["tenant_id"]) as session:
        session.execute(insert, (row[0], b["tenant_id"], subscription_a.id, *row[1:]))
    # B writes a row of A's tenant: row-level security refuses it
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.session(b["tenant_id"]) as session:
        session.execute(insert, (row[0], a["tenant_id"], subscription_a.id, *row[1:]))
    with db.session(b["tenant_id"]) as session:
        session.execute(insert, (row[0], b["tenant_id"], subscription_b.id, *row[1:]))
        assert [r["id"] for r in session.fetch_all("select id from api_keys")] == [row[0]]
