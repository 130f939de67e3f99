"""Dedicated plans on real PostgreSQL and moto: the paid order's subscription is `provisioning` and the
runtime-provisioning state machine (started through the outbox) records each step on it and makes it
active, or marks it with a readable reason; a crash between the commit and the relay loses nothing."""

from __future__ import annotations

import os
import time
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import bootstrap
from cmp.commerce.checkout import CheckoutInput
from cmp.config import Settings
from cmp.db import Database
from cmp.errors import ValidationFailed

from .commerce_support import buy, new_tenant, plan, publish
from .conftest import FAST_HASHER, Platform, Postgres, caller_of


@pytest.fixture(autouse=True)
def _cluster(fake_cluster: Any) -> Any:
    """Every test here provisions onto the fake API server."""
    return fake_cluster


@pytest.fixture
def dedicated(platform: Platform) -> dict[str, Any]:
    db = platform.function("CommerceApiFunction").services.db
    return publish(db, new_tenant(db), [plan("Enterprise", "enterprise", "999.00", "9990.00")])


def execution(platform: Platform, subscription_id: str) -> dict[str, Any] | None:
    executions = client("stepfunctions").list_executions(
        stateMachineArn=platform.ref("RuntimeProvisioningStateMachine")
    )["executions"]
    found = [e for e in executions if e["name"] == f"provision-{subscription_id}"]
    assert len(found) <= 1
    return found[0] if found else None


def finish(platform: Platform, subscription_id: str, timeout: float = 20) -> str:
    started = execution(platform, subscription_id)
    assert started is not None, "no provisioning execution was started"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.drain("RuntimeProvisioningQueue", "RuntimeProvisioningWorkerFunction")
        status: str = client("stepfunctions").describe_execution(executionArn=started["executionArn"])[
            "status"
        ]
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    raise AssertionError("the provisioning execution did not finish")


def subscription(owner_conn: psycopg.Connection[Any], subscription_id: str) -> dict[str, Any]:
    cursor = owner_conn.cursor(row_factory=psycopg.rows.dict_row)
    row = cursor.execute("select * from subscriptions where id = %s", (subscription_id,)).fetchone()
    assert row is not None
    return row


def test_a_dedicated_plan_is_provisioned_by_the_state_machine_then_active(
    platform: Platform, dedicated: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    buyer = caller_of(platform.function("AuthApiFunction").services, "Enterprise Buyer", "buyer")
    status, order = buy(platform, buyer, dedicated)
    assert status == 201 and order["status"] == "active", order
    stored = subscription(owner_conn, order["subscription_id"])
    assert (stored["status"], stored["runtime_type"]) == ("provisioning", "dedicated")

    assert finish(platform, order["subscription_id"]) == "SUCCEEDED"

    stored = subscription(owner_conn, order["subscription_id"])
    assert stored["status"] == "active" and stored["status_reason"] is None
    assert stored["provisioning"]["state"] == "completed"
    steps = stored["provisioning"]["steps"]
    assert steps["create_namespace"]["detail"]["namespace"] == f"tenant-{buyer['tenant_id']}"
    assert {s for s in steps if steps[s]["status"] == "succeeded"} == {
        "create_namespace",
        "create_role",
        "apply_manifests",
        "wait_rollout",
        "register_endpoint",
        "complete",
    }
    assert steps["complete"]["status"] == "succeeded"
    count = owner_conn.execute(
        "select subscriber_count from marketplace_listings where product_id = %s", (dedicated["id"],)
    ).fetchone()
    assert count == (1,)


def test_a_failed_step_marks_the_subscription_with_a_readable_reason(
    platform: Platform,
    dedicated: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = platform.function("RuntimeProvisioningWorkerFunction")
    runtimes = worker.services.dedicated_runtimes

    def refuse(tenant_id: Any) -> dict[str, Any]:
        raise ValidationFailed("the cluster has no room for another namespace")

    monkeypatch.setattr(runtimes, "create_namespace", refuse)
    buyer = caller_of(platform.function("AuthApiFunction").services, "Unlucky", "buyer")
    order = buy(platform, buyer, dedicated)[1]

    assert finish(platform, order["subscription_id"]) == "FAILED"

    stored = subscription(owner_conn, order["subscription_id"])
    assert stored["status"] == "provisioning" and stored["provisioning"]["state"] == "failed"
    assert stored["status_reason"] == (
        "runtime provisioning failed (ProvisioningRefused): the cluster has no room for another namespace"
    )
    issues = owner_conn.execute(
        "select kind, reason from reconciliation_issues where subscription_id = %s",
        (order["subscription_id"],),
    ).fetchall()
    assert issues == [("provisioning_failed", stored["status_reason"])]


class _CrashBeforeSending:
    """A state machine client whose process dies the moment the relay tries to start (after the commit)."""

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        os._exit(1)


def test_a_crash_between_the_commit_and_the_relay_loses_no_provisioning(
    platform: Platform, postgres: Postgres, dedicated: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    commerce = platform.function("CommerceApiFunction").services
    buyer = caller_of(platform.function("AuthApiFunction").services, "Crashy", "buyer")
    pid = os.fork()
    if pid == 0:  # the child: a purchase whose process dies between the commit and the relay
        try:
            child = bootstrap(
                Settings(
                    runtime_provisioning_state_machine_arn=commerce.settings.runtime_provisioning_state_machine_arn,
                    jwt_issuer="https://auth.test",
                    jwt_audience="t",
                ),
                db=Database(postgres.app_url),
                hasher=FAST_HASHER,
                local_payments_secret=lambda: "whsec_child",
                machines=_CrashBeforeSending(),
            )
            child.checkout.checkout(
                buyer["tenant_id"],
                buyer["user_id"],
                CheckoutInput(dedicated["slug"], dedicated["plans"][0]["id"], "monthly"),
            )
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    # The local provider hands its event over in-process and logs (not raises) a failed delivery, so the
    # child dies inside the relay (exit 1), after the subscription and its outbox message were committed.
    assert os.waitstatus_to_exitcode(status) == 1
    [row] = owner_conn.execute(
        "select id, status from subscriptions where tenant_id = %s", (buyer["tenant_id"],)
    ).fetchall()
    subscription_id, state = str(row[0]), row[1]
    assert state == "provisioning" and execution(platform, subscription_id) is None
    [pending] = owner_conn.execute(
        "select name, sent_at from outbox where tenant_id = %s and name like 'provision-%%'",
        (buyer["tenant_id"],),
    ).fetchall()
    assert pending == (f"provision-{subscription_id}", None)

    platform.function("HousekeepingFunction").services.outbox_relay.sweep(older_than_seconds=0)
    assert finish(platform, subscription_id) == "SUCCEEDED"
    assert subscription(owner_conn, subscription_id)["status"] == "active"
    assert owner_conn.execute(
        "select count(*) from orders where tenant_id = %s and status = 'active' and subscription_id = %s",
        (buyer["tenant_id"], subscription_id),
    ).fetchone() == (1,)
