"""The WebSocket chat protocol: client messages parsed with the REST chat body's rules, frames in the
platform's shapes."""

from __future__ import annotations

import json
import uuid

import pytest

from cmp.chat_ws.protocol import (
    MAX_FRAME_BYTES,
    UNEXPECTED,
    done_frame,
    error_body,
    error_frame,
    parse_message,
    token_frame,
)
from cmp.conversations.model import ChatAnswer
from cmp.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.unit


def test_a_chat_turn_becomes_the_rest_routes_request() -> None:
    session = uuid.uuid4()
    turn = parse_message(
        json.dumps({"action": "chat", "message": "Hola", "session_id": str(session), "language": "es"})
    )
    assert (turn.request.message, turn.request.session_id, turn.request.language) == ("Hola", session, "es")
    assert turn.request.image is None and turn.request.idempotency_key is None


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("{oops", "body"),
        ("[1, 2]", "body"),
        ('{"message": "hi"}', "action"),
        ('{"action": "dance", "message": "hi"}', "action"),
        ('{"action": "chat"}', "message"),
        ('{"action": "chat", "message": ""}', "message"),
        ('{"action": "chat", "message": "hi", "session_id": "nope"}', "session_id"),
        ('{"action": "chat", "message": "hi", "image": {"media_type": "image/png", "data": "x"}}', "image"),
        ('{"action": "chat", "message": "hi", "colour": "red"}', "colour"),
        ('{"action": "chat", "action": "chat", "message": "hi"}', "action"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(text: str, path: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_message(text)
    assert refused.value.errors[0].path == path


@pytest.mark.parametrize(
    ("message", "words"),
    [(" \\n\\t ", "must not be blank (it is only whitespace)"), ("", "must not be empty")],
)
def test_a_blank_or_empty_message_is_called_so_as_the_rest_route_calls_it(message: str, words: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_message(f'{{"action": "chat", "message": "{message}"}}')
    assert [(e.path, e.message) for e in refused.value.errors] == [("message", words)]


def test_a_message_past_api_gateways_frame_limit_is_refused_before_parsing() -> None:
    with pytest.raises(ValidationFailed, match="too large"):
        parse_message("x" * (MAX_FRAME_BYTES + 1))


def test_frames() -> None:
    assert json.loads(token_frame("Hola ")) == {"type": "token", "text": "Hola "}
    answer = ChatAnswer(uuid.uuid4(), uuid.uuid4(), "Hola", "es", True, 0.9, None, "extractive", [], 3, 1)
    done = json.loads(done_frame(answer))
    assert done == {"type": "done", **answer.as_dict()}
    assert {"answer", "citations", "usage", "session_id", "message_id"} <= set(done)
    refused = json.loads(error_frame(error_body(NotFound("subscription not found")), "req-1"))
    assert refused == {
        "type": "error",
        "error": "not_found",
        "message": "subscription not found",
        "request_id": "req-1",
    }
    assert json.loads(error_frame(UNEXPECTED, "r"))["error"] == "internal"


def test_the_language_is_normalised_and_one_the_agent_does_not_speak_is_refused() -> None:
    turn = parse_message('{"action": "chat", "message": "Hola", "language": "ES"}')
    assert turn.request.language == "es"
    with pytest.raises(ValidationFailed) as refused:
        parse_message('{"action": "chat", "message": "hi", "language": "xx"}')
    [error] = refused.value.errors
    assert error.path == "language" and "en, es, fr, de, pt, it" in error.message
