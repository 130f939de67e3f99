"""Workflow secrets against real PostgreSQL, moto KMS and moto Step Functions: sealed at rest, never shown by
the API, rotated by PUT, read by a running step and masked in its recorded input and output, missing ones
failing the step, and another organization seeing nothing."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database

from .commerce_support import new_tenant
from .conftest import Platform, api_event, caller_of
from .workflow_support import automation, drive, portal_runtime, with_workflow_engine

VALUE = "shop-key-7f3a9c"


@pytest.fixture
def echo() -> Iterator[str]:
    """A local endpoint answering every GET with the query and headers it received (as JSON)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"path": self.path, "shop": self.headers.get("X-Shop", "")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _definition(url: str, secret: str = "SHOP_KEY") -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "manual"},
            {
                "id": "fetch",
                "type": "http",
                "config": {
                    "url": url + "/orders?k={{ secrets." + secret + " }}",
                    "headers": {"X-Shop": "{{ secrets." + secret + " }}"},
                },
            },
        ],
        "edges": [{"source": "start", "target": "fetch"}],
    }


def _run(
    services: Services, queue: str, tenant: str, subscription_id: uuid.UUID, definition: dict[str, Any]
) -> dict[str, Any]:
    [first] = services.workflows.list(tenant, subscription_id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition})
    services.workflows.activate(tenant, workflow_id)
    started = services.workflow_runs.start(tenant, workflow_id, {})
    return drive(services, queue, tenant, started["run_id"])


def test_a_step_uses_a_secret_that_never_shows_in_the_run(
    db: Database, services: Services, owner_conn: psycopg.Connection[Any], echo: str
) -> None:
    services, queue = with_workflow_engine(services)
    tenant = new_tenant(db, "Secret Buyer")
    subscription = automation(db, tenant)
    view, created = services.workflow_secrets.put(tenant, subscription.id, "SHOP_KEY", VALUE)
    assert created and view["name"] == "SHOP_KEY" and VALUE not in json.dumps(view, default=str)
    row = owner_conn.execute(
        "select wrapped_key, ciphertext from workflow_secrets where subscription_id = %s", (subscription.id,)
    ).fetchone()
    assert row is not None and VALUE.encode() not in bytes(row[0]) + bytes(row[1])

    detail = _run(services, queue, tenant, subscription.id, _definition(echo))
    assert detail["status"] == "succeeded", detail
    [step] = detail["steps"]
    assert step["input"]["url"].endswith("/orders?k=***") and step["input"]["headers"] == {"X-Shop": "***"}
    assert step["output"]["body"] == {"path": "/orders?k=***", "shop": "***"}, step["output"]
    assert VALUE not in json.dumps(detail, default=str)
    [listed] = services.workflow_secrets.list(tenant, subscription.id)
    assert listed["last_used_at"] is not None


def test_a_missing_secret_fails_the_step_by_name(db: Database, services: Services, echo: str) -> None:
    services, queue = with_workflow_engine(services)
    tenant = new_tenant(db, "Secret Buyer")
    subscription = automation(db, tenant)
    detail = _run(services, queue, tenant, subscription.id, _definition(echo, "NOT_SET"))
    assert detail["status"] == "failed"
    assert "NOT_SET" in (detail["steps"][0]["error"] or ""), detail


def _call(
    platform: Platform, method: str, path: str, who: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    response = platform.invoke("WorkflowsApiFunction", api_event(method, path, body, who))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def test_the_secret_routes_store_rotate_and_delete_without_showing_values(
    platform: Platform, db: Database, services: Services
) -> None:
    buyer = caller_of(services, "Secret Buyer", "buyer")
    other = caller_of(services, "Someone Else", "buyer")
    other = portal_runtime(automation(db, other["tenant_id"]), other)
    subscription = automation(db, buyer["tenant_id"])
    buyer = portal_runtime(subscription, buyer)
    base = f"/v1/subscriptions/{subscription.id}/secrets"
    status, stored = _call(platform, "PUT", f"{base}/SHOP_KEY", buyer, {"value": VALUE})
    assert (status, stored["name"], stored["rotations"]) == (200, "SHOP_KEY", []), stored
    status, rotated = _call(platform, "PUT", f"{base}/SHOP_KEY", buyer, {"value": VALUE + "-2"})
    assert (
        status == 200 and len(rotated["rotations"]) == 1 and rotated["rotated_at"] == rotated["rotations"][0]
    )
    status, listed = _call(platform, "GET", base, buyer)
    assert status == 200 and [s["name"] for s in listed["items"]] == ["SHOP_KEY"]
    assert VALUE not in json.dumps(listed)
    assert _call(platform, "PUT", f"{base}/9bad", buyer, {"value": "x"})[0] == 422
    assert _call(platform, "PUT", f"{base}/EMPTY", buyer, {"value": ""})[0] == 422
    for method, path, body in (
        ("GET", base, None),
        ("PUT", f"{base}/SHOP_KEY", {"value": "stolen"}),
        ("DELETE", f"{base}/SHOP_KEY", None),
    ):
        assert _call(platform, method, path, other, body)[0] == 404, (method, path)
    assert _call(platform, "DELETE", f"{base}/SHOP_KEY", buyer)[0] == 204
    assert _call(platform, "DELETE", f"{base}/SHOP_KEY", buyer)[0] == 404
    assert _call(platform, "GET", base, buyer)[1]["items"] == []


def test_the_product_caps_the_number_of_secrets(db: Database, services: Services) -> None:
    services, _ = with_workflow_engine(services)
    tenant = new_tenant(db, "Secret Buyer")
    subscription = automation(db, tenant)
    with db.session(tenant) as session:
        session.execute(
            "update subscriptions set capabilities = jsonb_set(capabilities,"
            " '{configuration,workflowAdvanced,detail}', %s::jsonb) where id = %s",
            (json.dumps({"data": {"secrets": {"maxSecrets": 1}}}), subscription.id),
        )
    services.workflow_secrets.put(tenant, subscription.id, "ONE", "value-1")
    from cmp.errors import Conflict

    with pytest.raises(Conflict):
        services.workflow_secrets.put(tenant, subscription.id, "TWO", "value-2")
    services.workflow_secrets.put(tenant, subscription.id, "ONE", "value-1b")
