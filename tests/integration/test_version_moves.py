"""A subscription moves to its product's newer published version (`POST /v1/subscriptions/{id}/version`) on
real PostgreSQL, moto's Step Functions and the fake Kubernetes API server: a shared subscription just moves;
a dedicated one's Deployment is rolled out with the new version (execution `version-{id}-{version}`, started
through the outbox) while its endpoint stays registered, also when that rollout fails; the refusals (409,
422) change nothing; another organization's token is a 404."""

from __future__ import annotations

import copy
import time
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from cmp.aws.clients import client
from cmp.db import Database
from cmp_dev.local.kube_api import FakeKubernetes

from .commerce_support import call, new_tenant, plan, publish
from .conftest import Platform, caller_of
from .test_commerce_provisioning import finish, subscription
from .test_dedicated_upgrade import bought, routing_of

pytestmark = pytest.mark.integration


def release(
    db: Database, offer: dict[str, Any], version: str, *, live: bool = True, tone: bool = True, drop: int = 0
) -> None:
    """Publish `version` of the offer's product with the same plans (the first `drop` left out) and the
    persona's tone option as `tone`; `live` makes it the current version (its listing)."""
    with db.session(offer["seller"]) as session:
        row = session.fetch_one(
            "select capabilities, listing from product_versions where product_id = %s order by created_at"
            " limit 1",
            (offer["id"],),
        )
        assert row is not None
        caps = copy.deepcopy(row["capabilities"])
        caps["configuration"]["persona"]["options"]["tone"] = tone
        plans = offer["plans"][drop:]
        session.execute(
            "insert into product_versions (tenant_id, product_id, version, capabilities, plans, listing)"
            " values (%s, %s, %s, %s, %s, %s)",
            (offer["seller"], offer["id"], version, Jsonb(caps), Jsonb(plans), Jsonb(row["listing"])),
        )
        if live:
            session.execute("update products set live_version = %s where id = %s", (version, offer["id"]))
            session.execute(
                "update marketplace_listings set version = %s, capabilities = %s, plans = %s"
                " where product_id = %s",
                (version, Jsonb(caps), Jsonb(plans), offer["id"]),
            )


def move(platform: Platform, buyer: dict[str, str], subscription_id: str, **body: Any) -> tuple[int, Any]:
    return call(platform, "POST", f"/v1/subscriptions/{subscription_id}/version", buyer, body)


def finish_version(platform: Platform, subscription_id: str, version: str, timeout: float = 20) -> str:
    """Run the execution `version-{subscription_id}-{version}` to its end (draining the provisioning queue)."""
    sfn = client("stepfunctions")
    machine = platform.ref("RuntimeProvisioningStateMachine")
    name = f"version-{subscription_id}-{version}"
    found = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"] == name]
    assert len(found) == 1, "the version move started no rollout execution"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.drain("RuntimeProvisioningQueue", "RuntimeProvisioningWorkerFunction")
        status: str = sfn.describe_execution(executionArn=found[0]["executionArn"])["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.1)
    raise AssertionError("the version's rollout did not finish")


def deployed_version(cluster: FakeKubernetes, tenant_id: str, subscription_id: str) -> str:
    deployment = cluster.objects[("deployments", f"tenant-{tenant_id}", f"sub-{subscription_id}")]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    return str(next(e["value"] for e in env if e["name"] == "CMP_PRODUCT_VERSION"))


def endpoint_of(owner_conn: psycopg.Connection[Any], subscription_id: str) -> tuple[str, str] | None:
    row = owner_conn.execute(
        "select product_version, state from runtime_endpoints where subscription_id = %s", (subscription_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


@pytest.fixture
def offer(platform: Platform) -> dict[str, Any]:
    """Pro (shared, 99.00 a month) and Enterprise (dedicated, 999.00), version 1.0.0."""
    db = platform.function("CommerceApiFunction").services.db
    return publish(
        db,
        new_tenant(db),
        [plan("Pro", "pro", "99.00", "990.00"), plan("Enterprise", "enterprise", "999.00", "9990.00")],
    )


def test_a_shared_subscription_moves_to_the_current_version(
    platform: Platform, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    db = platform.function("CommerceApiFunction").services.db
    buyer, subscription_id = bought(platform, offer, "Shared Mover")
    status, body = move(platform, buyer, subscription_id)
    assert status == 409 and body["message"] == "the subscription is already on version 1.0.0", body
    release(db, offer, "1.1.0")
    other = caller_of(platform.function("AuthApiFunction").services, "Someone Else", "buyer")
    assert move(platform, other, subscription_id)[0] == 404

    status, body = move(platform, buyer, subscription_id)

    assert status == 200, body
    assert (body["from_version"], body["to_version"]) == ("1.0.0", "1.1.0")
    assert body["runtime"] == {"type": "shared", "state": None, "target": "shared"}
    assert body["subscription"]["product"]["version"] == "1.1.0"
    stored = subscription(owner_conn, subscription_id)
    assert (stored["product_version"], stored["amount"]) == ("1.1.0", 9900)
    status, body = move(platform, buyer, subscription_id, version="1.0.0")
    assert status == 409 and "older than version 1.1.0" in body["message"], body
    status, body = move(platform, buyer, subscription_id, version="9.0.0")
    assert status == 409 and "9.0.0 of this product is not published" in body["message"], body


def test_refusals_change_nothing(
    platform: Platform, offer: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    db = platform.function("CommerceApiFunction").services.db
    buyer, subscription_id = bought(platform, offer, "Configured Buyer")
    status, body = call(
        platform,
        "PUT",
        f"/v1/subscriptions/{subscription_id}/configuration/persona",
        buyer,
        {"name": "Ada", "tone": ["formal"]},
    )
    assert status == 200, body
    release(db, offer, "1.1.0", live=False, tone=False)
    release(db, offer, "2.0.0", drop=1)

    status, body = move(platform, buyer, subscription_id, version="1.1.0")
    assert status == 422, body
    assert [e["path"] for e in body["errors"]] == ["configuration.persona.tone"]
    status, body = move(platform, buyer, subscription_id)
    assert status == 409, body
    held = offer["plans"][0]["id"]
    assert f"no longer offers plan {held}; its plans are {offer['plans'][1]['id']}" in body["message"]
    assert subscription(owner_conn, subscription_id)["product_version"] == "1.0.0"


def test_a_dedicated_runtime_rolls_the_new_version_out_and_stays_registered(
    platform: Platform,
    offer: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    services = platform.function("CommerceApiFunction").services
    buyer, subscription_id = bought(platform, offer, "Dedicated Mover", 1)
    assert finish(platform, subscription_id) == "SUCCEEDED"
    url = routing_of(services, buyer, subscription_id)
    assert url and deployed_version(fake_cluster, buyer["tenant_id"], subscription_id) == "1.0.0"
    release(services.db, offer, "1.1.0")

    status, body = move(platform, buyer, subscription_id)

    assert status == 200, body
    assert body["runtime"] == {"type": "dedicated", "state": "updating", "target": "dedicated"}
    assert endpoint_of(owner_conn, subscription_id) == ("1.0.0", "ready")
    assert routing_of(services, buyer, subscription_id) == url
    assert move(platform, buyer, subscription_id)[0] == 409

    assert finish_version(platform, subscription_id, "1.1.0") == "SUCCEEDED"

    assert deployed_version(fake_cluster, buyer["tenant_id"], subscription_id) == "1.1.0"
    assert endpoint_of(owner_conn, subscription_id) == ("1.1.0", "ready")
    assert routing_of(services, buyer, subscription_id) == url
    stored = subscription(owner_conn, subscription_id)
    assert (stored["status"], stored["runtime_type"], stored["product_version"]) == (
        "active",
        "dedicated",
        "1.1.0",
    )
    assert stored["provisioning"]["state"] == "completed"
    assert stored["provisioning"]["version_update"]["from_version"] == "1.0.0"


def test_a_failed_rollout_keeps_the_runtime_registered_with_the_reason(
    platform: Platform,
    offer: dict[str, Any],
    fake_cluster: FakeKubernetes,
    owner_conn: psycopg.Connection[Any],
) -> None:
    services = platform.function("CommerceApiFunction").services
    buyer, subscription_id = bought(platform, offer, "Stalled Mover", 1)
    assert finish(platform, subscription_id) == "SUCCEEDED"
    release(services.db, offer, "1.1.0")
    fake_cluster.stall(f"tenant-{buyer['tenant_id']}", f"sub-{subscription_id}")

    assert move(platform, buyer, subscription_id)[0] == 200
    assert finish_version(platform, subscription_id, "1.1.0") == "FAILED"

    stored = subscription(owner_conn, subscription_id)
    assert (stored["status"], stored["provisioning"]["state"]) == ("active", "failed")
    assert stored["status_reason"].startswith("runtime provisioning failed (RolloutFailed)")
    assert endpoint_of(owner_conn, subscription_id) == ("1.0.0", "ready")
    assert ("deployments", f"tenant-{buyer['tenant_id']}", f"sub-{subscription_id}") in fake_cluster.objects
