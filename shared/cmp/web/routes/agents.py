"""The agent runtime API (behind the runtime authorizer): chat (JSON or server-sent events), feedback on an
answer, the widget's settings, and a subscription's knowledge search and test.

Every route checks that the caller's credential belongs to the path's subscription (404 for any other: never
another tenant's data) and holds the route's scope (`invoke` for the agent, `knowledge:read` for search and
test); a chat turn is admitted by the gateway as one `messages` unit, a search or test as one `api_calls`
unit, which is also metered (429 past the rate limit or quota); answers carry the RateLimit headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from cmp.conversations.model import ChatAnswer, ChatRequest, ImageInput
from cmp.web.agent_schemas import (
    ChatBody,
    ChatResponse,
    FeedbackBody,
    FeedbackResponse,
    KnowledgeTestBody,
    SearchBody,
    SearchResponse,
    WidgetSettingsResponse,
)
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.schemas import answers

router = Router()
AGENT = "/v1/agents/<subscription_id>"
KNOWLEDGE = "/v1/subscriptions/<subscription_id>/knowledge"
EVENT_STREAM = "text/event-stream"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "Retrying a turn with the same key returns the first answer (and meters it once);"
            " another message under a used key is a 422"
        ),
    ),
]
Accept = Annotated[str | None, Header(alias="Accept", max_length=1000, description=f"{EVENT_STREAM} for SSE")]

CHAT_ANSWERS = answers(200, "The answer (JSON, or SSE when asked)", 401, 403, 404, 409, 429, 503)
CHAT_ANSWERS[200]["content"] = {
    "application/json": {"model": ChatResponse},
    EVENT_STREAM: {
        "schema": {"type": "string"},
        "example": 'event: token\ndata: {"text": "Hola"}\n\nevent: done\ndata: {"session_id": "..."}\n\n',
    },
}


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(items: Iterator[str | ChatAnswer]) -> str:
    """The SSE body: `token` events with `{"text"}`, then `done` with the whole answer. API Gateway REST
    and the Lambda Python runtime buffer the response, so the events arrive together; a streaming host
    sends the same events as they come."""
    parts = []
    for item in items:
        parts.append(
            _sse("done", item.as_dict()) if isinstance(item, ChatAnswer) else _sse("token", {"text": item})
        )
    return "".join(parts)


@router.post(f"{AGENT}/chat", responses=CHAT_ANSWERS)
def chat(
    subscription_id: UUID,
    body: ChatBody,
    ctx: Runtime,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
    accept: Accept = None,
) -> Response[Any]:
    """One turn with the agent: answered from the subscription's knowledge base in the user's language,
    with citations. An image is refused with a 403 when the product does not take images, a 422 when its
    model cannot read them. `Accept: text/event-stream` answers server-sent events."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope("invoke")
    image = ImageInput.parse(body.image.media_type, body.image.data) if body.image else None
    request = ChatRequest(body.message, body.session_id, image, body.language, idempotency_key)
    with services.gateway.admit(ctx, metric="messages") as admission:
        if accept and EVENT_STREAM in accept.lower():
            stream = _events(services.agent.stream(ctx, request))
            return Response(
                200, EVENT_STREAM, stream, headers={**admission.headers, "Cache-Control": "no-cache"}
            )
        answer = services.agent.chat(ctx, request)
        payload = ChatResponse.model_validate(answer.as_dict())
        return Response(200, content_types.APPLICATION_JSON, payload, headers=admission.headers)


@router.post(f"{AGENT}/messages/<message_id>/feedback", responses=answers(201, "Recorded", 401, 403, 404))
def feedback(
    subscription_id: UUID, message_id: UUID, body: FeedbackBody, ctx: Runtime, services: ServicesDep
) -> tuple[FeedbackResponse, int]:
    """The end user's rating of one answer (`up` or `down`, with an optional comment); rating it again
    replaces the first rating. 404 for a message that is not one of this agent's answers."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope("invoke")
    services.agent.rate(ctx.tenant_id, subscription_id, message_id, body.rating, body.comment)
    return FeedbackResponse(message_id=str(message_id), rating=body.rating, comment=body.comment), 201


@router.get(f"{AGENT}/widget", responses=answers(200, "The widget's settings", 401, 403, 404, 409))
def widget(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> WidgetSettingsResponse:
    """What the embeddable widget renders: its type, theme, colours, position, size, avatar and launcher,
    the welcome message and suggested prompts, and the brand's name."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope("invoke")
    return WidgetSettingsResponse.model_validate(services.agent.widget(ctx.tenant_id, subscription_id))


@router.post(
    f"{KNOWLEDGE}/search",
    responses=answers(200, "Ranked chunks with citations", 401, 403, 404, 409, 429, 503),
)
def search(
    subscription_id: UUID, body: SearchBody, ctx: Runtime, services: ServicesDep
) -> Response[SearchResponse]:
    """Search the subscription's knowledge base by `vector`, `keyword` or `hybrid` (reciprocal rank
    fusion of both); `filters` narrow by source type, document, language, date and metadata. 409 when the
    base was embedded with another model than the one queries use (keyword search still works)."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope("knowledge:read")
    with services.gateway.admit(ctx, metric="api_calls") as admission:
        hits = services.knowledge_search.search(
            ctx.tenant_id, subscription_id, body.query, body.top_k, body.method, body.search_filters()
        )
        services.call_meter.record(
            ctx.tenant_id, subscription_id, ctx.key_id, _request_id(), admission.started_at
        )
    payload = SearchResponse.of(body, hits)
    return Response(200, content_types.APPLICATION_JSON, payload, headers=admission.headers)


@router.post(
    f"{KNOWLEDGE}/test",
    responses=answers(200, "The answer the agent would give", 401, 403, 404, 409, 429, 503),
)
def test(
    subscription_id: UUID, body: KnowledgeTestBody, ctx: Runtime, services: ServicesDep
) -> Response[ChatResponse]:
    """ "Test knowledge base": the answer the agent would give to `question`, with its sources. Nothing is
    stored and no message is metered: the call counts one `api_calls` unit."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope("knowledge:read")
    with services.gateway.admit(ctx, metric="api_calls") as admission:
        answer = services.agent.test(ctx.tenant_id, subscription_id, body.question)
        services.call_meter.record(
            ctx.tenant_id, subscription_id, ctx.key_id, _request_id(), admission.started_at
        )
    payload = ChatResponse.model_validate(answer.as_dict())
    return Response(200, content_types.APPLICATION_JSON, payload, headers=admission.headers)


def _request_id() -> str:
    """The API Gateway request id of the current call: the key that meters it exactly once."""
    event = router.current_event
    assert isinstance(event, APIGatewayProxyEvent)
    return str(event.request_context.request_id)
