"""A dedicated tenant's manifests: valid for the pinned Kubernetes version, labelled, restricted, sized from
the capability snapshot, and a NetworkPolicy under which only the gateway's namespace reaches the pods."""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import uuid
from typing import Any

import pytest

from cmp.provisioning.iam import TenantResources
from cmp.provisioning.manifests import (
    ClusterSettings,
    RuntimeSpec,
    namespace_manifests,
    runtime_manifests,
    to_dicts,
)
from cmp.provisioning.sizing import RuntimeSize, namespace_quota
from cmp_dev.devtools.manifest_check import ManifestInvalid, validate

from .network_policy import Endpoint, Pod, can_connect

TENANT = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHER = uuid.UUID("22222222-2222-4222-8222-222222222222")
SUBSCRIPTION = uuid.UUID("33333333-3333-4333-8333-333333333333")
PRODUCT = uuid.UUID("44444444-4444-4444-8444-444444444444")
RESOURCES = TenantResources(
    "123456789012", "eu-west-1", "cmp-data", "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
)
CLUSTER = ClusterSettings(RESOURCES, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/cmp-runtime:1.0.0")


def spec(capabilities: dict[str, Any] | None = None, version: str = "1.2.0") -> RuntimeSpec:
    size = RuntimeSize.of(capabilities or {"runtime": {"compute": {"cpu": "medium", "memory": "medium"}}})
    return RuntimeSpec(TENANT, SUBSCRIPTION, PRODUCT, version, size)


def built(runtime: RuntimeSpec | None = None) -> dict[str, dict[str, Any]]:
    runtime = runtime or spec()
    objects = to_dicts(
        namespace_manifests(TENANT, [runtime.size], CLUSTER) + runtime_manifests(runtime, CLUSTER)
    )
    return {o["kind"]: o for o in objects}


def test_every_object_is_valid_for_the_pinned_kubernetes_version_and_lives_in_the_tenant_namespace() -> None:
    objects = built()
    validate(list(objects.values()))
    assert list(objects) == [
        "Namespace",
        "ServiceAccount",
        "NetworkPolicy",
        "ResourceQuota",
        "LimitRange",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    assert objects["Namespace"]["metadata"]["name"] == f"tenant-{TENANT}"
    for kind, obj in objects.items():
        labels = obj["metadata"]["labels"]
        assert labels["cmp.io/tenant"] == str(TENANT), kind
        assert labels["app.kubernetes.io/managed-by"] == "cmp-provisioning", kind
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == f"tenant-{TENANT}", kind


def test_a_wrong_field_is_refused_by_the_schema() -> None:
    deployment = copy.deepcopy(built()["Deployment"])
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = "yes"
    with pytest.raises(ManifestInvalid, match="Deployment sub-"):
        validate([deployment])
    service = copy.deepcopy(built()["Service"])
    service["spec"]["portz"] = []
    with pytest.raises(ManifestInvalid, match="portz"):
        validate([service])


def test_the_namespace_enforces_pod_security_restricted_and_the_pods_meet_it() -> None:
    objects = built()
    labels = objects["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.35"
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == "runtime"
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_the_runtime_is_pinned_to_the_version_bought_and_scales_between_two_and_ten() -> None:
    objects = built(spec(version="1.2.0"))
    deployment, hpa, pdb = (
        objects[k] for k in ("Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget")
    )
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CMP_PRODUCT_VERSION"] == "1.2.0" and env["CMP_RUNTIME"] == "dedicated"
    assert env["CMP_TENANT_ID"] == str(TENANT) and env["CMP_SUBSCRIPTION_ID"] == str(SUBSCRIPTION)
    assert deployment["spec"]["template"]["metadata"]["labels"]["cmp.io/product-version"] == "1.2.0"
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": f"sub-{SUBSCRIPTION}",
    }
    assert pdb["spec"]["minAvailable"] == 1
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == selector == objects["Service"]["spec"]["selector"]
    assert "cmp.io/product-version" not in selector, "a version upgrade must not change the selector"
    upgraded = built(spec(version="1.3.0"))["Deployment"]
    assert upgraded["spec"]["selector"] == deployment["spec"]["selector"]
    assert upgraded["spec"]["template"] != deployment["spec"]["template"]


def test_resources_and_quota_come_from_the_capability_classes() -> None:
    objects = built()
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1024Mi"},
        "limits": {"cpu": "2000m", "memory": "4096Mi"},
    }
    assert objects["ResourceQuota"]["spec"]["hard"] == {
        "pods": "11",
        "requests.cpu": "5500m",
        "limits.cpu": "22000m",
        "requests.memory": "11264Mi",
        "limits.memory": "45056Mi",
    }
    small = RuntimeSize.of({})
    assert namespace_quota([small, spec().size])["pods"] == "22"
    with pytest.raises(ValueError, match=r"runtime\.compute\.cpu 'huge'"):
        RuntimeSize.of({"runtime": {"compute": {"cpu": "huge"}}})


def test_a_gpu_runtime_requests_a_gpu_on_the_gpu_nodes() -> None:
    runtime = spec({"runtime": {"compute": {"cpu": "gpu", "memory": "high"}}})
    objects = built(runtime)
    validate(list(objects.values()))
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"cmp.io/gpu": "nvidia-t4"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert objects["ResourceQuota"]["spec"]["hard"]["requests.nvidia.com/gpu"] == "11"


def test_the_service_account_assumes_the_tenant_role() -> None:
    account = built()["ServiceAccount"]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/cmp-tenant-{TENANT}"
    }


# ── the NetworkPolicy's meaning ─────────────────────────────────────────────────────────────────────

RUNTIME_POD = Pod(
    f"tenant-{TENANT}", {"app.kubernetes.io/name": "cmp-runtime", "cmp.io/subscription": str(SUBSCRIPTION)}
)


def policies() -> list[dict[str, Any]]:
    return [built()["NetworkPolicy"]]


def test_only_the_gateway_namespace_reaches_the_tenant_pods() -> None:
    gateway = Pod("cmp-gateway", {"app": "gateway"})
    assert can_connect(policies(), gateway, RUNTIME_POD, 8080)
    assert not can_connect(policies(), gateway, RUNTIME_POD, 22), "only the runtime's port"
    other_tenant = Pod(f"tenant-{OTHER}", {"app.kubernetes.io/name": "cmp-runtime"})
    same_namespace = Pod(f"tenant-{TENANT}", {"app": "debug"})
    pretender = Pod("default", {"app": "gateway"}, {"name": "cmp-gateway"})
    for source in (other_tenant, same_namespace, pretender, Pod("kube-system", {"k8s-app": "kube-dns"})):
        assert not can_connect(policies(), source, RUNTIME_POD, 8080), source


def test_the_tenant_pods_reach_only_dns_and_the_aws_endpoints() -> None:
    dns = Pod("kube-system", {"k8s-app": "kube-dns"})
    assert can_connect(policies(), RUNTIME_POD, dns, 53, "UDP")
    assert can_connect(policies(), RUNTIME_POD, dns, 53, "TCP")
    assert can_connect(policies(), RUNTIME_POD, Endpoint("10.0.100.7"), 443)
    assert not can_connect(policies(), RUNTIME_POD, Endpoint("10.0.100.7"), 80)
    assert not can_connect(policies(), RUNTIME_POD, Endpoint("93.184.215.14"), 443), "no internet"
    other_runtime = Pod(f"tenant-{OTHER}", {"app.kubernetes.io/name": "cmp-runtime"})
    assert not can_connect(policies(), RUNTIME_POD, other_runtime, 8080)
    assert not can_connect(policies(), RUNTIME_POD, Pod("kube-system", {"k8s-app": "metrics"}), 53, "UDP")


# ── the IAM role ───────────────────────────────────────────────────────────────────────────────────


def allows(policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """IAM's evaluation for Allow-only policies: some statement's action and resource patterns match
    (`*` and `?` wildcards) and its StringLike/StringEquals conditions hold for `context`."""
    context = context or {}
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        if not fnmatch.fnmatchcase(resource, statement["Resource"]):
            continue
        conditions = statement.get("Condition", {})
        like = conditions.get("StringLike", {})
        equals = conditions.get("StringEquals", {})
        if all(any(fnmatch.fnmatchcase(context.get(k, ""), p) for p in v) for k, v in like.items()) and all(
            context.get(k) == v for k, v in equals.items()
        ):
            return True
    return False


def test_the_role_reaches_only_the_tenant_own_prefix_queue_and_secrets() -> None:
    policy = RESOURCES.permissions_policy(TENANT)
    own, other = (
        f"arn:aws:s3:::cmp-data/tenants/{TENANT}/kb/doc.pdf",
        f"arn:aws:s3:::cmp-data/tenants/{OTHER}/x",
    )
    assert allows(policy, "s3:GetObject", own) and allows(policy, "s3:PutObject", own)
    assert not allows(policy, "s3:GetObject", other)
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::cmp-data/platform/keys")
    assert allows(policy, "s3:ListBucket", "arn:aws:s3:::cmp-data", {"s3:prefix": f"tenants/{TENANT}/kb/"})
    assert not allows(policy, "s3:ListBucket", "arn:aws:s3:::cmp-data", {"s3:prefix": f"tenants/{OTHER}/"})
    assert not allows(policy, "s3:ListBucket", "arn:aws:s3:::cmp-data", {"s3:prefix": ""})
    assert allows(policy, "sqs:SendMessage", RESOURCES.queue_arn(TENANT))
    assert not allows(policy, "sqs:SendMessage", RESOURCES.queue_arn(OTHER))
    assert not allows(policy, "sqs:DeleteQueue", RESOURCES.queue_arn(TENANT))
    secret = f"arn:aws:secretsmanager:eu-west-1:123456789012:secret:cmp/tenants/{TENANT}/slack-AbCdEf"
    assert allows(policy, "secretsmanager:GetSecretValue", secret)
    assert not allows(policy, "secretsmanager:GetSecretValue", secret.replace(str(TENANT), str(OTHER)))
    assert not allows(policy, "secretsmanager:PutSecretValue", secret)


def test_only_the_tenant_service_account_may_assume_the_role() -> None:
    trust = RESOURCES.trust_policy(TENANT)
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    }
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    own = {
        f"{issuer}:sub": f"system:serviceaccount:tenant-{TENANT}:runtime",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    resource = "*"
    statement["Resource"] = resource
    assert allows(trust, "sts:AssumeRoleWithWebIdentity", resource, own)
    for sub in (
        f"system:serviceaccount:tenant-{OTHER}:runtime",
        f"system:serviceaccount:tenant-{TENANT}:default",
    ):
        assert not allows(trust, "sts:AssumeRoleWithWebIdentity", resource, {**own, f"{issuer}:sub": sub})


def test_the_runtime_reads_the_database_secret_by_env_and_its_role_and_reaches_the_database() -> None:
    database = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cmp/database-AbCdEf"
    resources = dataclasses.replace(RESOURCES, database_secret_arn=database)
    cluster = dataclasses.replace(CLUSTER, resources=resources, database_cidrs=("10.0.64.0/20",))
    runtime = spec()
    objects = to_dicts(
        namespace_manifests(TENANT, [runtime.size], cluster) + runtime_manifests(runtime, cluster)
    )
    validate(objects)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    env = {e["name"]: e["value"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_SECRET_ARN"] == database and "DATABASE_URL" not in env

    policy = resources.permissions_policy(TENANT)
    assert allows(policy, "secretsmanager:GetSecretValue", database)
    assert not allows(policy, "secretsmanager:PutSecretValue", database)
    assert not allows(policy, "secretsmanager:GetSecretValue", database.replace("database", "jwt"))
    network = [next(o for o in objects if o["kind"] == "NetworkPolicy")]
    assert can_connect(network, RUNTIME_POD, Endpoint("10.0.64.9"), 5432)
    assert not can_connect(network, RUNTIME_POD, Endpoint("10.0.64.9"), 22)
    assert not can_connect(network, RUNTIME_POD, Endpoint("10.0.100.7"), 5432)
    assert not can_connect(policies(), RUNTIME_POD, Endpoint("10.0.64.9"), 5432), (
        "no database CIDRs: no egress"
    )
    without = built()["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "DATABASE_SECRET_ARN" not in {e["name"] for e in without}
    assert not allows(RESOURCES.permissions_policy(TENANT), "secretsmanager:GetSecretValue", database)
