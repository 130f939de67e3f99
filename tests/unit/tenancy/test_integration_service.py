"""The integration use cases against in-memory repositories: what is stored, what is returned once, what a
second revoke does, which keys MCP access lists, and that every call works in the caller's tenant."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from cmp.errors import NotFound
from cmp.tenancy.credentials import ApiKeyRequest
from cmp.tenancy.integrate import IntegrationService
from tests.fakes import FakeUnitOfWorkFactory, FixedClock, SequentialIds

from .memory import InMemoryApiKeys, InMemorySubscriptions, InMemoryWidgetTokens
from .test_credentials import document, subscription

TENANT = str(uuid.UUID(int=1))
USER = str(uuid.UUID(int=5))
KEY = "unit-test-widget-key"


@dataclass
class World:
    service: IntegrationService
    uow: FakeUnitOfWorkFactory
    keys: InMemoryApiKeys
    tokens: InMemoryWidgetTokens
    clock: FixedClock


@pytest.fixture
def world() -> World:
    held = subscription(
        configuration={"widget": {"theme": "dark"}},
        capabilities=document(interfaces={"widget": {"enabled": True, "types": ["inline"]}}),
    )
    other = subscription(id=uuid.UUID(int=8))
    keys, tokens, clock = InMemoryApiKeys(), InMemoryWidgetTokens(), FixedClock()
    uow = FakeUnitOfWorkFactory(
        subscriptions=InMemorySubscriptions(held, other), api_keys=keys, widget_tokens=tokens
    )
    return World(IntegrationService(uow, clock, SequentialIds(), lambda: KEY), uow, keys, tokens, clock)


SUBSCRIPTION = uuid.UUID(int=7)


def test_a_created_key_returns_its_secret_and_stores_only_its_hash(world: World) -> None:
    issued = world.service.create_api_key(TENANT, USER, SUBSCRIPTION, ApiKeyRequest("Production"))
    stored = world.keys.keys[issued.key.id]
    assert stored.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert stored.created_by == uuid.UUID(USER) and stored.created_at == world.clock.now()
    assert world.uow.tenants == [TENANT]
    assert world.service.api_keys(TENANT, SUBSCRIPTION) == [stored]
    assert world.service.api_keys(TENANT, uuid.UUID(int=8)) == []


def test_an_unknown_subscription_or_a_key_of_another_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        world.service.create_api_key(TENANT, USER, uuid.UUID(int=404), ApiKeyRequest("K"))
    assert world.keys.keys == {}
    issued = world.service.create_api_key(TENANT, USER, SUBSCRIPTION, ApiKeyRequest("K"))
    with pytest.raises(NotFound):
        world.service.revoke_api_key(TENANT, uuid.UUID(int=8), issued.key.id)
    assert world.keys.keys[issued.key.id].revoked_at is None


def test_revoking_twice_saves_once(world: World) -> None:
    issued = world.service.create_api_key(TENANT, USER, SUBSCRIPTION, ApiKeyRequest("K"))
    world.service.revoke_api_key(TENANT, SUBSCRIPTION, issued.key.id)
    world.clock.advance(hours=1)
    world.service.revoke_api_key(TENANT, SUBSCRIPTION, issued.key.id)
    assert world.keys.saves == 1
    assert world.keys.keys[issued.key.id].revoked_at == world.clock.now() - timedelta(hours=1)


def test_mcp_access_lists_the_keys_active_now_that_may_invoke(world: World) -> None:
    def create(name: str, scopes: list[str] | None = None, expires_at: datetime | None = None) -> uuid.UUID:
        request = ApiKeyRequest(name, scopes, expires_at)
        return world.service.create_api_key(TENANT, USER, SUBSCRIPTION, request).key.id

    invoking = create("Invoke")
    create("Analytics", scopes=["analytics:read"])
    create("Soon expired", expires_at=world.clock.now() + timedelta(minutes=5))
    revoked = create("Revoked")
    world.service.revoke_api_key(TENANT, SUBSCRIPTION, revoked)
    world.clock.advance(minutes=5)
    access = world.service.mcp_access(TENANT, SUBSCRIPTION)
    assert [k.id for k in access.invoke_keys] == [invoking]
    assert (access.product_slug, access.subscription_id) == ("support-agent", SUBSCRIPTION)


def test_the_embed_carries_the_derived_token_and_the_configured_widget(world: World) -> None:
    issued = world.service.create_widget_token(TENANT, USER, SUBSCRIPTION, "Shop", ["https://a.example"])
    embed = world.service.widget_embed(TENANT, SUBSCRIPTION, issued.token.id)
    assert embed.value == issued.value
    assert embed.settings == {"type": "inline", "theme": "dark"}
    world.service.revoke_widget_token(TENANT, SUBSCRIPTION, issued.token.id)
    world.service.revoke_widget_token(TENANT, SUBSCRIPTION, issued.token.id)
    assert world.tokens.saves == 1
    assert [t.status() for t in world.service.widget_tokens(TENANT, SUBSCRIPTION)] == ["revoked"]
