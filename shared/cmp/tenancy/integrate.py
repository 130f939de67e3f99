"""The buyer's "Integrate" use cases: API keys, widget tokens, the widget's embed settings and MCP access, each
for one subscription of the caller's organization.

Every use case first loads the subscription in the buyer's tenant, so another organization's subscription id
is a 404 (`NotFound`) before anything else is read. Secrets leave only in the return value of a create call:
nothing here logs them, and the repositories store only hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cmp.ports import Clock, IdGenerator
from cmp.tenancy.credentials import (
    ApiKey,
    ApiKeyRequest,
    WidgetToken,
    product_capabilities,
    require_capability,
    require_mcp,
    widget_settings,
)
from cmp.tenancy.ports import IntegrationUnitOfWorkFactory


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key and its secret: the only time the secret is available."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class IssuedWidgetToken:
    """A new widget token and its value (public once embedded; derivable again for the embed snippet)."""

    token: WidgetToken
    value: str


@dataclass(frozen=True)
class WidgetEmbed:
    """What the embed snippet carries: the token and its value, the subscription, and the widget settings
    (`configuration.widget` over the product's defaults, see `widget_settings`)."""

    token: WidgetToken
    value: str
    subscription_id: UUID
    settings: dict[str, Any]


@dataclass(frozen=True)
class McpAccess:
    """What an MCP client needs besides the endpoint URL (which `web` builds): the product's name and slug
    (the client's server name) and the subscription's active keys that may `invoke`."""

    subscription_id: UUID
    product_name: str
    product_slug: str
    invoke_keys: list[ApiKey]


class IntegrationService:
    """API keys, widget tokens, embed settings and MCP access of one buyer subscription.

    Raises `NotFound` (another tenant's subscription, or a credential of another subscription),
    `Conflict` (no new credentials for an ended subscription; a revoked token has no snippet), `Forbidden`
    (the product lacks the capability: a scope's, the widget, MCP) and `ValidationFailed` (the request)."""

    def __init__(
        self,
        uow: IntegrationUnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        widget_token_key: Callable[[], str],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._widget_token_key = widget_token_key

    # ------------------------------------------------------------------------------------------ API keys
    def create_api_key(
        self, tenant_id: str, user_id: str | None, subscription_id: UUID, request: ApiKeyRequest
    ) -> IssuedApiKey:
        """Issue a key (rules: `ApiKey.issue`); the secret is in the result and nowhere else."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            key, secret = ApiKey.issue(
                self._ids.new_id(), subscription, request, _user(user_id), self._clock.now()
            )
            uow.api_keys.add(key)
            uow.commit()
        return IssuedApiKey(key, secret)

    def api_keys(self, tenant_id: str, subscription_id: UUID) -> list[ApiKey]:
        """Every key of the subscription, newest first (revoked and expired too; their `status` says so)."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            return uow.api_keys.list(subscription_id)

    def revoke_api_key(self, tenant_id: str, subscription_id: UUID, key_id: UUID) -> None:
        """Revoke the key at once; revoking a revoked key changes nothing (idempotent)."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            key = uow.api_keys.get(subscription_id, key_id, for_update=True)
            if key.revoke(self._clock.now()):
                uow.api_keys.save(key)
                uow.commit()

    # ------------------------------------------------------------------------------------------ widget
    def create_widget_token(
        self, tenant_id: str, user_id: str | None, subscription_id: UUID, name: str, origins: Sequence[str]
    ) -> IssuedWidgetToken:
        """Issue a widget token bound to `origins` (rules: `WidgetToken.issue`)."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            token, value = WidgetToken.issue(
                self._ids.new_id(),
                subscription,
                name,
                origins,
                _user(user_id),
                self._widget_token_key(),
                self._clock.now(),
            )
            uow.widget_tokens.add(token)
            uow.commit()
        return IssuedWidgetToken(token, value)

    def widget_tokens(self, tenant_id: str, subscription_id: UUID) -> list[WidgetToken]:
        """Every widget token of the subscription, newest first (revoked ones too)."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            return uow.widget_tokens.list(subscription_id)

    def revoke_widget_token(self, tenant_id: str, subscription_id: UUID, token_id: UUID) -> None:
        """Revoke the token at once; revoking twice changes nothing (idempotent)."""
        with self._uow(tenant_id) as uow:
            uow.subscriptions.get(subscription_id)
            token = uow.widget_tokens.get(subscription_id, token_id, for_update=True)
            if token.revoke(self._clock.now()):
                uow.widget_tokens.save(token)
                uow.commit()

    def widget_embed(self, tenant_id: str, subscription_id: UUID, token_id: UUID) -> WidgetEmbed:
        """What the embed snippet of `token_id` carries. Forbidden (403, `interfaces.widget.enabled`) for a
        product without a widget; Conflict (409) for a revoked token."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            capabilities = product_capabilities(subscription)
            require_capability(capabilities, "interfaces.widget.enabled", "an embedded widget")
            token = uow.widget_tokens.get(subscription_id, token_id)
        value = token.value(self._widget_token_key())
        return WidgetEmbed(token, value, subscription.id, widget_settings(subscription, capabilities))

    # ------------------------------------------------------------------------------------------ MCP
    def mcp_access(self, tenant_id: str, subscription_id: UUID) -> McpAccess:
        """MCP access of the subscription: Forbidden (403, `interfaces.api.protocols`) unless the product's
        API speaks MCP; the keys listed are those active now with the scope `invoke`."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            require_mcp(product_capabilities(subscription))
            keys = uow.api_keys.list(subscription_id)
        now = self._clock.now()
        invoking = [k for k in keys if k.status(now) == "active" and "invoke" in k.scopes]
        return McpAccess(subscription.id, subscription.product_name, subscription.product_slug, invoking)


def _user(user_id: str | None) -> UUID | None:
    return UUID(user_id) if user_id else None
