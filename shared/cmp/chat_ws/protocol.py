"""The WebSocket chat protocol (docs/websocket.md), with no I/O.

Client → server, one JSON text message per turn: `{"action": "chat", "message": str, "session_id"?: uuid,
"language"?: one of the agent's languages}`; the fields and their limits are the REST chat body's
(`cmp.web.agent_schemas.ChatBody`), so one turn is valid on both transports or on neither. Images are REST-only (a 10 MiB data URL does not fit
API Gateway's 128 KiB WebSocket frame).

Server → client, JSON text frames: `{"type": "token", "text"}` as the answer is produced, then
`{"type": "done", ...}` carrying the whole answer as the REST route returns it (`answer`, `citations`,
`usage`, `session_id`, `message_id`, `language`, `grounded`, `confidence`, `fallback`, `mode`); or, instead,
`{"type": "error", "error", "message", "errors"?, "request_id"}`: the platform's error body
(`cmp.errors.DomainError.to_dict`, `cmp.web.api`) with `type` added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cmp.conversations.model import ChatAnswer, ChatRequest
from cmp.errors import DomainError, FieldError, ValidationFailed
from cmp.web.agent_schemas import ChatBody

ACTIONS = ("chat",)
"""The `action` values the server answers (API Gateway's route selection expression is
`$request.body.action`; every message reaches the `$default` route's handler)."""
MAX_FRAME_BYTES = 128 * 1024
"""API Gateway's limit on one WebSocket frame (service quota "WebSocket frame size", 32 KiB per frame and
128 KiB per message); a longer message is refused before parsing."""


@dataclass(frozen=True)
class ChatMessage:
    """One client turn: the REST chat route's `ChatRequest` without an image or idempotency key."""

    request: ChatRequest


def parse_message(text: str) -> ChatMessage:
    """The client's message as a chat turn. Raises ValidationFailed (422) naming the field: a message past
    MAX_FRAME_BYTES, text that is not a JSON object (parsed by `cmp.web.api.parse_json_body`, the REST bodies'
    reader), an `action` other than `chat`, or a turn `ChatBody` refuses (missing or too long `message`, a
    `session_id` that is not a UUID, an unknown field, an `image`), in the REST routes' words
    (`cmp.web.api.problem_message`: a blank `message` is called blank)."""
    from cmp.web.api import error_path, parse_json_body, problem_message  # the REST bodies' reader and errors

    if len(text.encode("utf-8", "surrogateescape")) > MAX_FRAME_BYTES:
        raise ValidationFailed(
            "the message is too large", errors=[FieldError("body", f"longer than {MAX_FRAME_BYTES} bytes")]
        )
    document = parse_json_body(text)
    if not isinstance(document, dict):
        raise ValidationFailed("send a JSON object", errors=[FieldError("body", "is not a JSON object")])
    action = document.pop("action", None)
    if action not in ACTIONS:
        shown = json.dumps(action)[:60] if action is not None else "missing"
        raise ValidationFailed(
            "unknown action", errors=[FieldError("action", f"is {shown}; use one of: {', '.join(ACTIONS)}")]
        )
    if "image" in document:
        raise ValidationFailed(
            "images are sent to the REST chat route",
            errors=[FieldError("image", "is not accepted over WebSocket; POST the turn to /chat")],
        )
    try:
        body = ChatBody.model_validate(document)
    except ValidationError as e:
        raise ValidationFailed(
            "the message is not a valid chat turn",
            errors=[
                FieldError(error_path(("body", *err["loc"])), problem_message(err)) for err in e.errors()
            ],
        ) from None
    return ChatMessage(ChatRequest(body.message, body.session_id, None, body.language))


def token_frame(text: str) -> str:
    """A piece of the answer as it is produced."""
    return _dumps({"type": "token", "text": text})


def done_frame(answer: ChatAnswer) -> str:
    """The stored answer, as the REST chat route returns it, with `type` "done"."""
    return _dumps({"type": "done", **answer.as_dict()})


UNAVAILABLE = {"error": "unavailable", "message": "a dependency is unavailable; try again shortly"}
"""The body the REST API answers with a 503 for a transient AWS failure (`cmp.web.api`)."""
UNEXPECTED = {"error": "internal", "message": "unexpected error"}
"""The body the REST API answers with a 500 (`cmp.web.api`)."""


def error_body(error: DomainError) -> dict[str, object]:
    """The platform's error body of a domain error (`{"error", "message", "errors"?}`)."""
    return error.to_dict()


def error_frame(body: Mapping[str, object], request_id: str) -> str:
    """An error body (`error_body`, UNAVAILABLE, UNEXPECTED) with `type` "error" and the event's `request_id`."""
    return _dumps({"type": "error", **body, "request_id": request_id})


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False)
