"""The buyer's "Integrate" section of a subscription: API keys, widget tokens and the embed snippet, MCP
connection details. Every route needs the buyer role; another organization's subscription is a 404."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from cmp.config import Settings
from cmp.tenancy.credentials import ApiKeyRequest
from cmp.web.deps import Buyer, ServicesDep
from cmp.web.integrate_schemas import (
    ApiKeyList,
    ApiKeyOut,
    CreatedApiKey,
    CreatedWidgetToken,
    EmbedSnippet,
    McpConnection,
    NewApiKey,
    NewWidgetToken,
    WidgetTokenList,
    WidgetTokenOut,
)
from cmp.web.schemas import answers

router = Router()
ONE = "/v1/subscriptions/<subscription_id>"
READ = (401, 403, 404)
"""Signed out; not a buyer, or the product lacks the capability; not this organization's subscription."""
WRITE = (401, 403, 404, 409)
"""As READ, plus 409: the subscription has ended (no new credentials)."""
WIDGET_SCRIPT_PATH = "/v1/widget/chat.js"
"""Where the agent runtime serves the widget when no WIDGET_SCRIPT_URL is set."""


def api_base_url(settings: Settings) -> str:
    """The API's public base URL: PUBLIC_API_URL when set (a custom domain), else the address this request
    came to (API Gateway's domain and stage; locally the Host header); empty when the request names none."""
    if settings.public_api_url:
        return settings.public_api_url.rstrip("/")
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    domain = event.request_context.domain_name
    if domain:
        return f"https://{domain}/{event.request_context.stage}"
    host = event.headers.get("host")
    return f"http://{host}" if host else ""


# ---------------------------------------------------------------------------------------------- API keys
@router.post(f"{ONE}/api-keys", responses=answers(201, "Created; the secret is shown this once", *WRITE))
def create_api_key(
    subscription_id: UUID, body: NewApiKey, buyer: Buyer, services: ServicesDep
) -> tuple[CreatedApiKey, int]:
    """Create an API key for the subscription; its secret is in this answer only (store it now)."""
    request = ApiKeyRequest(
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
        rate_limit_per_minute=body.rate_limit_per_minute,
        environment=body.environment,
    )
    issued = services.integration.create_api_key(buyer.tenant_id, buyer.user_id, subscription_id, request)
    listed = ApiKeyOut.of(issued.key, services.clock.now())
    return CreatedApiKey(**listed.model_dump(), secret=issued.secret), 201


@router.get(f"{ONE}/api-keys", responses=answers(200, "The subscription's keys, masked", *READ))
def list_api_keys(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> ApiKeyList:
    """The subscription's API keys, newest first, masked (`ar_sk_live_****abc`), with status and last use."""
    now = services.clock.now()
    keys = services.integration.api_keys(buyer.tenant_id, subscription_id)
    return ApiKeyList(items=[ApiKeyOut.of(key, now) for key in keys])


@router.delete(
    f"{ONE}/api-keys/<key_id>", responses=answers(204, "Revoked (also when it already was)", *READ)
)
def revoke_api_key(
    subscription_id: UUID, key_id: UUID, buyer: Buyer, services: ServicesDep
) -> Response[None]:
    """Revoke a key at once; revoking it again changes nothing."""
    services.integration.revoke_api_key(buyer.tenant_id, subscription_id, key_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------------------------------- widget
@router.post(f"{ONE}/widget/tokens", responses=answers(201, "Created", *WRITE))
def create_widget_token(
    subscription_id: UUID, body: NewWidgetToken, buyer: Buyer, services: ServicesDep
) -> tuple[CreatedWidgetToken, int]:
    """Create a widget token usable from the listed origins (403 when the product has no widget)."""
    issued = services.integration.create_widget_token(
        buyer.tenant_id, buyer.user_id, subscription_id, body.name, body.allowed_origins
    )
    return CreatedWidgetToken(**WidgetTokenOut.of(issued.token).model_dump(), token=issued.value), 201


@router.get(f"{ONE}/widget/tokens", responses=answers(200, "The subscription's widget tokens", *READ))
def list_widget_tokens(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> WidgetTokenList:
    """The subscription's widget tokens, newest first, masked, with their origins."""
    tokens = services.integration.widget_tokens(buyer.tenant_id, subscription_id)
    return WidgetTokenList(items=[WidgetTokenOut.of(token) for token in tokens])


@router.delete(
    f"{ONE}/widget/tokens/<token_id>", responses=answers(204, "Revoked (also when it already was)", *READ)
)
def revoke_widget_token(
    subscription_id: UUID, token_id: UUID, buyer: Buyer, services: ServicesDep
) -> Response[None]:
    """Revoke a widget token at once; pages embedding it stop working."""
    services.integration.revoke_widget_token(buyer.tenant_id, subscription_id, token_id)
    return Response(status_code=204)


@router.get(
    f"{ONE}/widget/embed",
    responses=answers(200, "The <script> tag to paste", 409, *READ),
)
def widget_embed(
    subscription_id: UUID,
    token_id: Annotated[UUID, Query(description="The widget token the snippet carries")],
    buyer: Buyer,
    services: ServicesDep,
) -> EmbedSnippet:
    """The embed snippet for a widget token, carrying the subscription's widget settings (403 when the
    product has no widget, 409 for a revoked token)."""
    embed = services.integration.widget_embed(buyer.tenant_id, subscription_id, token_id)
    settings = services.settings
    script_url = settings.widget_script_url or api_base_url(settings) + WIDGET_SCRIPT_PATH
    return EmbedSnippet.of(embed, script_url, settings.websocket_url)


# ---------------------------------------------------------------------------------------------- MCP
@router.get(f"{ONE}/mcp", responses=answers(200, "How an MCP client connects", *READ))
def mcp_connection(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> McpConnection:
    """MCP connection details (403 naming interfaces.api.protocols when the product does not speak MCP)."""
    access = services.integration.mcp_access(buyer.tenant_id, subscription_id)
    return McpConnection.of(access, f"{api_base_url(services.settings)}/v1/mcp/{access.subscription_id}")
