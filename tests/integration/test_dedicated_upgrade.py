"""A shared subscription upgraded to a dedicated plan on real PostgreSQL, moto's Step Functions and the fake
Kubernetes API server: the upgrade is charged now, the subscription keeps running on the shared runtime
while its runtime is provisioned (execution `upgrade-{order_id}`, started through the outbox) and switches
to it at the last step; a failed provisioning leaves it on the shared runtime with the reason; a dedicated
subscription cannot move to a shared plan; a cheaper dedicated plan is not a move that can start now."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.gateway.routing import RuntimeRouting
from cmp.provisioning.router import RegisteredRuntimes
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.local.kube_api import FakeKubernetes

from .commerce_support import buy, call, new_tenant, plan, publish
from .conftest import Platform, caller_of
from .test_commerce_provisioning import finish, subscription

pytestmark = pytest.mark.integration


@pytest.fixture
def offer(platform: Platform) -> dict[str, Any]:
    """Pro (shared, 99.00 a month), Enterprise (dedicated, 999.00) and Budget Dedicated (dedicated, 49.00)."""
    db = platform.function("CommerceApiFunction").services.db
    return publish(
        db,
        new_tenant(db),
        [
            plan("Pro", "pro", "99.00", "990.00"),
            plan("Enterprise", "enterprise", "999.00", "9990.00"),
            plan("Budget Dedicated", "enterprise", "49.00"),
        ],
    )


def bought(
    platform: Platform, offer: dict[str, Any], name: str, index: int = 0
) -> tuple[dict[str, Any], str]:
    buyer = caller_of(platform.function("AuthApiFunction").services, name, "buyer")
    status, order = buy(platform, buyer, offer, index)
    assert status == 201, order
    return buyer, order["subscription_id"]


def change(platform: Platform, buyer: dict[str, str], subscription_id: str, plan_id: str) -> tuple[int, Any]:
    return call(
        platform,
        "POST",
        f"/v1/subscriptions/{subscription_id}/plan",
        buyer,
        {"plan_id": plan_id, "billing_period": "monthly"},
    )


def finish_upgrade(platform: Platform, order_id: str, timeout: float = 20) -> str:
    """Run the execution `upgrade-{order_id}` to its end (draining the provisioning queue)."""
    sfn = client("stepfunctions")
    machine = platform.ref("RuntimeProvisioningStateMachine")
    found = [
        e
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
        if e["name"] == f"upgrade-{order_id}"
    ]
    assert len(found) == 1, "the upgrade started no provisioning execution"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.drain("RuntimeProvisioningQueue", "RuntimeProvisioningWorkerFunction")
        status: str = sfn.describe_execution(executionArn=found[0]["executionArn"])["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    raise AssertionError("the upgrade's provisioning did not finish")


def routing_of(services: Services, buyer: dict[str, str], subscription_id: str) -> str | None:
    """Where the gateway sends a call made now with a fresh API key: None (here, the shared runtime) or
    the dedicated runtime's URL."""
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], uuid.UUID(subscription_id), ApiKeyRequest("k", ["invoke"])
    )
    ctx = services.runtime_authorizer.authorize(issued.secret, None, None)
    return RuntimeRouting(RegisteredRuntimes(services.unit_of_work)).endpoint(ctx)


def test_an_upgrade_to_dedicated_runs_on_shared_until_its_runtime_is_ready(
    platform: Platform,
    offer: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, subscription_id = bought(platform, offer, "Growing Buyer")
    services = platform.function("CommerceApiFunction").services

    status, done = change(platform, buyer, subscription_id, offer["plans"][1]["id"])

    assert status == 200, done
    assert (done["change"], done["currency"]) == ("upgrade", "USD")
    assert 0 < done["amount_due"] <= 90000 and done["order_id"]
    assert done["runtime"] == {"type": "shared", "state": "pending", "target": "dedicated"}
    shown = done["subscription"]
    assert (shown["status"], shown["runtime_type"], shown["plan"]["name"]) == (
        "active",
        "shared",
        "Enterprise",
    )
    order = owner_conn.execute(
        "select kind, runtime_type, amount from orders where id = %s", (done["order_id"],)
    ).fetchone()
    assert order == ("plan_change", "dedicated", done["amount_due"])
    assert routing_of(services, buyer, subscription_id) is None
    status, again = change(platform, buyer, subscription_id, offer["plans"][1]["id"])
    assert status == 409, again

    assert finish_upgrade(platform, done["order_id"]) == "SUCCEEDED"

    stored = subscription(owner_conn, subscription_id)
    assert (stored["status"], stored["runtime_type"], stored["status_reason"]) == (
        "active",
        "dedicated",
        None,
    )
    assert stored["provisioning"]["state"] == "completed"
    assert stored["provisioning"]["upgrade"]["from_plan_id"] == offer["plans"][0]["id"]
    namespace = f"tenant-{buyer['tenant_id']}"
    assert ("deployments", namespace, f"sub-{subscription_id}") in fake_cluster.objects
    url = f"http://sub-{subscription_id}.{namespace}.svc.cluster.local"
    assert routing_of(services, buyer, subscription_id) == url
    status, shown = call(platform, "GET", f"/v1/subscriptions/{subscription_id}", buyer)
    assert (status, shown["runtime_type"], shown["provisioning"]["state"]) == (200, "dedicated", "completed")


def test_a_failed_upgrade_stays_on_shared_with_its_reason(
    platform: Platform,
    offer: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, subscription_id = bought(platform, offer, "Stalled Upgrade")
    fake_cluster.stall(f"tenant-{buyer['tenant_id']}", f"sub-{subscription_id}")
    status, done = change(platform, buyer, subscription_id, offer["plans"][1]["id"])
    assert status == 200, done

    assert finish_upgrade(platform, done["order_id"]) == "FAILED"

    status, shown = call(platform, "GET", f"/v1/subscriptions/{subscription_id}", buyer)
    assert (status, shown["status"], shown["runtime_type"]) == (200, "active", "shared")
    assert shown["provisioning"]["state"] == "failed"
    assert shown["status_reason"].startswith("runtime provisioning failed (RolloutFailed)")
    assert routing_of(platform.function("CommerceApiFunction").services, buyer, subscription_id) is None
    issues = owner_conn.execute(
        "select kind from reconciliation_issues where subscription_id = %s", (subscription_id,)
    ).fetchall()
    assert issues == [("provisioning_failed",)]
    assert not [key for key in fake_cluster.objects if f"tenant-{buyer['tenant_id']}" in (key[1], key[2])]


def test_moves_that_cannot_start_now_are_refused(
    platform: Platform, offer: dict[str, Any], fake_cluster: FakeKubernetes
) -> None:
    buyer, shared_id = bought(platform, offer, "Careful Buyer")
    status, body = change(platform, buyer, shared_id, offer["plans"][2]["id"])
    assert status == 409 and "must be an upgrade" in body["message"], body

    other, dedicated_id = bought(platform, offer, "Dedicated Buyer", 1)
    assert finish(platform, dedicated_id) == "SUCCEEDED"
    status, body = change(platform, other, dedicated_id, offer["plans"][0]["id"])
    assert status == 409, body
    assert "cannot move to a shared plan" in body["message"] and body["errors"][0]["path"] == "plan_id"


def test_an_upgrade_cancelled_at_once_stops_without_a_failure(
    platform: Platform,
    offer: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    """Cancelled right after the upgrade (found by a new-user trial: the subscription ended with
    "runtime provisioning failed (RolloutFailed)" and an operator issue, though nothing had failed)."""
    buyer, subscription_id = bought(platform, offer, "Quick Canceller")
    status, done = change(platform, buyer, subscription_id, offer["plans"][1]["id"])
    assert status == 200, done
    status, cancelled = call(
        platform, "POST", f"/v1/subscriptions/{subscription_id}/cancel", buyer, {"at_period_end": False}
    )
    assert status == 200, cancelled

    assert finish_upgrade(platform, done["order_id"]) == "FAILED"  # stopped: the state machine's failure path

    stored = subscription(owner_conn, subscription_id)
    assert (stored["status"], stored["status_reason"]) == ("cancelled", None)
    assert stored["provisioning"]["state"] == "cancelled"
    assert stored["provisioning"]["steps"]["mark_failed"]["status"] == "skipped"
    issues = owner_conn.execute(
        "select kind from reconciliation_issues where subscription_id = %s", (subscription_id,)
    ).fetchall()
    assert issues == []
    assert (
        "deployments",
        f"tenant-{buyer['tenant_id']}",
        f"sub-{subscription_id}",
    ) not in fake_cluster.objects
