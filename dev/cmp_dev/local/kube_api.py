"""The smallest stateful Kubernetes API server the dedicated runtime needs: server-side apply, get, list
and delete of the kinds `cmp.provisioning.cluster.KINDS` names, over HTTP, in a thread.

Why our own and not `kmock` (0.8): kmock's emulator answers a PATCH to a missing object with 404 and
merges dicts for every PATCH, so server-side apply's create-or-update, its field ownership (a field the
manager stops sending is removed) and its no-op on an unchanged object cannot be observed against it.

What it does like the real API server (kubernetes.io, "Server-Side Apply"): an apply
(`PATCH …?fieldManager=…`, `Content-Type: application/apply-patch+yaml`) creates the object or replaces
the fields that manager owns with the ones it sent (one manager per object here: the provisioning
function), keeps server-set metadata (uid, creationTimestamp), bumps `resourceVersion` only when the
object changed and `generation` only when its spec did; namespaced objects need their namespace (404);
deleting a namespace deletes what it holds. In place of the Deployment controller, a Deployment's status
reports its replicas available (or stalled, by `stall()`, with `ProgressDeadlineExceeded`). With `pods`
(`cmp_dev.local.runtime_processes`, in `make run`) a Deployment runs as a local process: its status says
"no replica available" until the process answers, and the Service of the same name reports the process's
address as a load balancer's (`status.loadBalancer.ingress`), which is how the gateway reaches it.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import yaml

from cmp.provisioning.cluster import KINDS, Kind

Key = tuple[str, str | None, str]
"""(plural, namespace or None, name)"""
SERVER_FIELDS = ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields")


class Pods(Protocol):
    """What runs a Deployment's pods (the local runner's processes)."""

    def deployment_changed(self, deployment: dict[str, Any], present: bool) -> None:
        """A Deployment was applied (present) or deleted (not)."""
        ...

    def available(self, namespace: str, name: str) -> bool:
        """Whether the Deployment's pod answers."""
        ...

    def address(self, namespace: str, name: str) -> tuple[str, int] | None:
        """(host, port) where the Deployment's pod listens, None when it does not run."""
        ...


class FakeKubernetes:
    """The objects, by (plural, namespace, name); thread-safe. `pods`, when given, is told of every
    Deployment applied or deleted and runs it."""

    def __init__(self, pods: Pods | None = None) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._version = 0
        self._stalled: set[tuple[str, str]] = set()
        self._pods = pods

    def stall(self, namespace: str, name: str) -> None:
        """The Deployment's rollout never becomes available (its progress deadline is exceeded)."""
        self._stalled.add((namespace, name))

    def apply(
        self, kind: Kind, namespace: str | None, name: str, body: dict[str, Any], manager: str
    ) -> tuple[int, dict[str, Any]]:
        """Server-side apply; (status, object or Status)."""
        body_meta = body.get("metadata") or {}
        if body_meta.get("name") != name or body.get("kind") != kind.kind:
            return 400, status(400, "BadRequest", "the body's kind and name must match the URL")
        with self._lock:
            if kind.namespaced and ("namespaces", None, namespace or "") not in self.objects:
                return 404, status(404, "NotFound", f'namespaces "{namespace}" not found')
            key = (kind.plural, namespace, name)
            current = self.objects.get(key)
            applied = copy.deepcopy(body)
            applied["metadata"] = {k: v for k, v in body_meta.items() if k not in SERVER_FIELDS}
            if kind.namespaced:
                applied["metadata"]["namespace"] = namespace
            if current is not None:
                for server_field in SERVER_FIELDS:
                    if server_field in current["metadata"]:
                        applied["metadata"][server_field] = current["metadata"][server_field]
                if "status" in current:
                    applied["status"] = current["status"]
            else:
                applied["metadata"].update(
                    uid=str(uuid.uuid4()),
                    creationTimestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    generation=1,
                    managedFields=[
                        {"manager": manager, "operation": "Apply", "apiVersion": body["apiVersion"]}
                    ],
                )
            if kind.kind == "Deployment":
                applied["spec"].setdefault("replicas", 1)
            if current is not None and _without_server_fields(current) == _without_server_fields(applied):
                return 200, copy.deepcopy(current)
            if current is not None and current.get("spec") != applied.get("spec"):
                applied["metadata"]["generation"] = current["metadata"]["generation"] + 1
            self._version += 1
            applied["metadata"]["resourceVersion"] = str(self._version)
            if kind.kind == "Deployment":
                applied["status"] = self._rollout(applied)
            self.objects[key] = applied
            result = copy.deepcopy(applied)
        if kind.kind == "Deployment" and self._pods is not None:
            self._pods.deployment_changed(result, True)
        return (201 if current is None else 200), self._observed(result)

    def _rollout(self, deployment: dict[str, Any]) -> dict[str, Any]:
        meta = deployment["metadata"]
        replicas = deployment["spec"]["replicas"]
        if (meta["namespace"], meta["name"]) in self._stalled:
            condition = {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": f'ReplicaSet "{meta["name"]}" has timed out progressing.',
            }
            return {
                "observedGeneration": meta["generation"],
                "replicas": replicas,
                "updatedReplicas": 0,
                "availableReplicas": 0,
                "conditions": [condition],
            }
        return {
            "observedGeneration": meta["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}],
        }

    def _observed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` with what its pods show: a Deployment not available while its process does not answer,
        a Service's load balancer address where the process listens."""
        if self._pods is None or obj["kind"] not in ("Deployment", "Service"):
            return obj
        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        if obj["kind"] == "Deployment" and not self._pods.available(namespace, name):
            obj["status"] = {**obj["status"], "readyReplicas": 0, "availableReplicas": 0}
        address = self._pods.address(namespace, name) if obj["kind"] == "Service" else None
        if address is not None:
            ingress = {"ip": address[0], "ports": [{"port": address[1], "protocol": "TCP"}]}
            obj["status"] = {"loadBalancer": {"ingress": [ingress]}}
        return obj

    def get(self, kind: Kind, namespace: str | None, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.objects.get((kind.plural, namespace, name))
            found = copy.deepcopy(found) if found is not None else None
        return self._observed(found) if found is not None else None

    def list(self, kind: Kind, namespace: str | None) -> list[dict[str, Any]]:
        with self._lock:
            found = [
                copy.deepcopy(o)
                for (plural, ns, _), o in sorted(self.objects.items(), key=lambda item: str(item[0]))
                if plural == kind.plural and (namespace is None or ns == namespace)
            ]
        return [self._observed(o) for o in found]

    def delete(self, kind: Kind, namespace: str | None, name: str) -> bool:
        """False when there was nothing to delete; a namespace takes its objects with it."""
        with self._lock:
            removed = self.objects.pop((kind.plural, namespace, name), None)
            if removed is None:
                return False
            gone = [removed] if kind.kind == "Deployment" else []
            if kind.kind == "Namespace":
                inside = [k for k in self.objects if k[1] == name]
                gone = [self.objects[k] for k in inside if k[0] == "deployments"]
                for k in inside:
                    del self.objects[k]
        if self._pods is not None:
            for deployment in gone:
                self._pods.deployment_changed(deployment, False)
        return True


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A `Status` object, as the API server answers errors."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": reason,
        "message": message,
        "code": code,
    }


def _without_server_fields(obj: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(obj)
    stripped.pop("status", None)
    for server_field in SERVER_FIELDS:
        stripped["metadata"].pop(server_field, None)
    return stripped


def _route(path: str) -> tuple[Kind, str | None, str | None] | None:
    """`/api/v1/namespaces/ns/services/name` → (Service kind, "ns", "name"); None for unknown paths."""
    for kind in KINDS.values():
        prefix = kind.prefix
        if not path.startswith(prefix + "/"):
            continue
        parts = path[len(prefix) + 1 :].split("/")
        if kind.namespaced and len(parts) in (3, 4) and parts[0] == "namespaces" and parts[2] == kind.plural:
            return kind, parts[1], parts[3] if len(parts) == 4 else None
        if not kind.namespaced and parts[0] == kind.plural and len(parts) in (1, 2):
            return kind, None, parts[1] if len(parts) == 2 else None
    return None


class KubeApiServer:
    """`FakeKubernetes` over HTTP on 127.0.0.1 (no authentication); `url` once started."""

    def __init__(self, cluster: FakeKubernetes, port: int = 0) -> None:
        self.cluster = cluster
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(cluster))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-kube-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> KubeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(cluster: FakeKubernetes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool reuses its connections

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle's algorithm holds the body until
            # the client's delayed ACK (~40 ms a request)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _target(self) -> tuple[Kind, str | None, str | None] | None:
            route = _route(urlsplit(self.path).path)
            if route is None:
                self._answer(404, status(404, "NotFound", f"the server could not find {self.path}"))
            return route

        def do_GET(self) -> None:
            route = self._target()
            if route is None:
                return
            kind, namespace, name = route
            if name is None:
                self._answer(
                    200,
                    {
                        "kind": f"{kind.kind}List",
                        "apiVersion": kind.api_version,
                        "items": cluster.list(kind, namespace),
                    },
                )
                return
            found = cluster.get(kind, namespace, name)
            if found is None:
                self._answer(404, status(404, "NotFound", f'{kind.plural} "{name}" not found'))
            else:
                self._answer(200, found)

        def do_PATCH(self) -> None:
            route = self._target()
            if route is None:
                return
            kind, namespace, name = route
            query = parse_qs(urlsplit(self.path).query)
            if self.headers.get("Content-Type") != "application/apply-patch+yaml" or name is None:
                self._answer(415, status(415, "UnsupportedMediaType", "only server-side apply is served"))
                return
            manager = (query.get("fieldManager") or [""])[0]
            if not manager:
                self._answer(422, status(422, "Invalid", "fieldManager is required for apply requests"))
                return
            body = yaml.safe_load(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
                self._answer(400, status(400, "BadRequest", "the body must be one object"))
                return
            code, answer = cluster.apply(kind, namespace, name, body, manager)
            self._answer(code, answer)

        def do_DELETE(self) -> None:
            route = self._target()
            if route is None:
                return
            kind, namespace, name = route
            if name is None or not cluster.delete(kind, namespace, name):
                self._answer(404, status(404, "NotFound", f'{kind.plural} "{name}" not found'))
            else:
                self._answer(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})

    return Handler
