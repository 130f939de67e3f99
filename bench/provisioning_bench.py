"""Dedicated runtime provisioning benchmark, against the local fake Kubernetes API server (over HTTP, through
the real `kubernetes` client adapter) and moto's IAM in-process.

1. One tenant, step by step: the cluster and IAM side of each provisioning step (`DedicatedRuntimes`), then
   compensation; the median of `--rounds` tenants per step. The Step Functions and SQS hops between the
   steps are not in these figures (moto runs them locally; AWS adds its own).
2. N tenants (default 1,000): manifests built with the client models, validated with kubernetes-validate,
   applied with server-side apply, then applied again (the no-op a re-run step makes); wall time per phase
   and the process's peak resident memory.

    .venv/bin/python bench/provisioning_bench.py [--tenants 1000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
import uuid
from typing import Any

from moto import mock_aws

from cmp.aws.clients import client
from cmp.provisioning.cluster import KubernetesCluster
from cmp.provisioning.dedicated import DedicatedRuntimes, IamTenantRoles
from cmp.provisioning.iam import TenantResources
from cmp.provisioning.manifests import (
    ClusterSettings,
    RuntimeSpec,
    namespace_manifests,
    runtime_manifests,
    to_dicts,
)
from cmp.provisioning.sizing import RuntimeSize
from cmp_dev.devtools.manifest_check import validate
from cmp_dev.local.kube_api import FakeKubernetes, KubeApiServer

RESOURCES = TenantResources(
    "123456789012", "us-east-1", "cmp-data", "oidc.eks.us-east-1.amazonaws.com/id/BENCH"
)
CLUSTER = ClusterSettings(RESOURCES, "cmp-runtime:bench")
MEDIUM = {"runtime": {"compute": {"cpu": "medium", "memory": "medium"}}}


def spec(tenant: uuid.UUID) -> RuntimeSpec:
    return RuntimeSpec(tenant, uuid.uuid4(), uuid.uuid4(), "1.0.0", RuntimeSize.of(MEDIUM))


def timed(fn: Any, *args: Any) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def steps(runtimes: DedicatedRuntimes, rounds: int) -> dict[str, float]:
    """Median milliseconds of each step over `rounds` tenants."""
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        tenant = uuid.uuid4()
        runtime = spec(tenant)
        calls: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("create_namespace", runtimes.create_namespace, (tenant,)),
            ("create_role", runtimes.create_role, (tenant,)),
            ("apply_manifests", runtimes.apply, (runtime, [MEDIUM])),
            ("wait_rollout", runtimes.rollout, (runtime,)),
            ("apply_manifests (again)", runtimes.apply, (runtime, [MEDIUM])),
            ("compensate: delete_namespace", runtimes.delete_namespace, (tenant,)),
            ("compensate: revoke_role", runtimes.revoke_role, (tenant,)),
        ]
        for name, call, args in calls:
            samples.setdefault(name, []).append(timed(call, *args))
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def many(cluster: KubernetesCluster, tenants: int) -> dict[str, Any]:
    """Build, validate, apply and re-apply every object of `tenants` tenants; seconds per phase."""
    figures: dict[str, Any] = {"tenants": tenants}
    started = time.perf_counter()
    manifests: list[dict[str, Any]] = []
    for _ in range(tenants):
        tenant = uuid.uuid4()
        runtime = spec(tenant)
        manifests += to_dicts(
            namespace_manifests(tenant, [runtime.size], CLUSTER) + runtime_manifests(runtime, CLUSTER)
        )
    figures["objects"] = len(manifests)
    figures["build_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    validate(manifests)
    figures["validate_s"] = round(time.perf_counter() - started, 2)
    for phase in ("apply_s", "reapply_s"):
        started = time.perf_counter()
        for manifest in manifests:
            cluster.apply(manifest)
        figures[phase] = round(time.perf_counter() - started, 2)
    figures["apply_ms_per_object"] = round(figures["apply_s"] * 1000 / len(manifests), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[key] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    store = FakeKubernetes()
    server = KubeApiServer(store).start()
    try:
        cluster = KubernetesCluster.connect(server.url)
        with mock_aws():
            client.cache_clear()
            runtimes = DedicatedRuntimes(cluster, IamTenantRoles(RESOURCES), CLUSTER)
            per_step = steps(runtimes, args.rounds)
        figures = many(cluster, args.tenants)
    finally:
        server.stop()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures["fake_server_objects"] = len(store.objects)
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "steps_ms_median": per_step,
                **figures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
