"""The Kubernetes objects of a dedicated tenant, built with the `kubernetes` client's models and returned as
the plain dicts server-side apply sends.

Per tenant (namespace `tenant-{id}`): the Namespace (Pod Security Standards `restricted` enforced), the
`runtime` ServiceAccount (IRSA role annotation), a NetworkPolicy (ingress only from the gateway's
namespace; egress only to DNS, the AWS endpoints' CIDRs and the database's on 5432), a ResourceQuota and a LimitRange sized for
all its dedicated runtimes. Per dedicated subscription (named `sub-{subscription id}`): the runtime
Deployment (non-root, read-only root filesystem, no privilege escalation, seccomp RuntimeDefault, all
capabilities dropped), its Service, a HorizontalPodAutoscaler (2-10 replicas) and a PodDisruptionBudget.

Rules taken from elsewhere: the `restricted` profile's fields (kubernetes.io, "Pod Security Standards");
Deployment `replicas` left out so the HPA owns it (kubernetes.io, "Horizontal Pod Autoscaling",
"Migrating Deployments and StatefulSets to horizontal autoscaling").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cmp.provisioning.iam import SERVICE_ACCOUNT, TenantResources, namespace_of
from cmp.provisioning.sizing import GPU_NODE_LABEL, GPU_RESOURCE, GPU_TYPE, RuntimeSize, namespace_quota

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

KUBERNETES_VERSION = "1.35"
"""The Kubernetes minor version the EKS base runs, the `kubernetes` client's models (35.x) follow and
`cmp check` validates the manifests against."""
APP = "cmp-runtime"
MANAGER = "cmp-provisioning"
"""The server-side apply field manager, also the `app.kubernetes.io/managed-by` label."""
PORT = 8080
"""Where the runtime image's Lambda Runtime Interface Emulator takes invocations (infra/Dockerfile)."""
TENANT_LABEL = "cmp.io/tenant"
SUBSCRIPTION_LABEL = "cmp.io/subscription"
VERSION_LABEL = "cmp.io/product-version"
RUN_AS = 10001
DATABASE_PORT = 5432


@dataclass(frozen=True)
class ClusterSettings:
    """What every tenant's manifests share: the runtime image, the gateway's namespace, the CIDRs of the
    VPC's AWS endpoints (interface endpoints' subnets and the S3 gateway endpoint's prefix list), where
    tenants' AWS resources live."""

    resources: TenantResources
    runtime_image: str
    gateway_namespace: str = "cmp-gateway"
    aws_endpoint_cidrs: tuple[str, ...] = field(default=("10.0.96.0/20",))
    database_cidrs: tuple[str, ...] = ()
    """The database's subnets, which the runtime pods may reach on PostgreSQL's port (none: no egress)."""


@dataclass(frozen=True)
class RuntimeSpec:
    """One dedicated runtime: the subscription it serves, the product version it was bought at, its size."""

    tenant_id: UUID
    subscription_id: UUID
    product_id: UUID
    product_version: str
    size: RuntimeSize

    @property
    def name(self) -> str:
        """`sub-{subscription id}`: the Deployment, Service, HPA and PDB name (a DNS-1035 label)."""
        return f"sub-{self.subscription_id}"

    @property
    def namespace(self) -> str:
        return namespace_of(self.tenant_id)


def tenant_labels(tenant_id: UUID) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": MANAGER, TENANT_LABEL: str(tenant_id)}


def selector_labels(spec: RuntimeSpec) -> dict[str, str]:
    """The labels a runtime's pods are selected by (stable across versions)."""
    return {"app.kubernetes.io/name": APP, SUBSCRIPTION_LABEL: str(spec.subscription_id)}


def runtime_labels(spec: RuntimeSpec) -> dict[str, str]:
    return {
        **tenant_labels(spec.tenant_id),
        **selector_labels(spec),
        VERSION_LABEL: label_value(spec.product_version),
    }


def label_value(text: str) -> str:
    """`text` as a label value: at most 63 of `[A-Za-z0-9._-]`, starting and ending alphanumeric."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in text)[:63].strip("._-")
    return cleaned or "unknown"


def namespace_manifests(tenant_id: UUID, sizes: list[RuntimeSize], cluster: ClusterSettings) -> list[Any]:
    """The tenant-level objects as `kubernetes` client models, in apply order."""
    from kubernetes import client as k

    namespace = namespace_of(tenant_id)
    labels = tenant_labels(tenant_id)

    def meta(name: str, **extra: Any) -> Any:
        return k.V1ObjectMeta(name=name, namespace=namespace, labels=labels, **extra)

    pss = {
        f"pod-security.kubernetes.io/{mode}": level
        for mode in ("enforce", "audit", "warn")
        for level in ["restricted"]
    }
    pss["pod-security.kubernetes.io/enforce-version"] = f"v{KUBERNETES_VERSION}"
    largest = max(sizes, key=lambda s: (s.cpu_limit_m, s.memory_limit_mi))
    smallest = min(sizes, key=lambda s: (s.cpu_request_m, s.memory_request_mi))
    dns = k.V1NetworkPolicyPeer(
        namespace_selector=k.V1LabelSelector(match_labels={"kubernetes.io/metadata.name": "kube-system"}),
        pod_selector=k.V1LabelSelector(match_labels={"k8s-app": "kube-dns"}),
    )
    return [
        k.V1Namespace(
            api_version="v1", kind="Namespace", metadata=k.V1ObjectMeta(name=namespace, labels=labels | pss)
        ),
        k.V1ServiceAccount(
            api_version="v1",
            kind="ServiceAccount",
            metadata=meta(
                SERVICE_ACCOUNT,
                annotations={"eks.amazonaws.com/role-arn": cluster.resources.role_arn(tenant_id)},
            ),
            automount_service_account_token=False,
        ),
        k.V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta("gateway-only"),
            spec=k.V1NetworkPolicySpec(
                pod_selector=k.V1LabelSelector(),
                policy_types=["Ingress", "Egress"],
                ingress=[
                    k.V1NetworkPolicyIngressRule(
                        _from=[
                            k.V1NetworkPolicyPeer(
                                namespace_selector=k.V1LabelSelector(
                                    match_labels={"kubernetes.io/metadata.name": cluster.gateway_namespace}
                                )
                            )
                        ],
                        ports=[k.V1NetworkPolicyPort(protocol="TCP", port=PORT)],
                    )
                ],
                egress=[
                    k.V1NetworkPolicyEgressRule(
                        to=[dns],
                        ports=[k.V1NetworkPolicyPort(protocol=p, port=53) for p in ("UDP", "TCP")],
                    ),
                    k.V1NetworkPolicyEgressRule(
                        to=[
                            k.V1NetworkPolicyPeer(ip_block=k.V1IPBlock(cidr=c))
                            for c in cluster.aws_endpoint_cidrs
                        ],
                        ports=[k.V1NetworkPolicyPort(protocol="TCP", port=443)],
                    ),
                    *(
                        [
                            k.V1NetworkPolicyEgressRule(
                                to=[
                                    k.V1NetworkPolicyPeer(ip_block=k.V1IPBlock(cidr=c))
                                    for c in cluster.database_cidrs
                                ],
                                ports=[k.V1NetworkPolicyPort(protocol="TCP", port=DATABASE_PORT)],
                            )
                        ]
                        if cluster.database_cidrs
                        else []
                    ),
                ],
            ),
        ),
        k.V1ResourceQuota(
            api_version="v1",
            kind="ResourceQuota",
            metadata=meta("runtime-quota"),
            spec=k.V1ResourceQuotaSpec(hard=namespace_quota(sizes)),
        ),
        k.V1LimitRange(
            api_version="v1",
            kind="LimitRange",
            metadata=meta("runtime-limits"),
            spec=k.V1LimitRangeSpec(
                limits=[
                    k.V1LimitRangeItem(
                        type="Container",
                        default_request=_resources(smallest.cpu_request_m, smallest.memory_request_mi),
                        default=_resources(smallest.cpu_limit_m, smallest.memory_limit_mi),
                        max=_resources(largest.cpu_limit_m, largest.memory_limit_mi),
                    )
                ]
            ),
        ),
    ]


def runtime_manifests(spec: RuntimeSpec, cluster: ClusterSettings) -> list[Any]:
    """One subscription's runtime objects as `kubernetes` client models, in apply order."""
    from kubernetes import client as k

    labels = runtime_labels(spec)
    meta = k.V1ObjectMeta(name=spec.name, namespace=spec.namespace, labels=labels)
    selector = k.V1LabelSelector(match_labels=selector_labels(spec))
    size = spec.size
    requests = _resources(size.cpu_request_m, size.memory_request_mi)
    limits = _resources(size.cpu_limit_m, size.memory_limit_mi)
    if size.gpus:
        limits[GPU_RESOURCE] = str(size.gpus)
    seccomp = k.V1SeccompProfile(type="RuntimeDefault")
    probe = k.V1Probe(tcp_socket=k.V1TCPSocketAction(port="http"), period_seconds=10)
    env = {
        "CMP_RUNTIME": "dedicated",
        "CMP_TENANT_ID": str(spec.tenant_id),
        "CMP_SUBSCRIPTION_ID": str(spec.subscription_id),
        "CMP_PRODUCT_ID": str(spec.product_id),
        "CMP_PRODUCT_VERSION": spec.product_version,
        "AWS_DEFAULT_REGION": cluster.resources.region,
        "PORT": str(PORT),
    }
    if cluster.resources.database_secret_arn:
        env["DATABASE_SECRET_ARN"] = cluster.resources.database_secret_arn
    container = k.V1Container(
        name="runtime",
        image=cluster.runtime_image,
        ports=[k.V1ContainerPort(name="http", container_port=PORT, protocol="TCP")],
        env=[k.V1EnvVar(name=n, value=v) for n, v in env.items()],
        resources=k.V1ResourceRequirements(requests=requests, limits=limits),
        readiness_probe=probe,
        liveness_probe=probe,
        security_context=k.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k.V1Capabilities(drop=["ALL"]),
            seccomp_profile=seccomp,
        ),
        volume_mounts=[k.V1VolumeMount(name="tmp", mount_path="/tmp")],
    )
    pod = k.V1PodSpec(
        service_account_name=SERVICE_ACCOUNT,
        automount_service_account_token=False,
        security_context=k.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=RUN_AS,
            run_as_group=RUN_AS,
            fs_group=RUN_AS,
            seccomp_profile=seccomp,
        ),
        containers=[container],
        volumes=[k.V1Volume(name="tmp", empty_dir=k.V1EmptyDirVolumeSource(size_limit="256Mi"))],
        node_selector={GPU_NODE_LABEL: GPU_TYPE} if size.gpus else None,
        tolerations=(
            [k.V1Toleration(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")] if size.gpus else None
        ),
    )
    return [
        k.V1Deployment(
            api_version="apps/v1",
            kind="Deployment",
            metadata=meta,
            spec=k.V1DeploymentSpec(
                selector=selector,
                strategy=k.V1DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k.V1RollingUpdateDeployment(max_surge=1, max_unavailable=0),
                ),
                template=k.V1PodTemplateSpec(metadata=k.V1ObjectMeta(labels=labels), spec=pod),
            ),
        ),
        k.V1Service(
            api_version="v1",
            kind="Service",
            metadata=meta,
            spec=k.V1ServiceSpec(
                type="ClusterIP",
                selector=selector_labels(spec),
                ports=[k.V1ServicePort(name="http", port=80, target_port="http", protocol="TCP")],
            ),
        ),
        k.V2HorizontalPodAutoscaler(
            api_version="autoscaling/v2",
            kind="HorizontalPodAutoscaler",
            metadata=meta,
            spec=k.V2HorizontalPodAutoscalerSpec(
                scale_target_ref=k.V2CrossVersionObjectReference(
                    api_version="apps/v1", kind="Deployment", name=spec.name
                ),
                min_replicas=size.min_replicas,
                max_replicas=size.max_replicas,
                metrics=[
                    k.V2MetricSpec(
                        type="Resource",
                        resource=k.V2ResourceMetricSource(
                            name="cpu", target=k.V2MetricTarget(type="Utilization", average_utilization=70)
                        ),
                    )
                ],
            ),
        ),
        k.V1PodDisruptionBudget(
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            metadata=meta,
            spec=k.V1PodDisruptionBudgetSpec(min_available=1, selector=selector),
        ),
    ]


def _resources(cpu_m: int, memory_mi: int) -> dict[str, str]:
    return {"cpu": f"{cpu_m}m", "memory": f"{memory_mi}Mi"}


def to_dicts(objects: list[Any]) -> list[dict[str, Any]]:
    """The models as the JSON dicts the API server takes (camelCase keys, no nulls)."""
    client = _api_client()
    return [client.sanitize_for_serialization(o) for o in objects]


@cache
def _api_client() -> ApiClient:
    from kubernetes.client import ApiClient

    return ApiClient()
