"""A NetworkPolicy evaluator for tests: may a connection from one pod reach another, given the policies
of the destination's namespace (ingress) and of the source's namespace (egress)?

Semantics from kubernetes.io "Network Policies": a pod selected by no policy of a direction is open in
that direction; a selected pod accepts a connection when any rule of any selecting policy matches (rules
are additive); a rule with no peers matches every peer, with no ports every port; a peer with only a
namespaceSelector matches every pod of the matching namespaces, with only a podSelector the matching pods
of the policy's own namespace, with both the matching pods of the matching namespaces; an ipBlock
matches addresses (here: an `Endpoint` given by its IP).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    namespace_labels: dict[str, str] = field(default_factory=dict)

    @property
    def all_namespace_labels(self) -> dict[str, str]:
        """Kubernetes labels every namespace with its name (`kubernetes.io/metadata.name`)."""
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


@dataclass(frozen=True)
class Endpoint:
    """An address outside the cluster's pods (an AWS endpoint, the internet)."""

    ip: str


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (`matchLabels` and `matchExpressions`); an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: dict[str, Any], policy_namespace: str, other: Pod | Endpoint) -> bool:
    if "ipBlock" in peer:
        if not isinstance(other, Endpoint):
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if isinstance(other, Endpoint):
        return False
    if "namespaceSelector" in peer:
        namespace_ok = selects(peer["namespaceSelector"], other.all_namespace_labels)
    else:
        namespace_ok = other.namespace == policy_namespace
    return namespace_ok and selects(peer.get("podSelector"), other.labels)


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def _allowed(
    policies: list[dict[str, Any]], pod: Pod, other: Pod | Endpoint, port: int, protocol: str, direction: str
) -> bool:
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and selects(p["spec"].get("podSelector"), pod.labels)
        and direction in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(p, pod.namespace, other) for p in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def can_connect(
    policies: list[dict[str, Any]], source: Pod, destination: Pod | Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """True when `source`'s egress and (for a pod) `destination`'s ingress both allow the connection."""
    if not _allowed(policies, source, destination, port, protocol, "Egress"):
        return False
    if isinstance(destination, Endpoint):
        return True
    return _allowed(policies, destination, source, port, protocol, "Ingress")
