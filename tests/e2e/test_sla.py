"""SLA monitoring in `make run`: calls to the demo agent's Enterprise plan (a dedicated runtime, a process of
its own) print the gateway's EMF metrics, which the local stack extracts into moto's CloudWatch; the SLA
evaluator's schedule reads them back and `GET /v1/subscriptions/{id}/sla` counts the calls, and the
failures once the runtime is gone (503 `runtime_down`)."""

from __future__ import annotations

from typing import Any

import httpx

from cmp.provisioning.cluster import KINDS
from cmp_dev.local.dev import Stack

from .conftest import Account, eventually


def test_the_sla_counts_the_dedicated_runtimes_calls_and_failures(
    api: httpx.Client, stack: Stack, seeded: dict[str, Any], buyer: Account
) -> None:
    product = api.get("/v1/marketplace/products/acme-support-agent").json()
    enterprise = next(p for p in product["plans"] if p["name"] == "Enterprise")
    order = buyer.post(
        "/v1/checkout",
        json={"product": "acme-support-agent", "plan_id": enterprise["id"], "billing_period": "monthly"},
    )
    assert order.status_code == 201, order.text
    subscription_id = order.json()["subscription_id"]
    eventually(
        lambda: buyer.get(f"/v1/subscriptions/{subscription_id}").json()["status"] == "active", timeout=60
    )
    before = buyer.get(f"/v1/subscriptions/{subscription_id}/sla")
    assert before.status_code == 200, before.text
    assert before.json()["requests"] == 0 and before.json()["targets"]["availability"] == 99.9

    key = buyer.post(
        f"/v1/subscriptions/{subscription_id}/api-keys", json={"name": "sla", "scopes": ["invoke"]}
    ).json()["secret"]
    headers = {"Authorization": f"Bearer {key}"}
    for _ in range(3):
        answer = api.get(f"/v1/runtime/{subscription_id}/context", headers=headers)
        assert answer.status_code == 200 and answer.headers["X-CMP-Runtime"] == "dedicated", answer.text
    schedule = next(s for s in stack.template.schedules if s.function == "SlaEvaluatorFunction")

    def evaluated(requests: int, errors: int) -> dict[str, Any] | None:
        report = stack.runner.fire(schedule.function, schedule.name)
        assert report is not None and report["errors"] == 0, report
        sla: dict[str, Any] = buyer.get(f"/v1/subscriptions/{subscription_id}/sla").json()
        return sla if (sla["requests"], sla["errors"]) == (requests, errors) else None

    sla = eventually(lambda: evaluated(3, 0), timeout=30, interval=1)
    assert sla["availability"] == {"attainment": 100.0, "met": True} and sla["evaluated_at"] is not None
    assert sla["latency"]["successful"] == 3

    namespace = f"tenant-{buyer.tenant_id}"
    assert stack.kubernetes.cluster.delete(KINDS["Deployment"], namespace, f"sub-{subscription_id}")
    down = api.get(f"/v1/runtime/{subscription_id}/context", headers=headers)
    assert (down.status_code, down.json()["error"]) == (503, "runtime_down"), down.text
    sla = eventually(lambda: evaluated(4, 1), timeout=30, interval=1)
    assert sla["availability"] == {"attainment": 75.0, "met": False}
    assert "availability" in [i["kind"] for i in sla["incidents"]]  # the minute with the failure
    assert {a["severity"] for a in sla["alerts"]} == {"page", "ticket"}
