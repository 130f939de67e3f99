"""A dedicated subscription provisioned onto the fake Kubernetes API server and moto's IAM by real Step
Functions executions: what it leaves on the cluster, in IAM and in `runtime_endpoints`; a failed rollout
compensated (namespace and role deleted, a readable reason); no cluster configured; deprovisioning after
the subscription ended, twice."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.bootstrap import bootstrap
from cmp.commerce.checkout import CheckoutInput
from cmp.config import Settings
from cmp.db import Database
from cmp.provisioning.router import RegisteredRuntimes
from cmp_dev.local.kube_api import FakeKubernetes
from tests.fakes import FixedClock

from .commerce_support import buy, new_tenant, plan, publish
from .conftest import FAST_HASHER, Platform, caller_of
from .test_commerce_provisioning import finish, subscription


@pytest.fixture
def dedicated(platform: Platform) -> dict[str, Any]:
    db = platform.function("CommerceApiFunction").services.db
    return publish(db, new_tenant(db), [plan("Enterprise", "enterprise", "999.00", "9990.00")])


def bought(platform: Platform, dedicated: dict[str, Any], name: str) -> tuple[dict[str, Any], str]:
    buyer = caller_of(platform.function("AuthApiFunction").services, name, "buyer")
    status, order = buy(platform, buyer, dedicated)
    assert status == 201, order
    return buyer, order["subscription_id"]


def role(tenant_id: str) -> dict[str, Any] | None:
    iam = client("iam")
    try:
        found: dict[str, Any] = iam.get_role(RoleName=f"cmp-tenant-{tenant_id}")["Role"]
    except iam.exceptions.NoSuchEntityException:
        return None
    return found


def test_provisioning_leaves_the_runtime_on_the_cluster_its_role_and_its_endpoint(
    platform: Platform,
    dedicated: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, subscription_id = bought(platform, dedicated, "Dedicated Buyer")
    assert finish(platform, subscription_id) == "SUCCEEDED"

    namespace = f"tenant-{buyer['tenant_id']}"
    kinds = sorted(key[0] for key in fake_cluster.objects if key[1] in (None, namespace))
    assert kinds == [
        "deployments",
        "horizontalpodautoscalers",
        "limitranges",
        "namespaces",
        "networkpolicies",
        "poddisruptionbudgets",
        "resourcequotas",
        "serviceaccounts",
        "services",
    ]
    deployment = fake_cluster.objects[("deployments", namespace, f"sub-{subscription_id}")]
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CMP_SUBSCRIPTION_ID"] == subscription_id and env["CMP_PRODUCT_VERSION"] == "1.0.0"

    found = role(buyer["tenant_id"])
    assert found is not None
    trust = found["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert next(iter(trust["Statement"][0]["Condition"]["StringEquals"].values())) in (
        f"system:serviceaccount:{namespace}:runtime",
        "sts.amazonaws.com",
    )
    policy = client("iam").get_role_policy(
        RoleName=f"cmp-tenant-{buyer['tenant_id']}", PolicyName="tenant-resources"
    )
    assert f"tenants/{buyer['tenant_id']}/" in json.dumps(policy["PolicyDocument"])

    endpoint = owner_conn.execute(
        "select tenant_id::text, namespace, url, product_version, state from runtime_endpoints"
        " where subscription_id = %s",
        (subscription_id,),
    ).fetchone()
    assert endpoint == (
        buyer["tenant_id"],
        namespace,
        f"http://sub-{subscription_id}.{namespace}.svc.cluster.local",
        "1.0.0",
        "ready",
    )


def test_a_failed_rollout_is_compensated_and_the_reason_kept(
    platform: Platform,
    dedicated: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, subscription_id = bought(platform, dedicated, "Stalled Buyer")
    namespace = f"tenant-{buyer['tenant_id']}"
    fake_cluster.stall(namespace, f"sub-{subscription_id}")

    assert finish(platform, subscription_id) == "FAILED"

    stored = subscription(owner_conn, subscription_id)
    assert stored["status"] == "provisioning" and stored["provisioning"]["state"] == "failed"
    assert stored["status_reason"] == (
        "runtime provisioning failed (RolloutFailed): the runtime's rollout failed: "
        f'ReplicaSet "sub-{subscription_id}" has timed out progressing.'
    )
    compensation = stored["provisioning"]["steps"]["compensate"]["detail"]
    assert compensation["deleted"] is True and compensation["namespace"] == namespace
    assert not [key for key in fake_cluster.objects if key[1] == namespace or key[2] == namespace]
    assert role(buyer["tenant_id"]) is None
    assert owner_conn.execute(
        "select count(*) from runtime_endpoints where subscription_id = %s", (subscription_id,)
    ).fetchone() == (0,)


def test_without_a_cluster_the_reason_says_so(
    platform: Platform,
    dedicated: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KUBERNETES_API_URL", raising=False)
    _, subscription_id = bought(platform, dedicated, "Clusterless Buyer")
    assert finish(platform, subscription_id) == "FAILED"
    reason = subscription(owner_conn, subscription_id)["status_reason"]
    assert reason.startswith("runtime provisioning failed (ClusterNotConfigured): no Kubernetes cluster")


def deprovision(platform: Platform, tenant_id: str, subscription_id: str) -> str:
    sfn = client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=platform.ref("RuntimeProvisioningStateMachine"),
        name=f"deprovision-{subscription_id}-{uuid.uuid4().hex[:6]}",
        input=json.dumps(
            {"action": "deprovision", "tenant_id": tenant_id, "subscription_id": subscription_id}
        ),
    )["executionArn"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        platform.drain("RuntimeProvisioningQueue", "RuntimeProvisioningWorkerFunction")
        status: str = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    raise AssertionError("the deprovisioning execution did not finish")


def test_deprovisioning_after_the_end_exports_the_location_and_removes_the_runtime_twice(
    platform: Platform,
    dedicated: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    buyer, subscription_id = bought(platform, dedicated, "Leaving Buyer")
    router = RegisteredRuntimes(platform.function("CommerceApiFunction").services.unit_of_work)
    tenant, sub = uuid.UUID(buyer["tenant_id"]), uuid.UUID(subscription_id)
    assert router.endpoint(tenant, sub, {}) is None, "not provisioned yet: the gateway answers 503"
    assert finish(platform, subscription_id) == "SUCCEEDED"
    url = f"http://sub-{subscription_id}.tenant-{tenant}.svc.cluster.local"
    assert router.endpoint(tenant, sub, {}) == url
    other = caller_of(platform.function("AuthApiFunction").services, "Other Org", "buyer")
    assert router.endpoint(uuid.UUID(other["tenant_id"]), sub, {}) is None, "never another tenant's runtime"
    owner_conn.execute(
        "update subscriptions set status = 'cancelled', cancelled_at = now() where id = %s",
        (subscription_id,),
    )

    assert deprovision(platform, buyer["tenant_id"], subscription_id) == "SUCCEEDED"
    stored = subscription(owner_conn, subscription_id)
    assert stored["provisioning"]["data_location"] == f"s3://cmp-tenant-data/tenants/{buyer['tenant_id']}/"
    namespace = f"tenant-{buyer['tenant_id']}"
    assert not [key for key in fake_cluster.objects if namespace in (key[1], key[2])]
    assert role(buyer["tenant_id"]) is None
    assert owner_conn.execute(
        "select state from runtime_endpoints where subscription_id = %s", (subscription_id,)
    ).fetchone() == ("deprovisioned",)
    assert router.endpoint(tenant, sub, {}) is None

    assert deprovision(platform, buyer["tenant_id"], subscription_id) == "SUCCEEDED", "idempotent"
    steps = subscription(owner_conn, subscription_id)["provisioning"]["steps"]
    assert steps["delete_namespace"]["detail"]["deleted"] is False
    assert steps["revoke_role"]["detail"]["deleted"] is False


def test_a_dedicated_subscription_ending_at_its_period_end_starts_its_deprovisioning(
    db: Database,
    aws: None,
    fresh_outbox: None,
    dedicated: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    clock = FixedClock(datetime(2026, 3, 15, 9, 30, tzinfo=UTC))
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:runtime-provisioning"
    services = bootstrap(
        Settings(
            runtime_provisioning_state_machine_arn=machine, jwt_issuer="https://auth.test", jwt_audience="t"
        ),
        db=db,
        hasher=FAST_HASHER,
        local_payments_secret=lambda: "whsec_test",
        jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
        clock=clock,
    )
    buyer = caller_of(services, "Period End", "buyer")
    order_id = services.checkout.checkout(
        buyer["tenant_id"],
        buyer["user_id"],
        CheckoutInput(dedicated["slug"], dedicated["plans"][0]["id"], "monthly"),
    )
    subscription_id = uuid.UUID(
        services.commerce_views.order(buyer["tenant_id"], order_id)["subscription_id"]
    )
    # its runtime provisioned (the tests above cover that part)
    owner_conn.execute("update subscriptions set status = 'active' where id = %s", (subscription_id,))
    services.subscription_changes.cancel(buyer["tenant_id"], subscription_id, True, "moving on")
    started = "select payload from outbox where kind = 'stepfunctions' and target = %s and name = %s"
    assert owner_conn.execute(started, (machine, f"deprovision-{subscription_id}")).fetchone() is None

    clock.current = clock.current + timedelta(days=40)
    assert services.billing.renew()["ended"] >= 1

    (payload,) = owner_conn.execute(started, (machine, f"deprovision-{subscription_id}")).fetchone() or (
        None,
    )
    assert payload == {
        "action": "deprovision",
        "tenant_id": buyer["tenant_id"],
        "subscription_id": str(subscription_id),
    }


def test_a_dedicated_subscription_cancelled_at_once_starts_its_deprovisioning(
    db: Database,
    aws: None,
    fresh_outbox: None,
    dedicated: dict[str, Any],
    owner_conn: psycopg.Connection[Any],
) -> None:
    """A cancellation with `at_period_end: false` ends the subscription in that call: its runtime goes with
    it (before, only the period-end renewal and the provider's deletion started deprovisioning)."""
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:runtime-provisioning"
    services = bootstrap(
        Settings(
            runtime_provisioning_state_machine_arn=machine, jwt_issuer="https://auth.test", jwt_audience="t"
        ),
        db=db,
        hasher=FAST_HASHER,
        local_payments_secret=lambda: "whsec_test",
        jwt_secret=lambda: "test-signing-secret-" + "x" * 32,
    )
    buyer = caller_of(services, "Cancel Now", "buyer")
    order_id = services.checkout.checkout(
        buyer["tenant_id"],
        buyer["user_id"],
        CheckoutInput(dedicated["slug"], dedicated["plans"][0]["id"], "monthly"),
    )
    subscription_id = uuid.UUID(
        services.commerce_views.order(buyer["tenant_id"], order_id)["subscription_id"]
    )
    owner_conn.execute("update subscriptions set status = 'active' where id = %s", (subscription_id,))
    services.subscription_changes.cancel(buyer["tenant_id"], subscription_id, False, "moving on")
    started = "select payload from outbox where kind = 'stepfunctions' and target = %s and name = %s"
    (payload,) = owner_conn.execute(started, (machine, f"deprovision-{subscription_id}")).fetchone() or (
        None,
    )
    assert payload == {
        "action": "deprovision",
        "tenant_id": buyer["tenant_id"],
        "subscription_id": str(subscription_id),
    }


def test_compensation_keeps_what_another_dedicated_subscription_of_the_tenant_uses(
    platform: Platform,
    dedicated: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    db = platform.function("CommerceApiFunction").services.db
    second = publish(db, new_tenant(db), [plan("Enterprise", "enterprise", "500.00", "5000.00")])
    buyer, first_id = bought(platform, dedicated, "Two Runtimes")
    assert finish(platform, first_id, timeout=60) == "SUCCEEDED"
    status, order = buy(platform, buyer, second)
    assert status == 201, order
    second_id = order["subscription_id"]
    namespace = f"tenant-{buyer['tenant_id']}"
    fake_cluster.stall(namespace, f"sub-{second_id}")

    assert finish(platform, second_id, timeout=60) == "FAILED"

    detail = subscription(owner_conn, second_id)["provisioning"]["steps"]["compensate"]["detail"]
    assert detail["kept_for_other_subscriptions"] is True
    assert sorted(detail["runtime_deleted"]) == sorted(
        f"{kind}/sub-{second_id}"
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget")
    )
    assert ("namespaces", None, namespace) in fake_cluster.objects
    assert ("deployments", namespace, f"sub-{first_id}") in fake_cluster.objects
    assert role(buyer["tenant_id"]) is not None
    quota = fake_cluster.objects[("resourcequotas", namespace, "runtime-quota")]
    assert quota["spec"]["hard"]["pods"] == "22", "sized for both runtimes while the second was applied"
