"""The `kubernetes` client adapter against the local fake API server: server-side apply creates, leaves an
unchanged object alone (re-running a step is harmless), updates what changed and drops what the manager
stopped sending; namespaced objects need their namespace; deleting a namespace takes its objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cmp.provisioning.cluster import ClusterError, KubernetesCluster, rollout_state
from cmp.provisioning.iam import TenantResources
from cmp.provisioning.manifests import (
    ClusterSettings,
    RuntimeSpec,
    namespace_manifests,
    runtime_manifests,
    to_dicts,
)
from cmp.provisioning.sizing import RuntimeSize
from cmp_dev.devtools.manifest_check import validate
from cmp_dev.local.kube_api import FakeKubernetes, KubeApiServer

RESOURCES = TenantResources("123456789012", "us-east-1", "cmp-data", "oidc.eks.us-east-1.amazonaws.com/id/X")
CLUSTER = ClusterSettings(RESOURCES, "cmp-runtime:test")


@pytest.fixture
def fake() -> Iterator[tuple[FakeKubernetes, KubernetesCluster]]:
    cluster = FakeKubernetes()
    server = KubeApiServer(cluster).start()
    try:
        yield cluster, KubernetesCluster.connect(server.url)
    finally:
        server.stop()


def tenant(version: str = "1.0.0", cpu: str = "medium") -> tuple[RuntimeSpec, list[dict[str, Any]]]:
    tenant_id = uuid.UUID("11111111-1111-4111-8111-111111111111")
    size = RuntimeSize.of({"runtime": {"compute": {"cpu": cpu, "memory": "medium"}}})
    spec = RuntimeSpec(tenant_id, uuid.UUID(int=7), uuid.UUID(int=8), version, size)
    manifests = to_dicts(namespace_manifests(tenant_id, [size], CLUSTER) + runtime_manifests(spec, CLUSTER))
    validate(manifests)
    return spec, manifests


def test_applying_twice_changes_nothing_the_second_time(
    fake: tuple[FakeKubernetes, KubernetesCluster],
) -> None:
    store, cluster = fake
    spec, manifests = tenant()
    first = [cluster.apply(m) for m in manifests]
    assert len(store.objects) == len(manifests) == 9
    second = [cluster.apply(m) for m in manifests]
    assert [o["metadata"]["resourceVersion"] for o in second] == [
        o["metadata"]["resourceVersion"] for o in first
    ]
    assert [o["metadata"]["uid"] for o in second] == [o["metadata"]["uid"] for o in first]
    deployment = cluster.get("Deployment", spec.namespace, spec.name)
    assert deployment is not None
    assert deployment["metadata"]["managedFields"][0]["manager"] == "cmp-provisioning"
    assert rollout_state(deployment)[0] == "available"


def test_a_version_upgrade_is_a_new_generation_and_a_dropped_field_goes(
    fake: tuple[FakeKubernetes, KubernetesCluster],
) -> None:
    _, cluster = fake
    spec, manifests = tenant("1.0.0", cpu="gpu")
    for m in manifests:
        cluster.apply(m)
    before = cluster.get("Deployment", spec.namespace, spec.name)
    assert before is not None and before["spec"]["template"]["spec"]["tolerations"]
    _, upgraded = tenant("1.1.0", cpu="medium")
    after = cluster.apply(next(m for m in upgraded if m["kind"] == "Deployment"))
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    pod = after["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env["CMP_PRODUCT_VERSION"] == "1.1.0"
    assert "tolerations" not in pod and "nodeSelector" not in pod, "fields the manager stopped sending go"


def test_objects_need_their_namespace_and_go_with_it(fake: tuple[FakeKubernetes, KubernetesCluster]) -> None:
    store, cluster = fake
    spec, manifests = tenant()
    with pytest.raises(ClusterError, match="namespace does not exist") as refused:
        cluster.apply(manifests[1])
    assert refused.value.status == 404
    for m in manifests:
        cluster.apply(m)
    other = dict(manifests[0], metadata={**manifests[0]["metadata"], "name": "tenant-other"})
    cluster.apply(other)
    assert cluster.delete("Namespace", None, spec.namespace) is True
    assert cluster.get("Deployment", spec.namespace, spec.name) is None
    assert list(store.objects) == [("namespaces", None, "tenant-other")]
    assert cluster.delete("Namespace", None, spec.namespace) is False, "deleting again is harmless"


def test_a_stalled_rollout_reads_as_failed(fake: tuple[FakeKubernetes, KubernetesCluster]) -> None:
    store, cluster = fake
    spec, manifests = tenant()
    store.stall(spec.namespace, spec.name)
    for m in manifests:
        cluster.apply(m)
    state, reason = rollout_state(cluster.get("Deployment", spec.namespace, spec.name))
    assert state == "failed" and "timed out progressing" in reason
