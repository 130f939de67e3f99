"""Streaming chat over the local runner's WebSocket API (`ws://…/ws`), with the `websockets` client: the
handshake runs `$connect` (API key in the query string or a header; no key, a wrong key and another
organization's subscription refused with their HTTP status), a chat turn streams token frames then a done
frame whose answer the REST chat route can be given feedback on, bad input is an error frame on an open
connection, and `@connections` answers a gone connection with API Gateway's 410."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cmp_dev.local.dev import Stack
from cmp_dev.seed import BUYER
from tests.e2e.conftest import sign_up

pytestmark = pytest.mark.e2e


def _buyer(api: httpx.Client) -> dict[str, str]:
    login = api.post("/v1/auth/login", json={"email": BUYER.email, "password": BUYER.password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _key(api: httpx.Client, auth: dict[str, str], subscription: str) -> str:
    created = api.post(
        f"/v1/subscriptions/{subscription}/api-keys", headers=auth, json={"name": "ws", "scopes": ["invoke"]}
    )
    assert created.status_code == 201, created.text
    secret: str = created.json()["secret"]
    return secret


def _frames(ws: Any) -> list[dict[str, Any]]:
    """Frames until a done or error frame."""
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] == "token":
        frames.append(json.loads(ws.recv(timeout=60)))
    return frames


def test_a_turn_streams_tokens_then_the_answer(
    stack: Stack, api: httpx.Client, seeded: dict[str, Any]
) -> None:
    auth = _buyer(api)
    subscription = seeded["subscriptions"]["acme-support-agent"]
    key = _key(api, auth, subscription)
    url = f"{stack.runner.websocket_url}?subscription_id={subscription}&api_key={key}"
    with connect(url) as ws:
        ws.send(json.dumps({"action": "chat", "message": "What is the return policy?"}))
        frames = _frames(ws)
        assert frames[-1]["type"] == "done", frames[-1]
        done = frames[-1]
        tokens = [f["text"] for f in frames[:-1]]
        assert tokens and "".join(tokens).strip() == done["answer"].strip()
        assert {"answer", "citations", "usage", "session_id", "message_id"} <= set(done)
        # the same session goes on; bad input is an error frame and the connection stays open
        ws.send(json.dumps({"action": "chat", "message": "And exchanges?", "session_id": done["session_id"]}))
        assert _frames(ws)[-1]["session_id"] == done["session_id"]
        ws.send("{not json")
        error = _frames(ws)[-1]
        assert error["type"] == "error" and error["error"] == "validation_failed" and error["request_id"]
        ws.send(json.dumps({"action": "dance"}))
        assert _frames(ws)[-1]["errors"][0]["path"] == "action"
        ws.send(json.dumps({"action": "chat"}))
        assert _frames(ws)[-1]["errors"][0]["path"] == "message"
    rated = api.post(
        f"/v1/agents/{subscription}/messages/{done['message_id']}/feedback",
        headers={"X-Api-Key": key},
        json={"rating": "up"},
    )
    assert rated.status_code == 201, rated.text
    # the key in a header works as well as in the query string
    with connect(
        f"{stack.runner.websocket_url}?subscription_id={subscription}", additional_headers={"X-Api-Key": key}
    ) as ws:
        ws.send(json.dumps({"action": "chat", "message": "Hi"}))
        assert _frames(ws)[-1]["type"] == "done"


def test_the_handshake_is_refused_without_a_valid_credential(
    stack: Stack, api: httpx.Client, seeded: dict[str, Any]
) -> None:
    auth = _buyer(api)
    subscription = seeded["subscriptions"]["acme-support-agent"]
    key = _key(api, auth, subscription)
    base = f"{stack.runner.websocket_url}?subscription_id={subscription}"
    for url, status in (
        (base, 401),
        (f"{base}&api_key=ar_sk_live_{'x' * 40}", 401),
        (f"{stack.runner.websocket_url}?api_key={key}", 422),
    ):
        with pytest.raises(InvalidStatus) as refused:
            connect(url)
        assert refused.value.response.status_code == status, url
    # another organization's subscription, named with this organization's key: 404, as on the REST routes
    other = sign_up(api, "WS Other Org", "buyer")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.runner.websocket_url}?subscription_id={other.tenant_id}&api_key={key}")
    assert refused.value.response.status_code == 404


def test_connections_answers_gone_for_an_unknown_connection(stack: Stack, api: httpx.Client) -> None:
    sent = api.post("/@connections/bm90LWEtY29ubmVjdGlvbg%3D%3D", content=b"{}")
    assert sent.status_code == 410 and sent.headers["x-amzn-errortype"] == "GoneException"
