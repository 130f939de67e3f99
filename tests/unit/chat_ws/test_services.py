"""`WebSocketChat` against fakes: what `$connect` checks and stores, how a message streams, refusals as
error frames, and a gone connection forgotten while its turn still completes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from cmp.chat_ws.services import ConnectionGone, WebSocketChat
from cmp.conversations.model import ChatAnswer, ChatRequest
from cmp.errors import FieldError, Forbidden, NotFound, Unauthorized, ValidationFailed
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import QuotaExceeded

pytestmark = pytest.mark.unit
TENANT, SUBSCRIPTION = uuid.uuid4(), uuid.uuid4()


def _ctx(
    scopes: tuple[str, ...] = ("invoke",), runtime: Literal["shared", "dedicated"] = "shared"
) -> RuntimeContext:
    return RuntimeContext("api_key", TENANT, SUBSCRIPTION, uuid.uuid4(), "pro", runtime, uuid.uuid4(), scopes)


class Connections:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[uuid.UUID, dict[str, str]]] = {}
        self.expired_purges = 0

    def tenant_of(self, connection_id: str) -> uuid.UUID | None:
        return self.rows[connection_id][0] if connection_id in self.rows else None

    def add(self, connection_id: str, tenant_id: uuid.UUID, subscription_id: uuid.UUID,
            context: dict[str, str], lifetime_seconds: int) -> None:  # fmt: skip
        self.rows[connection_id] = (tenant_id, context)

    def context(self, connection_id: str) -> dict[str, str] | None:
        return self.rows[connection_id][1] if connection_id in self.rows else None

    def delete(self, connection_id: str) -> bool:
        return self.rows.pop(connection_id, None) is not None

    def delete_expired(self) -> int:
        self.expired_purges += 1
        return 0


class Uow:
    def __init__(self, connections: Connections) -> None:
        self.websocket_connections = connections

    def commit(self) -> None:
        pass


class Authorizer:
    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx

    def authorize(
        self, token: str, origin: str | None, subscription_id: str | None, header: str = "X-Api-Key"
    ) -> RuntimeContext:
        if token != "good":
            raise Unauthorized("unknown API key or widget token", errors=[FieldError(header, "unknown")])
        return self.ctx


class Admission:
    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *args: object) -> None:
        pass


class Gateway:
    def __init__(self) -> None:
        self.refuse: Exception | None = None
        self.admitted: list[str] = []

    def admit(self, ctx: RuntimeContext, metric: str = "api_calls", cost: int = 1) -> Admission:
        if self.refuse:
            raise self.refuse
        self.admitted.append(metric)
        return Admission()


class Agent:
    def __init__(self) -> None:
        self.completed = 0

    def stream(self, ctx: Any, request: ChatRequest) -> Iterator[str | ChatAnswer]:
        yield "Hola "
        yield "mundo"
        self.completed += 1
        yield ChatAnswer(
            uuid.uuid4(), uuid.uuid4(), "Hola mundo", "es", True, 1.0, None, "extractive", [], 2, 2
        )


def _chat(ctx: RuntimeContext | None = None) -> tuple[WebSocketChat, Connections, Gateway, Agent]:
    connections, gateway, agent = Connections(), Gateway(), Agent()

    @contextmanager
    def uow(tenant_id: Any = None) -> Iterator[Uow]:
        yield Uow(connections)

    chat = WebSocketChat(uow, Authorizer(ctx or _ctx()), gateway, agent)  # type: ignore[arg-type]
    return chat, connections, gateway, agent


def test_connect_stores_the_callers_context() -> None:
    chat, connections, _, _ = _chat()
    ctx = chat.connect("c1", "good", None, str(SUBSCRIPTION))
    assert connections.rows["c1"] == (TENANT, ctx.to_authorizer()) and connections.expired_purges == 1


@pytest.mark.parametrize(
    ("token", "subscription", "scopes", "error"),
    [
        (None, str(SUBSCRIPTION), ("invoke",), Unauthorized),
        ("bad", str(SUBSCRIPTION), ("invoke",), Unauthorized),
        ("good", None, ("invoke",), ValidationFailed),
        ("good", str(uuid.uuid4()), ("invoke",), NotFound),
        ("good", "not-a-uuid", ("invoke",), NotFound),
        ("good", str(SUBSCRIPTION), ("knowledge:read",), Forbidden),
    ],
)
def test_connect_refusals(
    token: str | None, subscription: str | None, scopes: tuple[str, ...], error: type
) -> None:
    chat, connections, _, _ = _chat(_ctx(scopes))
    with pytest.raises(error):
        chat.connect("c1", token, None, subscription)
    assert connections.rows == {}


def test_a_message_streams_tokens_then_done_admitted_as_one_message() -> None:
    chat, _, gateway, _ = _chat()
    chat.connect("c1", "good", None, str(SUBSCRIPTION))
    sent: list[dict[str, Any]] = []
    chat.message(
        "c1", json.dumps({"action": "chat", "message": "Hola"}), lambda f: sent.append(json.loads(f)), "r"
    )
    assert [f["type"] for f in sent] == ["token", "token", "done"] and gateway.admitted == ["messages"]
    assert sent[-1]["answer"] == "Hola mundo"


def test_refusals_are_error_frames() -> None:
    chat, _, gateway, agent = _chat()
    sent: list[dict[str, Any]] = []
    chat.message(
        "unknown",
        json.dumps({"action": "chat", "message": "Hola"}),
        lambda f: sent.append(json.loads(f)),
        "r",
    )
    assert sent[-1]["error"] == "unauthorized"
    chat.connect("c1", "good", None, str(SUBSCRIPTION))
    gateway.refuse = QuotaExceeded("messages", 10, 10, "2026-12-01T00:00:00Z", 60)
    chat.message(
        "c1", json.dumps({"action": "chat", "message": "Hola"}), lambda f: sent.append(json.loads(f)), "r"
    )
    assert sent[-1]["type"] == "error" and sent[-1]["error"] == "quota_exceeded" and agent.completed == 0


def test_a_gone_connection_is_forgotten_and_its_turn_completes() -> None:
    chat, connections, _, agent = _chat()
    chat.connect("c1", "good", None, str(SUBSCRIPTION))

    def gone(frame: str) -> None:
        raise ConnectionGone("c1")

    chat.message("c1", json.dumps({"action": "chat", "message": "Hola"}), gone, "r")
    assert "c1" not in connections.rows and agent.completed == 1


def test_disconnect_forgets_the_connection() -> None:
    chat, connections, _, _ = _chat()
    chat.connect("c1", "good", None, str(SUBSCRIPTION))
    chat.disconnect("c1")
    chat.disconnect("never-stored")
    assert connections.rows == {}


def test_a_dedicated_subscription_is_refused_at_connect_never_served_by_the_shared_pool() -> None:
    chat, connections, _, _ = _chat(_ctx(runtime="dedicated"))
    with pytest.raises(Forbidden, match="dedicated runtime"):
        chat.connect("c1", "good", None, str(SUBSCRIPTION))
    assert connections.rows == {}


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("info", msg))

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.lines.append(("exception", msg))


def test_the_handshake_answers_200_or_the_refusals_status_and_body() -> None:
    chat, connections, _, _ = _chat()
    log = Log()
    event = {"queryStringParameters": {"api_key": "good", "subscription_id": str(SUBSCRIPTION)}}
    assert chat.handshake("c1", event, log) == (200, "") and "c1" in connections.rows
    refused = {"queryStringParameters": {"api_key": "bad", "subscription_id": str(SUBSCRIPTION)}}
    status, body = chat.handshake("c2", refused, log)
    assert (status, json.loads(body)["error"]) == (401, "unauthorized") and "c2" not in connections.rows
    assert log.lines == [("info", "connected"), ("info", "connection refused")]


@pytest.mark.parametrize(
    ("query", "headers", "path"),
    [
        ({"api_key": "bad"}, {}, "query.api_key"),
        ({"widget_token": "bad"}, {}, "query.widget_token"),
        ({}, {"x-api-key": "bad"}, "X-Api-Key"),
        ({}, {"Authorization": "Bearer bad"}, "Authorization"),
    ],
)
def test_a_refused_credential_is_named_where_the_handshake_sent_it(
    query: dict[str, str], headers: dict[str, str], path: str
) -> None:
    chat, _, _, _ = _chat()
    event = {"queryStringParameters": {**query, "subscription_id": str(SUBSCRIPTION)}, "headers": headers}
    status, body = chat.handshake("c1", event, Log())
    assert (status, json.loads(body)["errors"]) == (401, [{"path": path, "message": "unknown"}])


def test_an_unexpected_error_is_logged_and_answered_with_the_internal_error_frame() -> None:
    chat, _, _, agent = _chat()
    chat.connect("c1", "good", None, str(SUBSCRIPTION))

    def broken(ctx: Any, request: ChatRequest) -> Iterator[str | ChatAnswer]:
        raise RuntimeError("boom")

    agent.stream = broken  # type: ignore[method-assign]
    sent: list[dict[str, Any]] = []
    log = Log()
    chat.answer(
        "c1",
        json.dumps({"action": "chat", "message": "Hola"}),
        lambda f: sent.append(json.loads(f)),
        "r",
        log,
    )
    assert sent == [{"type": "error", "error": "internal", "message": "unexpected error", "request_id": "r"}]
    assert log.lines == [("exception", "message failed")]
