"""The gateway routes a dedicated subscription's runtime calls to its registered endpoint: a real HTTP server
running the dedicated runtime's handler (infra/runtime/app.py, as its container does) answers chat, MCP and
the runtime context, with `X-CMP-Runtime: dedicated`; shared calls answer `shared`. Still provisioning: 503
naming the state. Endpoint down (marked, or not answering): 503 with `Retry-After`, never another runtime.
Another tenant's key never reaches this runtime, and the runtime refuses another subscription's call."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.local.functions import LambdaContext, load_handler
from cmp_dev.local.runtime_host import runtime_server
from tests.knowledge_data import EMBEDDER, add_base, add_document
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, api_event, caller_of

pytestmark = pytest.mark.integration
RUNTIME_APP = Path(__file__).resolve().parents[2] / "infra" / "runtime"


def _key(services: Services, buyer: dict[str, str], subscription_id: uuid.UUID) -> RuntimeContext:
    issued = services.integration.create_api_key(
        buyer["tenant_id"],
        buyer["user_id"],
        subscription_id,
        ApiKeyRequest("k", ["invoke", "knowledge:read"]),
    )
    return services.runtime_authorizer.authorize(issued.secret, None, None)


def _dedicated(owner: psycopg.Connection[Any], subscription_id: uuid.UUID, state: str) -> None:
    owner.execute(
        "update subscriptions set runtime_type = 'dedicated', provisioning = %s where id = %s",
        (json.dumps({"state": state}), subscription_id),
    )


@pytest.fixture
def world(services: Services, db: Database, owner_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Buyer A: a dedicated subscription (with a knowledge base) and a shared one; buyer B: a dedicated
    subscription still provisioning. API-key contexts for each (the authorizer's, so `runtime` is read
    from the subscription after it became dedicated)."""
    a, b = caller_of(services, "Dedicated A", "buyer"), caller_of(services, "Dedicated B", "buyer")
    document = capabilities(interfaces={"api": {"enabled": True}})
    dedicated = subscribe(db, a["tenant_id"], document, plan=PRO_PLAN)
    base = add_base(db, uuid.UUID(a["tenant_id"]), dedicated.id)
    add_document(db, base, ["Returns are accepted within 30 days of delivery."], title="Return policy")
    shared = subscribe(db, a["tenant_id"], document, plan=PRO_PLAN)
    other = subscribe(db, b["tenant_id"], document, plan=PRO_PLAN)
    _dedicated(owner_conn, dedicated.id, "running")
    _dedicated(owner_conn, other.id, "running")
    return {
        "tenant": a["tenant_id"],
        "id": dedicated.id,
        "dedicated": _key(services, a, dedicated.id),
        "shared": _key(services, a, shared.id),
        "other_id": other.id,
        "other": _key(services, b, other.id),
    }


@pytest.fixture
def runtime(
    platform: Platform, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """The dedicated runtime of A's subscription served over HTTP as its container serves it; `seen`
    counts the invocations it received."""
    for function in ("AgentApiFunction", "McpApiFunction", "RuntimeApiFunction"):
        platform.function(function).services.embedder = EMBEDDER
    monkeypatch.setenv("CMP_RUNTIME", "dedicated")
    monkeypatch.setenv("CMP_SUBSCRIPTION_ID", str(world["id"]))
    module = load_handler(RUNTIME_APP, "app", "", f"test_dedicated_{uuid.uuid4().hex[:6]}")
    module.services.embedder = EMBEDDER
    monkeypatch.delenv("CMP_RUNTIME")
    seen: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return module.handler(event, context)

    server = runtime_server(handler, "dedicated")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "seen": seen, "module": module}
    finally:
        server.shutdown()
        server.server_close()
        module.services.db.close()


def _register(owner: psycopg.Connection[Any], world: dict[str, Any], url: str, state: str = "ready") -> None:
    owner.execute(
        "insert into runtime_endpoints (subscription_id, tenant_id, namespace, url, product_version, state,"
        " state_reason) values (%s, %s, %s, %s, '1.0.0', %s, %s) on conflict (subscription_id) do update"
        " set url = excluded.url, state = excluded.state, state_reason = excluded.state_reason",
        (
            world["id"],
            world["tenant"],
            f"tenant-{world['tenant']}",
            url,
            state,
            "node drained" if state == "down" else None,
        ),
    )


def _call(
    platform: Platform, function: str, ctx: RuntimeContext, path: str, body: Any = None, method: str = "POST"
) -> tuple[int, dict[str, str], Any]:
    event = api_event(method, path, body)
    if function == "McpApiFunction":
        event["headers"]["accept"] = "application/json, text/event-stream"
    event["requestContext"]["authorizer"] = {**ctx.to_authorizer(), "principalId": f"key:{ctx.key_id}"}
    answer = platform.invoke(function, event)
    headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (
        answer.get("headers") or {}
    )
    text = answer.get("body") or ""
    return answer["statusCode"], headers, json.loads(text) if text.startswith(("{", "[")) else text


def test_a_dedicated_subscription_is_answered_by_its_runtime(
    platform: Platform, world: dict[str, Any], runtime: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    sub = world["id"]
    status, headers, body = _call(
        platform, "RuntimeApiFunction", world["dedicated"], f"/v1/runtime/{sub}/context", method="GET"
    )
    assert status == 503 and body["errors"] == [{"path": "provisioning.state", "message": "running"}]
    assert headers["X-CMP-Runtime"] == "dedicated" and not runtime["seen"]

    _register(owner_conn, world, runtime["url"])
    status, headers, body = _call(
        platform, "RuntimeApiFunction", world["dedicated"], f"/v1/runtime/{sub}/context", method="GET"
    )
    assert status == 200 and body["subscription_id"] == str(sub) and body["runtime"] == "dedicated", body
    assert headers["X-CMP-Runtime"] == "dedicated" and "RateLimit" in headers, "admitted by the runtime"
    forwarded = runtime["seen"][-1]
    assert forwarded["requestContext"]["authorizer"]["subscription_id"] == str(sub), (
        "the RuntimeContext went along"
    )

    status, headers, body = _call(platform, "AgentApiFunction", world["dedicated"], f"/v1/agents/{sub}/chat",
                                  {"message": "Are returns accepted after delivery?"})  # fmt: skip
    assert status == 200 and body["citations"][0]["title"] == "Return policy", body
    assert headers["X-CMP-Runtime"] == "dedicated" and len(runtime["seen"]) == 2

    status, headers, body = _call(platform, "McpApiFunction", world["dedicated"], f"/v1/mcp/{sub}",
                                  {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})  # fmt: skip
    assert status == 200 and {t["name"] for t in body["result"]["tools"]} == {"ask", "search"}
    assert headers["X-CMP-Runtime"] == "dedicated" and len(runtime["seen"]) == 3


def test_shared_calls_run_in_process_and_say_so(
    platform: Platform, world: dict[str, Any], runtime: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    _register(owner_conn, world, runtime["url"])
    shared = world["shared"].subscription_id
    status, headers, body = _call(
        platform, "RuntimeApiFunction", world["shared"], f"/v1/runtime/{shared}/context", method="GET"
    )
    assert (status, body["runtime"], headers["X-CMP-Runtime"]) == (200, "shared", "shared")
    status, headers, _ = _call(
        platform, "AgentApiFunction", world["shared"], f"/v1/agents/{shared}/chat", {"message": "hi"}
    )
    assert status == 200 and headers["X-CMP-Runtime"] == "shared"
    assert not runtime["seen"]


def test_a_runtime_down_is_a_503_with_retry_after(
    platform: Platform, world: dict[str, Any], runtime: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    path = f"/v1/runtime/{world['id']}/context"
    _register(owner_conn, world, runtime["url"], state="down")
    status, headers, body = _call(platform, "RuntimeApiFunction", world["dedicated"], path, method="GET")
    assert (status, body["error"], headers["Retry-After"]) == (503, "runtime_down", "5")
    assert "node drained" in body["message"] and not runtime["seen"]

    _register(owner_conn, world, "http://127.0.0.1:9")  # nothing listens on the discard port
    status, headers, body = _call(platform, "RuntimeApiFunction", world["dedicated"], path, method="GET")
    assert (status, body["error"], headers["Retry-After"]) == (503, "runtime_down", "5")
    assert headers["X-CMP-Runtime"] == "dedicated" and not runtime["seen"]


def test_another_tenant_never_reaches_this_runtime(
    platform: Platform, world: dict[str, Any], runtime: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    _register(owner_conn, world, runtime["url"])
    status, _, _ = _call(
        platform, "RuntimeApiFunction", world["other"], f"/v1/runtime/{world['id']}/context", method="GET"
    )
    assert status == 404, "B's key on A's subscription"
    status, _, body = _call(
        platform,
        "RuntimeApiFunction",
        world["other"],
        f"/v1/runtime/{world['other_id']}/context",
        method="GET",
    )
    assert status == 503 and body["errors"][0]["message"] == "running", (
        "B's own: not provisioned, not A's runtime"
    )
    assert not runtime["seen"]

    event = api_event("GET", f"/v1/runtime/{world['other_id']}/context")
    event["requestContext"]["authorizer"] = world["other"].to_authorizer()
    answer = runtime["module"].handler(event, LambdaContext("dedicated", 29))
    assert answer["statusCode"] == 404, "the runtime serves only the subscription its Deployment names"
