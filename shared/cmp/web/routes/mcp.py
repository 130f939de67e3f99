"""A subscription's MCP endpoint, `POST /v1/mcp/{subscription_id}` (behind the runtime authorizer): the
agent's `ask` and the knowledge base's `search` as MCP tools, Streamable HTTP in stateless JSON mode
(`cmp.mcp_endpoint`).

The credential must be an API key or the buyer's portal token (a widget token, which is public, is a 403)
that belongs to the path's subscription (404 otherwise: never another tenant's data) and holds `invoke`; the `search` tool also needs `knowledge:read`. Each `ask` is admitted by the gateway as one
`messages` unit and each `search` as one metered `api_calls` unit, as the chat and search routes are (a
tool call's answer carries the RateLimit headers); a refusal
(scope, rate limit, quota) is the tool's error result, since MCP clients read tool errors, not HTTP ones.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import ConfigDict, Field

from cmp.bootstrap import Services
from cmp.conversations.model import ChatRequest
from cmp.errors import FieldError, Forbidden, ValidationFailed
from cmp.gateway.context import RuntimeContext
from cmp.knowledge.grounding import citation
from cmp.mcp_endpoint import AgentTools, SearchMethod, handle
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.schemas import ApiModel, answers

router = Router()

JSON_RPC = {"type": "object", "description": "A JSON-RPC 2.0 response"}
MCP_ANSWERS = answers(200, "The JSON-RPC answer (MCP Streamable HTTP, JSON mode)", 401, 403, 404)
MCP_ANSWERS[200]["content"] = {
    "application/json": {
        "schema": JSON_RPC,
        "example": {"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "ask"}, {"name": "search"}]}},
    }
}
MCP_ANSWERS[202] = {"description": "A JSON-RPC notification was accepted (no body)", "content": {}}
MCP_ANSWERS[406] = {
    "description": "The request does not accept application/json (MCP clients send "
    "`Accept: application/json, text/event-stream`); a JSON-RPC error body",
    "content": {"application/json": {"schema": JSON_RPC}},
}


class McpMessage(ApiModel):
    """One JSON-RPC 2.0 request (with `id`) or notification (without) from an MCP client; the `mcp` package
    reads the rest (`params` per method)."""

    model_config = ConfigDict(extra="allow", strict=True)

    jsonrpc: Literal["2.0"]
    method: str = Field(min_length=1, max_length=200)
    id: int | str | None = None
    params: dict[str, Any] | None = None


def agent_tools(
    services: Services,
    ctx: RuntimeContext,
    subscription_id: UUID,
    request_id: str,
    limits: dict[str, str],
) -> AgentTools:
    """`ask` and `search` for this caller, each admitted by the gateway and run as the chat and search
    routes run them; a `search` counts one `api_calls` unit (metered once per `request_id`). The admitted
    call's RateLimit headers are put in `limits`, for the HTTP answer."""

    def ask(question: str, session_id: str | None, language: str | None) -> dict[str, Any]:
        ctx.require_scope("invoke")
        request = ChatRequest(question, _session(session_id), None, language)
        with services.gateway.admit(ctx, metric="messages") as admission:
            limits.update(admission.headers)
            return services.agent.chat(ctx, request).as_dict()

    def search(query: str, top_k: int, method: SearchMethod) -> dict[str, Any]:
        ctx.require_scope("knowledge:read")
        with services.gateway.admit(ctx, metric="api_calls") as admission:
            limits.update(admission.headers)
            hits = services.knowledge_search.search(ctx.tenant_id, subscription_id, query, top_k, method)
            services.call_meter.record(
                ctx.tenant_id, subscription_id, ctx.key_id, f"{request_id}:search", admission.started_at
            )
        return {
            "query": query,
            "method": method,
            "hits": [
                {
                    "rank": h.rank,
                    "score": h.score,
                    "content": h.content,
                    "language": h.language,
                    "citation": citation(h.rank, h, query).as_dict(),
                }
                for h in hits
            ],
        }

    return AgentTools(ask=ask, search=search)


def _session(value: str | None) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(
            "session_id is not valid",
            errors=[FieldError("session_id", "must be a UUID from an earlier answer")],
        ) from None


@router.post("/v1/mcp/<subscription_id>", responses=MCP_ANSWERS)
def mcp(
    subscription_id: UUID,
    body: Annotated[McpMessage, Body(description="One JSON-RPC 2.0 request or notification (MCP)")],
    ctx: Runtime,
    services: ServicesDep,
) -> Response[Any]:
    """MCP over Streamable HTTP (stateless, JSON answers): `initialize`, `tools/list`, and `tools/call` of
    `ask` {question, session_id?, language?} and `search` {query, top_k?, method?}."""
    ctx.require_subscription(subscription_id)
    if ctx.principal == "widget_token":
        raise Forbidden(
            "the MCP endpoint takes an API key (X-Api-Key or Authorization: Bearer); a widget token is "
            "public and only calls the widget's own routes"
        )
    ctx.require_scope("invoke")
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    raw = event.decoded_body or ""
    limits: dict[str, str] = {}
    tools = agent_tools(services, ctx, subscription_id, str(event.request_context.request_id), limits)
    reply = handle(raw.encode("utf-8"), dict(event.headers), tools)
    headers = {**dict(reply.headers), **limits}
    content_type = headers.pop("content-type", "application/json")
    return Response(reply.status, content_type, reply.body.decode("utf-8"), headers)
