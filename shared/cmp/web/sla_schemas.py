"""Response model of `GET /v1/subscriptions/{id}/sla`: a dedicated subscription's SLOs in its current
billing period (`cmp.sla.model.SlaReport.to_dict`). Percentages are 0-100."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cmp.web.schemas import ApiModel, Timestamp


class SlaTargetsOut(ApiModel):
    availability: float = Field(description="Share of calls (%) that must not fail (no 5xx, no runtime_down)")
    latency_p95_ms: int = Field(description="Bound (ms) the latency percentile of successful calls must meet")
    latency_percentile: float = Field(description="The latency SLO's percentile (95)")


class SlaPeriod(ApiModel):
    start: Timestamp
    end: Timestamp


class Availability(ApiModel):
    attainment: float | None = Field(description="Good calls / calls (%); null before the first call")
    met: bool


class ErrorBudget(ApiModel):
    total_requests: float = Field(description="Failed calls the period's calls so far may have")
    left_requests: float = Field(description="The budget minus the failed calls (negative: overspent)")
    left_percent: float = Field(description="What is left, as % of the budget")


class Latency(ApiModel):
    successful: int = Field(description="Calls that did not fail")
    within_target: int = Field(description="Successful calls answered within latency_p95_ms")
    attainment: float | None = Field(description="within_target / successful (%); null before the first call")
    met: bool = Field(description="attainment >= latency_percentile")


class SlaIncident(ApiModel):
    kind: Literal["availability", "latency"]
    start: Timestamp
    end: Timestamp
    duration_seconds: int
    requests: int
    bad: int = Field(description="Failed calls (availability) or slow successful calls (latency)")
    ongoing: bool = Field(description="It reaches the last minute evaluated")


class SlaAlert(ApiModel):
    name: str = Field(description="Long/short window, e.g. 1h/5m")
    severity: Literal["page", "ticket"]
    long_window_seconds: int
    short_window_seconds: int
    threshold: float = Field(description="Burn rate both windows reach or pass")
    long_burn_rate: float
    short_burn_rate: float


class SubscriptionSla(ApiModel):
    """The current billing period's SLOs as the evaluator (every 5 minutes) last computed them."""

    subscription_id: str
    targets: SlaTargetsOut
    period: SlaPeriod
    evaluated_at: Timestamp | None = Field(description="null before the period's first evaluation")
    requests: int = Field(description="Calls of the period forwarded to the dedicated runtime")
    errors: int = Field(description="Of which failed on the platform's side")
    availability: Availability
    error_budget: ErrorBudget
    latency: Latency
    incidents: list[SlaIncident] = Field(
        description="Minutes in a row where an SLO was breached, oldest first"
    )
    alerts: list[SlaAlert] = Field(description="Burn-rate alerts firing at the last evaluation")
