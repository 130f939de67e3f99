"""The SQL of the buyer's integration credentials: `api_keys` (`uow.api_keys`) and `widget_tokens`
(`uow.widget_tokens`), tenant-scoped under row-level security. Secrets are never written: entities carry only
their SHA-256 and last characters. The gateway's cross-tenant read is `gateway_credential` (migration 0011),
read by `CredentialLookup`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.tenancy.credentials import ApiKey, WidgetToken

_KEY_COLUMNS = [f.name for f in fields(ApiKey)]
_TOKEN_COLUMNS = [f.name for f in fields(WidgetToken)]


def _row(columns: list[str], entity: object) -> dict[str, Any]:
    """The entity's set fields among `columns` (unset ones take the column default)."""
    return {name: getattr(entity, name) for name in columns if getattr(entity, name) is not None}


class ApiKeyRepository:
    """`api_keys` rows as `ApiKey` entities."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, key: ApiKey) -> None:
        """Insert a new key (hash and hint only)."""
        self._session.insert("api_keys", _row(_KEY_COLUMNS, key))

    def get(self, subscription_id: UUID, key_id: UUID, for_update: bool = False) -> ApiKey:
        """The key of that subscription in the current tenant; raises `NotFound` otherwise."""
        row = self._session.fetch_one(
            f"select {', '.join(_KEY_COLUMNS)} from api_keys where id = %s and subscription_id = %s"
            + (" for update" if for_update else ""),
            (key_id, subscription_id),
        )
        if row is None:
            raise NotFound("API key not found")
        return ApiKey(**row)

    def list(self, subscription_id: UUID) -> list[ApiKey]:
        """Every key of the subscription, newest first."""
        rows = self._session.fetch_all(
            f"select {', '.join(_KEY_COLUMNS)} from api_keys where subscription_id = %s"
            " order by created_at desc, id",
            (subscription_id,),
        )
        return [ApiKey(**row) for row in rows]

    def save(self, key: ApiKey) -> None:
        """Store the key's revocation (the only thing that changes after creation here)."""
        self._session.execute("update api_keys set revoked_at = %s where id = %s", (key.revoked_at, key.id))


class WidgetTokenRepository:
    """`widget_tokens` rows as `WidgetToken` entities."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, token: WidgetToken) -> None:
        """Insert a new token (hash and hint only)."""
        self._session.insert("widget_tokens", _row(_TOKEN_COLUMNS, token))

    def get(self, subscription_id: UUID, token_id: UUID, for_update: bool = False) -> WidgetToken:
        """The token of that subscription in the current tenant; raises `NotFound` otherwise."""
        row = self._session.fetch_one(
            f"select {', '.join(_TOKEN_COLUMNS)} from widget_tokens where id = %s and subscription_id = %s"
            + (" for update" if for_update else ""),
            (token_id, subscription_id),
        )
        if row is None:
            raise NotFound("widget token not found")
        return WidgetToken(**row)

    def list(self, subscription_id: UUID) -> list[WidgetToken]:
        """Every token of the subscription, newest first."""
        rows = self._session.fetch_all(
            f"select {', '.join(_TOKEN_COLUMNS)} from widget_tokens where subscription_id = %s"
            " order by created_at desc, id",
            (subscription_id,),
        )
        return [WidgetToken(**row) for row in rows]

    def save(self, token: WidgetToken) -> None:
        """Store the token's revocation."""
        self._session.execute(
            "update widget_tokens set revoked_at = %s where id = %s", (token.revoked_at, token.id)
        )


@dataclass(frozen=True)
class GatewayCredential:
    """What the gateway needs to authorize a call made with a credential: `kind` is `api_key` or
    `widget_token`; `plan_id` and `runtime_type` (shared or dedicated) are the subscription's;
    `allowed_origins` is None for keys; `rate_limit_per_minute` is the key's own, else the
    plan's, else the product's; revoked, expired and ended-subscription credentials are returned too, so
    the caller can say why it refuses."""

    kind: str
    credential_id: UUID
    tenant_id: UUID
    subscription_id: UUID
    product_id: UUID
    plan_id: str
    runtime_type: str
    environment: str
    scopes: list[str]
    allowed_origins: list[str] | None
    expires_at: datetime | None
    revoked_at: datetime | None
    subscription_status: str
    rate_limit_per_minute: int | None


class CredentialLookup:
    """`uow.credential_lookup`: the gateway's read of a credential by its hash, before any tenant is known."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def by_hash(self, secret_hash: str) -> GatewayCredential | None:
        """The API key or widget token whose SHA-256 (64 lowercase hex digits) is `secret_hash`, through the
        SECURITY DEFINER function `gateway_credential` (migrations 0011, 0016); None for an unknown hash."""
        row = self._session.fetch_one("select * from gateway_credential(%s)", (secret_hash,))
        return GatewayCredential(**row) if row else None

    def touch(self, kind: str, credential_id: UUID) -> None:
        """Set the credential's `last_used_at` to now, at most once a minute (a credential used more often
        keeps the first time of that minute): the gateway's write on each authorized call, made cheap by
        skipping rows touched less than a minute ago. `kind` is `api_key` or `widget_token` (as
        `gateway_credential` names it). Runs under the credential's tenant (row-level security)."""
        table = {"api_key": "api_keys", "widget_token": "widget_tokens"}[kind]
        self._session.execute(
            f"update {table} set last_used_at = now() where id = %s"
            " and (last_used_at is null or last_used_at < now() - interval '1 minute')",
            (credential_id,),
        )
