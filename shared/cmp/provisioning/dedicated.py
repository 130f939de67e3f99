"""What provisioning does outside the database for a dedicated subscription: the tenant's namespace and
objects on the cluster (server-side apply, so every call may be repeated), its IAM role, the rollout check,
and their removal (compensation after a failure, deprovisioning after the subscription ended).

Every operation is idempotent: creating what exists updates it to the same state, deleting what is gone
answers False.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from cmp.provisioning.cluster import Cluster, rollout_state
from cmp.provisioning.iam import TenantResources, namespace_of
from cmp.provisioning.manifests import (
    ClusterSettings,
    RuntimeSpec,
    namespace_manifests,
    runtime_manifests,
    to_dicts,
)
from cmp.provisioning.sizing import RuntimeSize

if TYPE_CHECKING:
    from cmp.config import Settings


class TenantRoles(Protocol):
    """The tenants' IAM roles (IRSA)."""

    def ensure(self, tenant_id: UUID) -> str:
        """Create the tenant's role or bring its trust and permissions up to date; returns its ARN."""
        ...

    def revoke(self, tenant_id: UUID) -> bool:
        """Delete the tenant's role and its inline policy; False when it did not exist."""
        ...


class IamTenantRoles:
    """`TenantRoles` over boto3's IAM client (`cmp.aws.clients.client("iam")`)."""

    POLICY = "tenant-resources"

    def __init__(self, resources: TenantResources) -> None:
        self._resources = resources

    def ensure(self, tenant_id: UUID) -> str:
        from cmp.aws.clients import client

        iam = client("iam")
        name = self._resources.role_name(tenant_id)
        trust = json.dumps(self._resources.trust_policy(tenant_id))
        try:
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=trust,
                Description=f"CMP dedicated runtime of tenant {tenant_id}",
                Tags=[{"Key": "cmp:tenant", "Value": str(tenant_id)}],
            )
        except iam.exceptions.EntityAlreadyExistsException:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        iam.put_role_policy(
            RoleName=name,
            PolicyName=self.POLICY,
            PolicyDocument=json.dumps(self._resources.permissions_policy(tenant_id)),
        )
        return self._resources.role_arn(tenant_id)

    def revoke(self, tenant_id: UUID) -> bool:
        from cmp.aws.clients import client

        iam = client("iam")
        name = self._resources.role_name(tenant_id)
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.delete_role_policy(RoleName=name, PolicyName=self.POLICY)
        try:
            iam.delete_role(RoleName=name)
        except iam.exceptions.NoSuchEntityException:
            return False
        return True


class DedicatedRuntimes:
    """The cluster and IAM side of dedicated runtimes. Raises `cmp.provisioning.cluster.ClusterError` when
    the API server refuses, `RolloutFailed` when a rollout cannot become available."""

    def __init__(self, cluster: Cluster, roles: TenantRoles, settings: ClusterSettings) -> None:
        self._cluster = cluster
        self._roles = roles
        self.settings = settings

    def spec(self, subscription: Any) -> RuntimeSpec:
        """The runtime a subscription (`cmp.commerce.model.Subscription`) runs: its version, its size."""
        return RuntimeSpec(
            subscription.tenant_id,
            subscription.id,
            subscription.product_id,
            subscription.product_version,
            RuntimeSize.of(subscription.capabilities),
        )

    def create_namespace(self, tenant_id: UUID) -> dict[str, Any]:
        """Apply the tenant's Namespace (its other tenant-level objects come with the manifests)."""
        (namespace,) = to_dicts(namespace_manifests(tenant_id, [RuntimeSize.of({})], self.settings)[:1])
        stored = self._cluster.apply(namespace)
        return {"namespace": stored["metadata"]["name"], "uid": stored["metadata"].get("uid")}

    def create_role(self, tenant_id: UUID) -> dict[str, Any]:
        return {"role_arn": self._roles.ensure(tenant_id)}

    def apply(self, spec: RuntimeSpec, capabilities: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply the tenant-level objects (quota sized for `capabilities`: every live dedicated
        subscription of the tenant) and the runtime's own; returns the kinds applied and the Deployment's
        generation."""
        sizes = [RuntimeSize.of(c) for c in capabilities] or [spec.size]
        objects = namespace_manifests(spec.tenant_id, sizes, self.settings)[1:]
        objects += runtime_manifests(spec, self.settings)
        applied = [self._cluster.apply(m) for m in to_dicts(objects)]
        deployment = next(o for o in applied if o["kind"] == "Deployment")
        return {
            "applied": [f"{o['kind']}/{o['metadata']['name']}" for o in applied],
            "generation": deployment["metadata"].get("generation"),
            "product_version": spec.product_version,
        }

    def rollout(self, spec: RuntimeSpec) -> tuple[str, str]:
        """("available" | "progressing" | "failed", reason) of the runtime's Deployment."""
        return rollout_state(self._cluster.get("Deployment", spec.namespace, spec.name))

    def url(self, spec: RuntimeSpec) -> str:
        """Where the gateway reaches the runtime: the address its Service's load balancer reports
        (`status.loadBalancer.ingress[0]`: ip or hostname, and port; the local cluster reports its
        process's there), else the Service's in-cluster DNS name."""
        service = self._cluster.get("Service", spec.namespace, spec.name) or {}
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress and (ingress[0].get("ip") or ingress[0].get("hostname")):
            host = ingress[0].get("ip") or ingress[0]["hostname"]
            ports = ingress[0].get("ports") or [{"port": 80}]
            return f"http://{host}:{ports[0]['port']}"
        return f"http://{spec.name}.{spec.namespace}.svc.cluster.local"

    def delete_namespace(self, tenant_id: UUID) -> dict[str, Any]:
        """Delete the tenant's namespace and everything in it."""
        return {
            "namespace": namespace_of(tenant_id),
            "deleted": self._cluster.delete("Namespace", None, namespace_of(tenant_id)),
        }

    def delete_runtime(self, spec: RuntimeSpec) -> list[str]:
        """Delete one runtime's own objects (the tenant keeps its namespace); returns those deleted."""
        deleted = []
        for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler", "Service", "Deployment"):
            if self._cluster.delete(kind, spec.namespace, spec.name):
                deleted.append(f"{kind}/{spec.name}")
        return deleted

    def revoke_role(self, tenant_id: UUID) -> dict[str, Any]:
        return {
            "role": self.settings.resources.role_name(tenant_id),
            "deleted": self._roles.revoke(tenant_id),
        }

    def data_location(self, tenant_id: UUID) -> str:
        return self.settings.resources.data_location(tenant_id)


def dedicated_runtimes(settings: Settings) -> DedicatedRuntimes | None:
    """Wire the cluster adapter from settings: `kubernetes_api_url` (no authentication: the local fake API
    server), else `eks_cluster_name` (endpoint and CA from EKS, a bearer token from the function's role);
    None when neither is set. The runtime pods get the database secret this function reads
    (`database_secret_arn`), by env var and through their tenant role."""
    from cmp.provisioning.cluster import KubernetesCluster, eks_token

    resources = TenantResources(
        settings.aws_account_id,
        settings.aws_region,
        settings.tenant_data_bucket,
        settings.eks_oidc_issuer,
        settings.database_secret_arn,
    )
    cluster_settings = ClusterSettings(
        resources,
        settings.runtime_image,
        settings.gateway_namespace,
        settings.aws_endpoint_cidrs,
        settings.database_cidrs,
    )
    if settings.kubernetes_api_url:
        cluster = KubernetesCluster.connect(settings.kubernetes_api_url)
    elif settings.eks_cluster_name:
        from cmp.aws.clients import client

        described = client("eks").describe_cluster(name=settings.eks_cluster_name)["cluster"]
        cluster = KubernetesCluster.connect(
            described["endpoint"],
            described["certificateAuthority"]["data"],
            eks_token(settings.eks_cluster_name, settings.aws_region),
        )
    else:
        return None
    return DedicatedRuntimes(cluster, IamTenantRoles(resources), cluster_settings)
