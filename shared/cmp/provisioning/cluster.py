"""The Kubernetes cluster as provisioning uses it: server-side apply, get and delete of the kinds a
dedicated tenant's manifests hold, and the adapter over the `kubernetes` client's `ApiClient`.

Server-side apply (kubernetes.io, "Server-Side Apply"): `PATCH` of the full object with
`Content-Type: application/apply-patch+yaml`, `fieldManager` and `force=true` creates or updates it, so
running a step again is harmless. An EKS cluster is reached with a bearer token the way
`aws eks get-token` makes one (a presigned STS `GetCallerIdentity` URL naming the cluster in
`x-k8s-aws-id`, base64url-encoded after `k8s-aws-v1.`; aws-iam-authenticator's token format).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


@dataclass(frozen=True)
class Kind:
    """Where the API serves a kind: `/api/v1` or `/apis/{group}/{version}`, its plural, namespaced or not."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"

    def path(self, namespace: str | None, name: str) -> str:
        if self.namespaced:
            return f"{self.prefix}/namespaces/{namespace}/{self.plural}/{name}"
        return f"{self.prefix}/{self.plural}/{name}"


KINDS: dict[str, Kind] = {
    k.kind: k
    for k in (
        Kind("Namespace", "v1", "namespaces", namespaced=False),
        Kind("ServiceAccount", "v1", "serviceaccounts"),
        Kind("ResourceQuota", "v1", "resourcequotas"),
        Kind("LimitRange", "v1", "limitranges"),
        Kind("Service", "v1", "services"),
        Kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
        Kind("Deployment", "apps/v1", "deployments"),
        Kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
        Kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
    )
}


class ClusterError(RuntimeError):
    """The API server refused a request; `status` is its HTTP status, the message its `Status.message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Cluster(Protocol):
    """The Kubernetes API as provisioning needs it. Every method raises `ClusterError` on a refusal."""

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply `manifest` (a full object of a kind in `KINDS`); returns the stored object."""
        ...

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        ...

    def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        """Delete the object; False when it did not exist (deleting is idempotent)."""
        ...


MANAGER = "cmp-provisioning"
"""The field manager of every apply (the `app.kubernetes.io/managed-by` label too)."""


def kind_of(manifest: dict[str, Any]) -> Kind:
    """The manifest's `Kind`; ValueError for a kind provisioning does not manage."""
    kind = KINDS.get(str(manifest.get("kind")))
    if kind is None or kind.api_version != manifest.get("apiVersion"):
        raise ValueError(f"provisioning does not manage {manifest.get('apiVersion')}/{manifest.get('kind')}")
    return kind


class KubernetesCluster:
    """The `Cluster` port over a `kubernetes.client.ApiClient` (its REST layer; no discovery calls).

    `token` (optional) returns a fresh bearer token; called again when the last one is older than
    `token_ttl` seconds."""

    def __init__(
        self, api: ApiClient, token: Callable[[], str] | None = None, token_ttl: float = 600.0
    ) -> None:
        self._api = api
        self._token = token
        self._token_ttl = token_ttl
        self._token_at = float("-inf")

    @classmethod
    def connect(
        cls, host: str, ca_data: str | None = None, token: Callable[[], str] | None = None
    ) -> KubernetesCluster:
        """An adapter for the API server at `host` (`https://…`); `ca_data` the base64 PEM the cluster
        certificate chains to (EKS `certificateAuthority.data`)."""
        import tempfile

        from kubernetes.client import ApiClient, Configuration

        configuration = Configuration(host=host)
        if ca_data:
            with tempfile.NamedTemporaryFile("wb", suffix=".crt", delete=False) as ca:
                ca.write(base64.b64decode(ca_data))
            configuration.ssl_ca_cert = ca.name
        return cls(ApiClient(configuration), token)

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        from kubernetes.client.exceptions import ApiException

        if self._token is not None and time.monotonic() - self._token_at > self._token_ttl:
            self._api.configuration.api_key = {"authorization": self._token()}
            self._api.configuration.api_key_prefix = {"authorization": "Bearer"}
            self._token_at = time.monotonic()
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        auth = ["BearerToken"] if self._token is not None else []
        try:
            response = self._api.call_api(
                path, method, header_params=headers, auth_settings=auth, _preload_content=False, **kwargs
            )
        except ApiException as e:
            if e.status == 404:
                return 404, {}
            raise ClusterError(int(e.status or 0), _message(e.body) or str(e.reason)) from e
        raw = response[0].data
        return response[1], json.loads(raw) if raw else {}

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        kind = kind_of(manifest)
        meta = manifest["metadata"]
        status, body = self._request(
            "PATCH",
            kind.path(meta.get("namespace"), meta["name"]),
            query_params=[("fieldManager", MANAGER), ("force", "true")],
            headers={"Content-Type": "application/apply-patch+yaml"},
            body=manifest,
        )
        if status == 404:
            raise ClusterError(404, f"{kind.kind} {meta['name']}: its namespace does not exist")
        return body

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        status, body = self._request("GET", KINDS[kind].path(namespace, name))
        return None if status == 404 else body

    def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        status, _ = self._request("DELETE", KINDS[kind].path(namespace, name))
        return status != 404


def _message(body: Any) -> str:
    try:
        return str(json.loads(body).get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return ""


def eks_token(cluster_name: str, region: str) -> Callable[[], str]:
    """A bearer-token maker for an EKS cluster from the function's own AWS credentials (valid 15 min)."""

    def make() -> str:
        import boto3
        from botocore.signers import RequestSigner

        session = boto3.session.Session()
        sts = session.client("sts", region_name=region)
        signer = RequestSigner(
            sts.meta.service_model.service_id, region, "sts", "v4", session.get_credentials(), session.events
        )
        url = signer.generate_presigned_url(
            {
                "method": "GET",
                "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
                "body": {},
                "headers": {"x-k8s-aws-id": cluster_name},
                "context": {},
            },
            region_name=region,
            expires_in=60,
            operation_name="",
        )
        return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")

    return make


def rollout_state(deployment: dict[str, Any] | None) -> tuple[str, str]:
    """Where a Deployment's rollout is: ("available" | "progressing" | "failed", a readable reason).

    Available: the controller saw the current generation, every replica runs the current template and
    at least one is available (kubectl's `rollout status` rule); failed: its Progressing condition
    says `ProgressDeadlineExceeded`."""
    if deployment is None:
        return "failed", "the Deployment does not exist"
    status = deployment.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "failed", str(condition.get("message") or "the rollout exceeded its progress deadline")
    generation = deployment["metadata"].get("generation", 0)
    replicas = deployment.get("spec", {}).get("replicas", 1)
    if status.get("observedGeneration", 0) < generation:
        return "progressing", "the controller has not seen the new template yet"
    if status.get("updatedReplicas", 0) < replicas:
        return "progressing", f"{status.get('updatedReplicas', 0)} of {replicas} replicas updated"
    if status.get("availableReplicas", 0) < 1:
        return "progressing", "no replica available yet"
    return "available", f"{status.get('availableReplicas')} of {replicas} replicas available"
