"""`make run`'s kubelet: each dedicated runtime Deployment applied to the fake API server runs as a separate
local process (`cmp_dev.local.runtime_host` serving infra/runtime/app.py, what the runtime image runs), from
the Deployment's container spec:

- its environment is the container's `env` over the platform's (the database, moto and the other settings
  the pooled runtime functions get, which in AWS come from the pod's role and the cluster's secrets);
- `PORT` is a free local port instead of the container's 8080;
- its memory limit becomes the process's address-space limit (`RLIMIT_AS`, what Linux allows a process
  without cgroups); CPU limits are not applied (no per-process CPU share without cgroups);
- one process per Deployment (its replica count is not played); a changed pod template (a new product
  version) replaces the process, as a rolling update would; a deleted Deployment (or namespace) stops it.

The process starts in the background; until it accepts connections the Deployment reports no replica
available (the provisioning state machine's `wait_rollout` retries), then the Service of the same name
reports its address, which provisioning registers as the runtime's endpoint.
"""

from __future__ import annotations

import logging
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
RUNTIME_APP = Path(__file__).resolve().parents[3] / "infra" / "runtime"
HANDLER = "app.handler"
"""The runtime image's CMD (infra/Dockerfile)."""
START_SECONDS = 120.0
UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "M": 10**6, "G": 10**9}


def memory_bytes(quantity: str) -> int:
    """A Kubernetes memory quantity (`512Mi`, `2Gi`, `1G`, `1048576`) in bytes. Raises ValueError for
    anything else."""
    for suffix in sorted(UNITS, key=len, reverse=True):
        if quantity.endswith(suffix):
            return int(quantity[: -len(suffix)]) * UNITS[suffix]
    return int(quantity)


@dataclass
class RuntimeProcess:
    """One Deployment's process: `template` is the pod template it was started from."""

    template: dict[str, Any]
    port: int
    process: subprocess.Popen[bytes]
    ready: threading.Event = field(default_factory=threading.Event)


class RuntimeProcesses:
    """`cmp_dev.local.kube_api.Pods` as local processes. `environment()` is the platform's environment for
    the runtime (called at each start); `log_dir` receives each process's output."""

    def __init__(self, environment: Callable[[], dict[str, str]], log_dir: Path) -> None:
        self._environment = environment
        self._log_dir = log_dir
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], RuntimeProcess] = {}

    def deployment_changed(self, deployment: dict[str, Any], present: bool) -> None:
        """Start, replace or stop the Deployment's process."""
        key = (deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        template = deployment["spec"]["template"]
        with self._lock:
            current = self._running.get(key)
            if present and current is not None and current.template == template:
                return
            if current is not None:
                _stop(self._running.pop(key))
            if present:
                self._running[key] = self._start(key, template)

    def available(self, namespace: str, name: str) -> bool:
        with self._lock:
            running = self._running.get((namespace, name))
        return running is not None and running.ready.is_set() and running.process.poll() is None

    def address(self, namespace: str, name: str) -> tuple[str, int] | None:
        with self._lock:
            running = self._running.get((namespace, name))
        return ("127.0.0.1", running.port) if running is not None else None

    def stop(self) -> None:
        """Stop every process (the stack stops)."""
        with self._lock:
            for running in self._running.values():
                _stop(running)
            self._running.clear()

    def _start(self, key: tuple[str, str], template: dict[str, Any]) -> RuntimeProcess:
        container = template["spec"]["containers"][0]
        port = _free_port()
        env = {
            **self._environment(),
            **{e["name"]: e["value"] for e in container.get("env") or [] if "value" in e},
            "PORT": str(port),
        }
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        self._log_dir.mkdir(parents=True, exist_ok=True)
        output = (self._log_dir / f"{key[1]}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "cmp_dev.local.runtime_host", str(RUNTIME_APP), HANDLER],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_limits(memory_bytes(limit) if limit else None),
            start_new_session=True,
        )
        output.close()
        running = RuntimeProcess(template, port, process)
        threading.Thread(target=_wait_ready, args=(running,), daemon=True, name=f"ready-{key[1]}").start()
        log.info("dedicated runtime %s/%s: process %s on port %s", *key, process.pid, port)
        return running


def _limits(memory: int | None) -> Callable[[], None]:
    def apply() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return apply


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(running: RuntimeProcess) -> None:
    """Mark the process ready once it accepts connections (its readiness probe is a TCP check too)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and running.process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", running.port), timeout=0.5):
                running.ready.set()
                return
        except OSError:
            time.sleep(0.2)


def _stop(running: RuntimeProcess) -> None:
    if running.process.poll() is None:
        running.process.terminate()
        try:
            running.process.wait(5)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait()
