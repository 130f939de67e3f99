"""Validate a dedicated tenant's manifests against the real OpenAPI schemas of the Kubernetes version the
EKS base pins (`kubernetes-validate`, strict: unknown fields are errors). Run by `cmp check` on sample
tenants (with and without a GPU) and on the provisioning function's RBAC
(infra/kubernetes/provisioning-rbac.yaml), and by the tests and the provisioning benchmark on what they
build."""

from __future__ import annotations

import re
import uuid
from functools import cache
from pathlib import Path
from typing import Any

from cmp.provisioning.iam import TenantResources
from cmp.provisioning.manifests import (
    KUBERNETES_VERSION,
    ClusterSettings,
    RuntimeSpec,
    namespace_manifests,
    runtime_manifests,
    to_dicts,
)
from cmp.provisioning.sizing import RuntimeSize

RBAC_FILE = Path(__file__).resolve().parents[3] / "infra/kubernetes/provisioning-rbac.yaml"


class ManifestInvalid(ValueError):
    """A built manifest does not match the pinned Kubernetes version's schema (a bug, never user input)."""


def validate(manifests: list[dict[str, Any]]) -> None:
    """Check each object; raises `ManifestInvalid` naming the object, the field path and the problem."""
    import jsonschema

    for manifest in manifests:
        kind, name = manifest.get("kind"), manifest.get("metadata", {}).get("name")
        error = jsonschema.exceptions.best_match(
            _validator(str(kind), str(manifest.get("apiVersion"))).iter_errors(manifest)
        )
        if error is not None:
            path = ".".join(str(p) for p in error.absolute_path)
            raise ManifestInvalid(f"{kind} {name}: {path or '(root)'}: {error.message}")


@cache
def _validator(kind: str, api_version: str) -> Any:
    """kubernetes-validate's strict schema of `kind` for `KUBERNETES_VERSION`, compiled once per kind (its
    own `validate()` re-reads the 1 MB definitions file on every call: ~150 ms an object here)."""
    import jsonschema
    import referencing
    from kubernetes_validate.utils import schema_contents

    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}.0-local-strict"
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", KUBERNETES_VERSION)
    except FileNotFoundError as e:
        raise ManifestInvalid(f"no {api_version}/{kind} in Kubernetes {KUBERNETES_VERSION}") from e
    definitions = schema_contents(f"{folder}/_definitions.json", KUBERNETES_VERSION)
    registry = referencing.Resource.from_contents(schema) @ referencing.Registry()
    registry = referencing.Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


def sample_manifests() -> list[dict[str, Any]]:
    """Two sample tenants' objects: a medium CPU runtime and a GPU one."""
    resources = TenantResources(
        "123456789012",
        "us-east-1",
        "cmp-data",
        "oidc.eks.us-east-1.amazonaws.com/id/X",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:cmp/database-AbCdEf",
    )
    cluster = ClusterSettings(resources, "123456789012.dkr.ecr.us-east-1.amazonaws.com/cmp-runtime:check")
    manifests: list[Any] = []
    for compute in ({"cpu": "medium", "memory": "medium"}, {"cpu": "gpu", "memory": "high"}):
        tenant = uuid.uuid4()
        spec = RuntimeSpec(
            tenant, uuid.uuid4(), uuid.uuid4(), "1.0.0", RuntimeSize.of({"runtime": {"compute": compute}})
        )
        manifests += namespace_manifests(tenant, [spec.size], cluster) + runtime_manifests(spec, cluster)
    return to_dicts(manifests)


def rbac_manifests() -> list[dict[str, Any]]:
    """The objects of infra/kubernetes/provisioning-rbac.yaml."""
    import yaml

    return [o for o in yaml.safe_load_all(RBAC_FILE.read_text()) if o]


def main() -> int:
    """Print what is wrong and return 1, or return 0."""
    try:
        validate(sample_manifests())
        validate(rbac_manifests())
    except ManifestInvalid as e:
        print(f"dedicated runtime manifests: {e}")
        return 1
    print(f"dedicated runtime manifests: valid for Kubernetes {KUBERNETES_VERSION}")
    return 0
