"""The runtime metrics the SLA is computed from: their namespace, names and dimensions (the one place that
names them), and their emission as Powertools EMF at the source.

The gateway measures each call it forwards to a dedicated runtime (`cmp.web.forwarding`): the time from
sending the call to having the runtime's answer, and whether it failed on the platform's side (the runtime
answered 5xx, or could not be reached: `runtime_down`). A runtime that is down cannot report its own
errors, so the gateway, the closest point to the caller, is where they are counted. One EMF document per
call, in namespace `NAMESPACE` with dimensions `service` (`SERVICE`), `tenant` and `subscription`:

| metric | unit | value |
|---|---|---|
| `RuntimeRequests` | Count | 1 |
| `RuntimeErrors` | Count | 1 for a 5xx or `runtime_down`, else 0 |
| `RuntimeLatency` | Milliseconds | the forwarded call's time (for dashboards and percentiles in AWS) |
| `RuntimeWithin{N}ms` | Count | 1 when the call succeeded within N ms, for each N of `LATENCY_BOUNDS_MS` |

In AWS, CloudWatch Logs turns each EMF line of the function's output into these metrics; locally
`cmp_dev.local.emf` does the same into moto's CloudWatch.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Any
from uuid import UUID

from cmp.sla.targets import LATENCY_BOUNDS_MS

NAMESPACE = "CMP/Runtime"
SERVICE = "runtime-gateway"
REQUESTS = "RuntimeRequests"
ERRORS = "RuntimeErrors"
LATENCY = "RuntimeLatency"


def within_metric(bound_ms: int) -> str:
    """The histogram metric counting successful calls answered within `bound_ms`."""
    return f"RuntimeWithin{bound_ms}ms"


def dimensions(tenant_id: UUID, subscription_id: UUID) -> dict[str, str]:
    """The dimensions every runtime metric of a subscription carries (CloudWatch matches them exactly)."""
    return {"service": SERVICE, "tenant": str(tenant_id), "subscription": str(subscription_id)}


def record_call(tenant_id: UUID, subscription_id: UUID, latency_ms: float, error: bool) -> None:
    """Print one call's metrics as an EMF document (Powertools `EphemeralMetrics`: its own dimensions,
    nothing shared with the function's `Metrics`)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    for name, value in dimensions(tenant_id, subscription_id).items():
        if name != "service":
            metrics.add_dimension(name=name, value=value)
    metrics.add_metric(name=REQUESTS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=ERRORS, unit=MetricUnit.Count, value=int(error))
    metrics.add_metric(name=LATENCY, unit=MetricUnit.Milliseconds, value=round(latency_ms, 3))
    for bound in LATENCY_BOUNDS_MS:
        within = int(not error and latency_ms <= bound)
        metrics.add_metric(name=within_metric(bound), unit=MetricUnit.Count, value=within)
    metrics.flush_metrics()


def measured(
    tenant_id: UUID,
    subscription_id: UUID,
    call: Callable[[], dict[str, Any] | None],
    down: type[Exception],
) -> dict[str, Any] | None:
    """`call()`'s proxy response, recording its metrics: an error when it raises `down` (re-raised) or its
    `statusCode` is 5xx. A None answer (the call was not forwarded) records nothing."""
    started = perf_counter()
    try:
        result = call()
    except down:
        record_call(tenant_id, subscription_id, (perf_counter() - started) * 1000, error=True)
        raise
    if result is not None:
        error = int(result.get("statusCode", 500)) >= 500
        record_call(tenant_id, subscription_id, (perf_counter() - started) * 1000, error)
    return result
