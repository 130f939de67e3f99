"""A dedicated plan's service level targets (`plan.sla` in the capability document's plans) and the
latency histogram's bounds. Pure values, imported by the plan schema (`cmp.capabilities.plans`) and by the
SLA computation; no I/O.

Latency is measured as a histogram of fixed bounds (like a Prometheus histogram's `le` buckets): each call
counts, for every bound, whether it was answered within it. A plan's latency target must be one of the
bounds, which makes "p95 <= N ms" an exact ratio ("at least 95 % of the successful calls within N ms")
instead of an estimate from percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LATENCY_BOUNDS_MS: tuple[int, ...] = (100, 250, 500, 1000, 2000, 5000, 10000, 30000)
"""The histogram's bounds in milliseconds; a plan's `sla.latencyP95Ms` is one of them."""
LATENCY_PERCENTILE = 95.0
"""The latency SLO's percentile: at least this share (%) of the successful calls within the target."""
DEFAULT_AVAILABILITY = 99.9
"""Availability target (%) of a dedicated plan that names none."""
DEFAULT_LATENCY_P95_MS = 2000
"""Latency target (ms, p95) of a dedicated plan that names none: a chat turn with retrieval and a hosted
model answers within 2 s at p95 on the dedicated runtime."""


@dataclass(frozen=True)
class SlaTargets:
    """`availability`: the share of calls (%) that must not fail (no 5xx, no `runtime_down`);
    `latency_p95_ms`: the bound at least `LATENCY_PERCENTILE` % of the successful calls are answered within
    (one of `LATENCY_BOUNDS_MS`)."""

    availability: float = DEFAULT_AVAILABILITY
    latency_p95_ms: int = DEFAULT_LATENCY_P95_MS

    @property
    def allowed_error_rate(self) -> float:
        """The error budget as a fraction of calls (99.9 % -> 0.001)."""
        return round(1 - self.availability / 100, 12)

    @classmethod
    def from_plan(cls, plan: dict[str, Any]) -> SlaTargets:
        """The targets of a stored plan document (camelCase); the defaults for a plan without `sla` (plans
        bought before SLAs existed) or for the fields it leaves out."""
        sla = plan.get("sla") or {}
        return cls(
            float(sla.get("availability", DEFAULT_AVAILABILITY)),
            int(sla.get("latencyP95Ms", DEFAULT_LATENCY_P95_MS)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "availability": self.availability,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_percentile": LATENCY_PERCENTILE,
        }
