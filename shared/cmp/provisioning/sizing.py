"""What a dedicated runtime gets from the subscription it serves: pod resources from the capability
snapshot's `runtime.compute` classes, the replica range and the namespace quota.

Spec Part 4 "Tenant Isolation Strategy" (dedicated): replicas 2-10, cpu request 500m / limit 2000m,
memory 1Gi / 4Gi for a medium runtime; the other classes scale those by half or double. A `gpu` cpu
class adds one `nvidia.com/gpu` per pod (spec: GPU-enabled pods, type `nvidia-t4`), a node selector on
the GPU node group's label and the NVIDIA taint's toleration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_REPLICAS = 2
MAX_REPLICAS = 10
SURGE = 1
"""Extra pods a rolling update may start (`maxSurge`); the quota leaves room for them."""

CPU_MILLI: dict[str, tuple[int, int]] = {
    "low": (250, 1000),
    "medium": (500, 2000),
    "high": (1000, 4000),
    "gpu": (1000, 4000),
}
"""cpu class → (request, limit) in millicores per pod."""
MEMORY_MI: dict[str, tuple[int, int]] = {"low": (512, 2048), "medium": (1024, 4096), "high": (2048, 8192)}
"""memory class → (request, limit) in MiB per pod."""
GPU_TYPE = "nvidia-t4"
GPU_NODE_LABEL = "cmp.io/gpu"
GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class RuntimeSize:
    """Per-pod requests/limits (millicores, MiB), the replica range and the GPU count per pod (0: none)."""

    cpu_request_m: int
    cpu_limit_m: int
    memory_request_mi: int
    memory_limit_mi: int
    min_replicas: int = MIN_REPLICAS
    max_replicas: int = MAX_REPLICAS
    gpus: int = 0

    @classmethod
    def of(cls, capabilities: dict[str, Any]) -> RuntimeSize:
        """The size for a capability document (camelCase; missing classes are `low`, as its defaults).
        Raises ValueError naming an unknown class."""
        compute = (capabilities.get("runtime") or {}).get("compute") or {}
        cpu, memory = str(compute.get("cpu", "low")), str(compute.get("memory", "low"))
        if cpu not in CPU_MILLI:
            raise ValueError(f"unknown runtime.compute.cpu {cpu!r}: one of {', '.join(CPU_MILLI)}")
        if memory not in MEMORY_MI:
            raise ValueError(f"unknown runtime.compute.memory {memory!r}: one of {', '.join(MEMORY_MI)}")
        (cpu_req, cpu_lim), (mem_req, mem_lim) = CPU_MILLI[cpu], MEMORY_MI[memory]
        return cls(cpu_req, cpu_lim, mem_req, mem_lim, gpus=1 if cpu == "gpu" else 0)

    @property
    def pods(self) -> int:
        """The most pods of this runtime at once: full scale plus a rolling update's surge."""
        return self.max_replicas + SURGE


def namespace_quota(sizes: list[RuntimeSize]) -> dict[str, str]:
    """The tenant namespace's ResourceQuota `hard` for all its dedicated runtimes (one per dedicated
    subscription): every pod at its request/limit at full scale plus the surge, summed. Raises ValueError
    for an empty list (a namespace without runtimes is not provisioned)."""
    if not sizes:
        raise ValueError("a tenant namespace needs at least one runtime to size its quota")
    hard = {
        "pods": str(sum(s.pods for s in sizes)),
        "requests.cpu": f"{sum(s.pods * s.cpu_request_m for s in sizes)}m",
        "limits.cpu": f"{sum(s.pods * s.cpu_limit_m for s in sizes)}m",
        "requests.memory": f"{sum(s.pods * s.memory_request_mi for s in sizes)}Mi",
        "limits.memory": f"{sum(s.pods * s.memory_limit_mi for s in sizes)}Mi",
    }
    gpus = sum(s.pods * s.gpus for s in sizes)
    if gpus:
        hard[f"requests.{GPU_RESOURCE}"] = str(gpus)
    return hard
