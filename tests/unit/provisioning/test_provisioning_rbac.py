"""The provisioning function's Kubernetes permissions (infra/kubernetes/provisioning-rbac.yaml) are exactly
what the cluster adapter uses: every kind of `cmp.provisioning.cluster.KINDS` with get, create, patch and delete,
nothing else (no wildcard, no list or watch, no other resource); the EKS access entry grants no access
policy of its own, only the group; the admission policy holds the group to tenant namespaces."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cmp.provisioning.cluster import KINDS
from cmp_dev.devtools.manifest_check import rbac_manifests

pytestmark = pytest.mark.unit
VERBS = {"get", "create", "patch", "delete"}


def test_the_cluster_role_names_exactly_the_kinds_and_verbs_provisioning_uses() -> None:
    role = next(o for o in rbac_manifests() if o["kind"] == "ClusterRole")
    granted: set[tuple[str, str]] = set()
    for rule in role["rules"]:
        assert set(rule["verbs"]) == VERBS, rule
        granted |= {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
    needed = {(k.api_version.rpartition("/")[0], k.plural) for k in KINDS.values()}
    assert granted == needed
    assert not any("*" in group or "*" in resource for group, resource in granted)


def test_the_binding_and_the_access_entry_give_the_role_to_the_group_only() -> None:
    objects = {o["kind"]: o for o in rbac_manifests()}
    binding = objects["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == "cmp-provisioning"
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "cmp-provisioning"}
    ]
    policy = objects["ValidatingAdmissionPolicy"]
    assert "cmp-provisioning" in policy["spec"]["matchConditions"][0]["expression"]
    assert objects["ValidatingAdmissionPolicyBinding"]["spec"]["validationActions"] == ["Deny"]

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    base = Path(__file__).resolve().parents[3] / "infra" / "eks-base.yaml"
    entry = yaml.load(base.read_text(), Loader=Loader)["Resources"]["ProvisioningAccess"]["Properties"]
    assert entry["KubernetesGroups"] == ["cmp-provisioning"] and "AccessPolicies" not in entry
