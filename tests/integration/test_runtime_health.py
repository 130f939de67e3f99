"""The runtime health checker (RuntimeHealthFunction, its handler as deployed) against a real HTTP server
running the dedicated runtime's handler (infra/runtime/app.py): an answering runtime stays `ready`; once its
process is killed, three failed probes in a row mark it `down` and announce `runtime.down` once through the
outbox; the gateway then answers 503 `runtime_down` without trying it; when it answers again it is `ready`
and `runtime.recovered` is announced once."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.errors import RuntimeDown
from cmp.gateway.routing import RuntimeRouting
from cmp.provisioning.router import RegisteredRuntimes
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.local.functions import load_handler
from cmp_dev.local.runtime_host import runtime_server
from tests.subscriptions import PRO_PLAN, capabilities, subscribe

from .conftest import Platform, api_event, caller_of

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCHEDULED = json.loads((REPO / "events" / "runtime_health.json").read_text())


class Runtime:
    """The dedicated runtime's handler served over HTTP on a fixed port, which can be killed and restarted;
    `seen` holds every invocation it received."""

    def __init__(self, module: Any) -> None:
        self.seen: list[dict[str, Any]] = []
        self._module = module
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def _handle(self, event: dict[str, Any], context: Any) -> Any:
        self.seen.append(event)
        return self._module.handler(event, context)

    def start(self) -> None:
        self._server = runtime_server(self._handle, "dedicated", self.port)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def kill(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def world(services: Services, db: Database, owner_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """A buyer's dedicated subscription with an API key's runtime context."""
    buyer = caller_of(services, "Health Buyer", "buyer")
    subscription = subscribe(db, buyer["tenant_id"], capabilities(), plan=PRO_PLAN)
    owner_conn.execute(
        "update subscriptions set runtime_type = 'dedicated', provisioning = '{\"state\": \"completed\"}'"
        " where id = %s",
        (subscription.id,),
    )
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("k", ["invoke"])
    )
    ctx = services.runtime_authorizer.authorize(issued.secret, None, None)
    return {"tenant": buyer["tenant_id"], "id": subscription.id, "ctx": ctx}


@pytest.fixture
def runtime(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("CMP_RUNTIME", "dedicated")
    monkeypatch.setenv("CMP_SUBSCRIPTION_ID", str(world["id"]))
    monkeypatch.setenv("CMP_PRODUCT_VERSION", "1.0.0")
    module = load_handler(REPO / "infra" / "runtime", "app", "", f"test_health_{uuid.uuid4().hex[:6]}")
    monkeypatch.delenv("CMP_RUNTIME")
    served = Runtime(module)
    served.start()
    try:
        yield served
    finally:
        served.kill()
        module.services.db.close()


def endpoint(owner: psycopg.Connection[Any], subscription_id: uuid.UUID) -> tuple[Any, ...]:
    row = owner.execute(
        "select state, consecutive_failures, state_reason, checked_at is not null from runtime_endpoints"
        " where subscription_id = %s",
        (subscription_id,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def announced(owner: psycopg.Connection[Any], subscription_id: uuid.UUID) -> list[str]:
    rows = owner.execute(
        "select name from outbox where kind = 'events' and payload->>'subscription_id' = %s"
        " order by created_at",
        (str(subscription_id),),
    ).fetchall()
    return [r[0] for r in rows]


def test_a_killed_runtime_is_marked_down_refused_at_once_and_recovers(
    platform: Platform,
    services: Services,
    world: dict[str, Any],
    runtime: Runtime,
    owner_conn: psycopg.Connection[Any],
) -> None:
    # Only this test's runtime is probed (endpoints other tests left behind point nowhere).
    owner_conn.execute("update runtime_endpoints set state = 'deprovisioned' where state <> 'deprovisioned'")
    owner_conn.execute(
        "insert into runtime_endpoints (subscription_id, tenant_id, namespace, url, product_version, state)"
        " values (%s, %s, %s, %s, '1.0.0', 'ready')",
        (world["id"], world["tenant"], f"tenant-{world['tenant']}", f"http://127.0.0.1:{runtime.port}"),
    )

    def check() -> dict[str, int]:
        report: dict[str, int] = platform.invoke("RuntimeHealthFunction", SCHEDULED)
        return report

    assert check() == {"checked": 1, "failed": 0, "down": 0, "recovered": 0}
    assert endpoint(owner_conn, world["id"]) == ("ready", 0, None, True)
    assert runtime.seen == [{"cmp": "health"}], "the probe reaches the runtime's handler"

    runtime.kill()
    for failures in (1, 2):
        assert check() == {"checked": 1, "failed": 1, "down": 0, "recovered": 0}
        assert endpoint(owner_conn, world["id"])[:2] == ("ready", failures)
    assert check() == {"checked": 1, "failed": 1, "down": 1, "recovered": 0}
    state, failures, reason, _ = endpoint(owner_conn, world["id"])
    assert (state, failures) == ("down", 3) and reason.startswith("unreachable")
    assert check()["down"] == 0, "a runtime already down is not announced again"
    assert announced(owner_conn, world["id"]) == ["runtime.down"]

    runtime.start()  # back on the same address, but still marked down: the gateway does not try it
    routing = RuntimeRouting(RegisteredRuntimes(services.unit_of_work))
    with pytest.raises(RuntimeDown) as refused:
        routing.forward(world["ctx"], api_event("GET", f"/v1/runtime/{world['id']}/context"))
    assert refused.value.headers == {"Retry-After": "5"}
    assert len(runtime.seen) == 1, "a runtime marked down is not called"

    assert check() == {"checked": 1, "failed": 0, "down": 0, "recovered": 1}
    assert endpoint(owner_conn, world["id"]) == ("ready", 0, None, True)
    assert announced(owner_conn, world["id"]) == ["runtime.down", "runtime.recovered"]
    assert routing.endpoint(world["ctx"]) == f"http://127.0.0.1:{runtime.port}"
