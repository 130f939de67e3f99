"""Request and response models of the buyer's "Integrate" section (`/v1/subscriptions/{id}/api-keys`,
`…/widget/…`, `…/mcp`), and the HTTP shaping of what the integration service returns: masked credentials,
the embed snippet's HTML, MCP client settings.

A secret appears in exactly one response model, `CreatedApiKey.secret`, answered once by the create call.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BeforeValidator, Field

from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.tenancy.credentials import MAX_NAME_LENGTH, MAX_ORIGINS, SCOPES, ApiKey, Scope, WidgetToken
from cmp.tenancy.integrate import McpAccess, WidgetEmbed
from cmp.web.schemas import ApiModel, RequestModel

MCP_TRANSPORT = "streamable-http"
"""The MCP transport of the endpoint (one URL for every message, protocol revision 2025-03-26 and later)."""
API_KEY_PLACEHOLDER = "<your API key>"
_NOT_ATTRIBUTE_TEXT = re.compile(r"[^a-z0-9]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _text_only(value: Any) -> Any:
    """A time must be given as ISO 8601 text (a bare number is not read as a Unix time)."""
    if not isinstance(value, str):
        raise ValueError("give the time as ISO 8601 text with its offset, e.g. 2027-01-31T00:00:00Z")
    return value


ExpiresAt = Annotated[
    AwareDatetime,
    BeforeValidator(_text_only),
    Field(strict=False, description="ISO 8601 with offset, in the future; null: never expires"),
]


# ---------------------------------------------------------------------------------------------- API keys
class NewApiKey(RequestModel):
    """A key to create: what it may do, for how long, how fast."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["Production"])
    scopes: list[Scope] | None = Field(
        default=None,
        min_length=1,
        max_length=len(SCOPES),
        description=f'What the key may do: {", ".join(SCOPES)}. Leave out for ["invoke"]. A scope whose '
        "capability the product lacks is a 403 naming the capability",
    )
    expires_at: ExpiresAt | None = None
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=PLATFORM_MAXIMA.rate_limit_rpm,
        description="At most the plan's limits.rateLimitRpm (a 422 names it); null: the plan's",
    )
    environment: Literal["live", "test"] = Field(
        default="live", description="live keys start ar_sk_live_, test keys ar_sk_test_"
    )


class ApiKeyOut(ApiModel):
    """A key as listed: never its secret."""

    id: UUID
    name: str
    environment: Literal["live", "test"]
    masked_key: str = Field(examples=["ar_sk_live_****abc"])
    scopes: list[str]
    rate_limit_per_minute: int | None = Field(description="The key's own limit; null: the plan's")
    status: Literal["active", "expired", "revoked"]
    expires_at: datetime | None
    last_used_at: datetime | None = Field(description="Last call the gateway authorized with it; null: never")
    created_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, now: datetime) -> ApiKeyOut:
        """The listing of `key`, its status as of `now`."""
        return cls(
            id=key.id,
            name=key.name,
            environment=key.environment,
            masked_key=key.masked,
            scopes=key.scopes,
            rate_limit_per_minute=key.rate_limit_per_minute,
            status=key.status(now),
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


class CreatedApiKey(ApiKeyOut):
    """A new key, with its secret: shown this once, never again (only its SHA-256 is kept)."""

    secret: str = Field(description="The API key. Copy it now: it is never shown again")


class ApiKeyList(ApiModel):
    """The subscription's keys, newest first (revoked and expired ones included, see `status`)."""

    items: list[ApiKeyOut]


# ---------------------------------------------------------------------------------------------- widget
class NewWidgetToken(RequestModel):
    """A widget token to create, bound to the browser origins that may use it."""

    name: str = Field(default="Widget", min_length=1, max_length=MAX_NAME_LENGTH, examples=["Shop"])
    allowed_origins: list[Annotated[str, Field(max_length=300)]] = Field(
        min_length=1,
        max_length=MAX_ORIGINS,
        examples=[["https://shop.example.com", "http://localhost:3000"]],
        description="scheme://host[:port], https only (http for localhost and 127.0.0.1); duplicates are "
        f"merged; at most {MAX_ORIGINS}",
    )


class WidgetTokenOut(ApiModel):
    """A widget token as listed."""

    id: UUID
    name: str
    masked_token: str = Field(examples=["ar_wt_****abc"])
    allowed_origins: list[str]
    status: Literal["active", "revoked"]
    created_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Last call the gateway authorized with it (written at most once a minute); null: never"
    )

    @classmethod
    def of(cls, token: WidgetToken) -> WidgetTokenOut:
        """The listing of `token`."""
        return cls(
            id=token.id,
            name=token.name,
            masked_token=token.masked,
            allowed_origins=token.allowed_origins,
            status=token.status(),
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class CreatedWidgetToken(WidgetTokenOut):
    """A new widget token with its value (public once on a page; the embed snippet carries it)."""

    token: str


class WidgetTokenList(ApiModel):
    """The subscription's widget tokens, newest first (revoked ones included)."""

    items: list[WidgetTokenOut]


class EmbedSnippet(ApiModel):
    """The `<script>` tag to paste into a page served from one of the token's origins."""

    html: str = Field(
        examples=['<script src="…/chat.js" data-token="ar_wt_…" data-subscription="…" async></script>']
    )
    script_url: str
    token_id: UUID
    subscription_id: UUID
    widget: dict[str, Any] = Field(
        description="The widget settings the snippet carries (configuration.widget)"
    )

    @classmethod
    def of(cls, embed: WidgetEmbed, script_url: str, websocket_url: str = "") -> EmbedSnippet:
        """The snippet: the settings become `data-*` attributes (camelCase keys in kebab case, nested objects
        joined with `-`, lists with commas); every value is HTML-escaped. `websocket_url` (the WebSocket API's
        URL, `Settings.websocket_url`) becomes `data-websocket`, so the widget streams from a page on another
        domain; without it the widget derives the URL from the script's API and falls back to REST."""
        attributes = {"token": embed.value, "subscription": str(embed.subscription_id)}
        if websocket_url:
            attributes["websocket"] = websocket_url
        for name, value in _data_attributes(embed.settings):
            attributes.setdefault(name, value)
        shown = "".join(
            f' data-{name}="{html.escape(value, quote=True)}"' for name, value in attributes.items()
        )
        return cls(
            html=f'<script src="{html.escape(script_url, quote=True)}"{shown} async></script>',
            script_url=script_url,
            token_id=embed.token.id,
            subscription_id=embed.subscription_id,
            widget=embed.settings,
        )


def _data_attributes(settings: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = prefix + _NOT_ATTRIBUTE_TEXT.sub("-", _CAMEL_HUMP.sub("-", str(key)).lower()).strip("-")
        if isinstance(value, dict):
            out.extend(_data_attributes(value, f"{name}-"))
        elif isinstance(value, list):
            out.append((name, ",".join(_text(v) for v in value)))
        elif value is not None:
            out.append((name, _text(value)))
    return out


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# ---------------------------------------------------------------------------------------------- MCP
class McpKey(ApiModel):
    """An active key of the subscription that may call the endpoint (scope `invoke`)."""

    id: UUID
    name: str
    masked_key: str


class McpAuth(ApiModel):
    """How the client authenticates: an API key of scope `invoke`, as a bearer token."""

    header: str = "Authorization"
    value: str = Field(examples=[f"Bearer {API_KEY_PLACEHOLDER}"])
    scope: str = "invoke"


class McpConnection(ApiModel):
    """Everything an MCP client needs to connect to the subscription's product."""

    subscription_id: UUID
    endpoint: str = Field(description="The MCP endpoint (served by the agent runtime)")
    transport: Literal["streamable-http"]
    auth: McpAuth
    api_keys: list[McpKey] = Field(description="Active keys that may invoke; create one if this is empty")
    client_config: dict[str, Any] = Field(
        description="Ready to paste into an MCP client's configuration (mcpServers); put a key in place of "
        f"{API_KEY_PLACEHOLDER}"
    )

    @classmethod
    def of(cls, access: McpAccess, endpoint: str) -> McpConnection:
        """The connection details of `access` at `endpoint`."""
        bearer = f"Bearer {API_KEY_PLACEHOLDER}"
        return cls(
            subscription_id=access.subscription_id,
            endpoint=endpoint,
            transport=MCP_TRANSPORT,
            auth=McpAuth(value=bearer),
            api_keys=[McpKey(id=k.id, name=k.name, masked_key=k.masked) for k in access.invoke_keys],
            client_config={
                "mcpServers": {
                    access.product_slug: {
                        "type": "http",
                        "url": endpoint,
                        "headers": {"Authorization": bearer},
                    }
                }
            },
        )
