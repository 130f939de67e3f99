"""`make run` plays the cluster: buying the demo agent's Enterprise plan provisions its dedicated runtime
end to end (outbox → Step Functions in moto → the provisioning worker → the fake Kubernetes API server and
moto's IAM), its Deployment runs as a separate local process, the subscription becomes active, and its
calls are answered by that process over HTTP (`X-CMP-Runtime: dedicated`); the health checker marks the
killed process's endpoint down. A shared subscription upgraded to the Enterprise plan runs on the shared
runtime until its own is ready, then on it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from cmp.provisioning.cluster import KINDS
from cmp.provisioning.router import RegisteredRuntimes
from cmp_dev.local.dev import Stack

from .conftest import Account, eventually


def test_buying_the_demo_agent_enterprise_plan_provisions_it(
    api: httpx.Client, stack: Stack, seeded: dict[str, Any], buyer: Account, stack_services: Any
) -> None:
    product = api.get("/v1/marketplace/products/acme-support-agent").json()
    enterprise = next(p for p in product["plans"] if p["name"] == "Enterprise")
    assert enterprise["runtime_type"] == "dedicated" and enterprise["price_monthly"] == "999.00"
    order = buyer.post(
        "/v1/checkout",
        json={"product": "acme-support-agent", "plan_id": enterprise["id"], "billing_period": "monthly"},
    )
    assert order.status_code == 201, order.text
    subscription_id = order.json()["subscription_id"]

    def active() -> dict[str, Any] | None:
        shown: dict[str, Any] = buyer.get(f"/v1/subscriptions/{subscription_id}").json()
        return shown if shown["status"] == "active" else None

    shown = eventually(active, timeout=60)
    assert shown["runtime_type"] == "dedicated"
    namespace = f"tenant-{buyer.tenant_id}"
    objects = stack.kubernetes.cluster.objects
    assert ("deployments", namespace, f"sub-{subscription_id}") in objects
    assert ("networkpolicies", namespace, "gateway-only") in objects

    process = stack.runtimes.address(namespace, f"sub-{subscription_id}")
    assert process is not None
    endpoint = stack.kubernetes.cluster.get(KINDS["Service"], namespace, f"sub-{subscription_id}")
    assert (
        endpoint is not None
        and endpoint["status"]["loadBalancer"]["ingress"][0]["ports"][0]["port"] == process[1]
    )

    key = buyer.post(
        f"/v1/subscriptions/{subscription_id}/api-keys", json={"name": "e2e", "scopes": ["invoke"]}
    )
    assert key.status_code == 201, key.text
    headers = {"Authorization": f"Bearer {key.json()['secret']}"}
    answer = api.post(f"/v1/agents/{subscription_id}/chat", json={"message": "hello"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-CMP-Runtime"] == "dedicated" and "RateLimit" in answer.headers

    assert stack.kubernetes.cluster.delete(KINDS["Deployment"], namespace, f"sub-{subscription_id}")
    assert stack.runtimes.address(namespace, f"sub-{subscription_id}") is None, "its process stopped"
    down = api.post(f"/v1/agents/{subscription_id}/chat", json={"message": "hello"}, headers=headers)
    assert (down.status_code, down.json()["error"]) == (503, "runtime_down"), down.text
    assert down.headers["Retry-After"] == "5" and down.headers["X-CMP-Runtime"] == "dedicated"

    # The health checker (its schedule, fired here rather than waiting for the minute) finds the killed
    # process and marks the endpoint down after three failed probes in a row.
    schedule = next(s for s in stack.template.schedules if s.function == "RuntimeHealthFunction")
    routes = RegisteredRuntimes(stack_services.unit_of_work)

    def marked_down() -> dict[str, Any] | None:
        stack.runner.fire(schedule.function, schedule.name)
        route = routes.route(UUID(buyer.tenant_id), UUID(subscription_id))
        return route if route is not None and route["endpoint_state"] == "down" else None

    route = eventually(marked_down, timeout=60, interval=0.5)
    assert route["state_reason"].startswith("unreachable"), route
    refused = api.post(f"/v1/agents/{subscription_id}/chat", json={"message": "hello"}, headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (503, "runtime_down"), refused.text


def test_upgrading_a_shared_subscription_to_enterprise_switches_to_its_runtime_once_ready(
    api: httpx.Client, stack: Stack, seeded: dict[str, Any], buyer: Account
) -> None:
    plans = {
        p["name"]: p["id"] for p in api.get("/v1/marketplace/products/acme-support-agent").json()["plans"]
    }
    order = buyer.post(
        "/v1/checkout",
        json={"product": "acme-support-agent", "plan_id": plans["Pro"], "billing_period": "monthly"},
    )
    assert order.status_code == 201, order.text
    subscription_id = order.json()["subscription_id"]
    key = buyer.post(
        f"/v1/subscriptions/{subscription_id}/api-keys", json={"name": "e2e", "scopes": ["invoke"]}
    )
    headers = {"Authorization": f"Bearer {key.json()['secret']}"}
    context = f"/v1/runtime/{subscription_id}/context"
    assert api.get(context, headers=headers).headers["X-CMP-Runtime"] == "shared"

    upgrade = buyer.post(
        f"/v1/subscriptions/{subscription_id}/plan",
        json={"plan_id": plans["Enterprise"], "billing_period": "monthly"},
    )
    assert upgrade.status_code == 200, upgrade.text
    assert upgrade.json()["runtime"] == {"type": "shared", "state": "pending", "target": "dedicated"}
    during = api.get(context, headers=headers)
    assert (during.status_code, during.headers["X-CMP-Runtime"]) == (200, "shared"), during.text

    def switched() -> httpx.Response | None:
        answer = api.get(context, headers=headers)
        return answer if answer.headers["X-CMP-Runtime"] == "dedicated" else None

    after = eventually(switched, timeout=90, interval=2)
    assert after.status_code == 200, after.text
    shown = buyer.get(f"/v1/subscriptions/{subscription_id}").json()
    assert (shown["status"], shown["runtime_type"], shown["plan"]["name"]) == (
        "active",
        "dedicated",
        "Enterprise",
    )
    assert shown["provisioning"]["state"] == "completed"
    namespace = f"tenant-{buyer.tenant_id}"
    assert stack.runtimes.address(namespace, f"sub-{subscription_id}") is not None
