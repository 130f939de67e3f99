"""The SLO computation of one dedicated subscription over its current billing period, from per-step
(normally per-minute) counts of its runtime calls. Pure: no I/O, every figure reproducible from the series.

Definitions (docs/sla.md):

- a call is *bad* when it failed on the platform's side (a 5xx answer or `runtime_down`); availability
  attainment = good / total calls of the period;
- the error budget is `(1 - availability target) x calls` (in calls); what is left is the budget minus the
  bad calls, also given as a share of the budget (negative once it is overspent);
- latency attainment = successful calls answered within the plan's bound / successful calls; the latency
  SLO holds while it is at least `LATENCY_PERCENTILE` %;
- an incident is a run of consecutive steps in each of which the SLO was breached (that step's error rate
  above the budget's, or its latency attainment below the percentile), with its start, end and duration;
- burn rate over a window = the window's error rate / the budget's error rate (1 spends exactly the budget
  over the period). Multi-window, multi-burn-rate alerts after the Google SRE Workbook, chapter 5
  "Alerting on SLOs" (https://sre.google/workbook/alerting-on-slos/), "Multiwindow, multiburn-rate alerts":
  page at 14.4 over 1 h and 5 min (2 % of a 30-day budget in an hour) and at 6 over 6 h and 30 min (5 % in
  6 h); ticket at 3 over 24 h and 2 h (10 % in a day) and at 1 over 72 h and 6 h (10 % in 3 days). An alert
  fires while both its long and its short window burn at least at its rate; the short window makes it stop
  soon after the errors stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from cmp.sla.targets import LATENCY_PERCENTILE, SlaTargets

Severity = Literal["page", "ticket"]
IncidentKind = Literal["availability", "latency"]


@dataclass(frozen=True)
class Bucket:
    """One step of the series starting at `start`: `requests` calls, `errors` of them bad, `fast` of the
    successful ones answered within the plan's latency bound."""

    start: datetime
    requests: int
    errors: int = 0
    fast: int = 0

    @property
    def successful(self) -> int:
        return self.requests - self.errors


@dataclass(frozen=True)
class BurnRateAlert:
    """One multi-window alert: fires while the error rate over both windows is at least `burn_rate` times
    the budget's."""

    name: str
    long_window: timedelta
    short_window: timedelta
    burn_rate: float
    severity: Severity


BURN_RATE_ALERTS: tuple[BurnRateAlert, ...] = (
    BurnRateAlert("1h/5m", timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
    BurnRateAlert("6h/30m", timedelta(hours=6), timedelta(minutes=30), 6.0, "page"),
    BurnRateAlert("24h/2h", timedelta(hours=24), timedelta(hours=2), 3.0, "ticket"),
    BurnRateAlert("72h/6h", timedelta(hours=72), timedelta(hours=6), 1.0, "ticket"),
)
"""Google SRE Workbook ch. 5, "Alerting on SLOs" (see the module doc)."""
LOOKBACK = max(alert.long_window for alert in BURN_RATE_ALERTS)
"""How far back the alerts look (72 h), whatever the billing period."""


@dataclass(frozen=True)
class Incident:
    """Consecutive breached steps of one SLO: `[start, end)`, the calls in it and the bad ones (errors for
    availability, slow successful calls for latency). `ongoing` when it reaches the last step evaluated."""

    kind: IncidentKind
    start: datetime
    end: datetime
    requests: int
    bad: int
    ongoing: bool = False

    @property
    def duration_seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "duration_seconds": self.duration_seconds,
            "requests": self.requests,
            "bad": self.bad,
            "ongoing": self.ongoing,
        }


@dataclass(frozen=True)
class FiringAlert:
    """A burn-rate alert that fires: the measured burn rates of its two windows."""

    alert: BurnRateAlert
    long_burn: float
    short_burn: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.alert.name,
            "severity": self.alert.severity,
            "long_window_seconds": int(self.alert.long_window.total_seconds()),
            "short_window_seconds": int(self.alert.short_window.total_seconds()),
            "threshold": self.alert.burn_rate,
            "long_burn_rate": round(self.long_burn, 3),
            "short_burn_rate": round(self.short_burn, 3),
        }


@dataclass(frozen=True)
class SlaReport:
    """The period's SLO figures at `evaluated_at` (percentages 0-100; None while there were no calls)."""

    targets: SlaTargets
    period_start: datetime
    period_end: datetime
    evaluated_at: datetime
    requests: int
    errors: int
    successful: int
    fast: int
    incidents: list[Incident] = field(default_factory=list)
    firing: list[FiringAlert] = field(default_factory=list)

    @property
    def attainment(self) -> float | None:
        return None if self.requests == 0 else 100 * (self.requests - self.errors) / self.requests

    @property
    def budget_requests(self) -> float:
        """Bad calls the period's calls so far may have (the error budget, in calls)."""
        return self.targets.allowed_error_rate * self.requests

    @property
    def budget_left_requests(self) -> float:
        return self.budget_requests - self.errors

    @property
    def budget_left_percent(self) -> float:
        """What is left of the budget, as % of it: 100 with no bad call, negative once overspent (with no
        budget yet, 100 without errors, else -100 per bad call)."""
        budget = self.budget_requests
        if budget == 0:
            return 100.0 - 100.0 * self.errors
        return 100 * self.budget_left_requests / budget

    @property
    def latency_attainment(self) -> float | None:
        return None if self.successful == 0 else 100 * self.fast / self.successful

    def to_dict(self) -> dict[str, Any]:
        """The stored and served form (ISO timestamps, figures rounded to 4 decimals)."""

        def r(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        attainment, latency = self.attainment, self.latency_attainment
        return {
            "targets": self.targets.to_dict(),
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "evaluated_at": self.evaluated_at.isoformat(),
            "requests": self.requests,
            "errors": self.errors,
            "availability": {
                "attainment": r(attainment),
                "met": attainment is None or attainment >= self.targets.availability,
            },
            "error_budget": {
                "total_requests": r(self.budget_requests),
                "left_requests": r(self.budget_left_requests),
                "left_percent": r(self.budget_left_percent),
            },
            "latency": {
                "successful": self.successful,
                "within_target": self.fast,
                "attainment": r(latency),
                "met": latency is None or latency >= LATENCY_PERCENTILE,
            },
            "incidents": [incident.to_dict() for incident in self.incidents],
            "alerts": [alert.to_dict() for alert in self.firing],
        }


def evaluate(
    targets: SlaTargets,
    buckets: Iterable[Bucket],
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    step: timedelta,
) -> SlaReport:
    """The period `[period_start, period_end)`'s figures at `now` from `buckets` (steps of length `step`,
    any order, steps without calls may be missing). A bucket belongs to the period its end falls in
    (`period_start < start + step <= period_end`): a period starts at the second of purchase or renewal, so
    the step holding that second (its calls mostly after it) counts in the new period, and each bucket counts
    in exactly one period. Buckets outside the period count only towards the burn-rate windows (which look
    back `LOOKBACK` from `now`, across period boundaries); buckets starting at or after `now` are ignored."""
    series = sorted((b for b in buckets if b.start < now), key=lambda b: b.start)
    period = [b for b in series if period_start < b.start + step <= period_end]
    return SlaReport(
        targets=targets,
        period_start=period_start,
        period_end=period_end,
        evaluated_at=now,
        requests=sum(b.requests for b in period),
        errors=sum(b.errors for b in period),
        successful=sum(b.successful for b in period),
        fast=sum(b.fast for b in period),
        incidents=incidents(targets, period, step, now),
        firing=firing_alerts(targets, [b for b in series if b.start >= now - LOOKBACK], now),
    )


def incidents(
    targets: SlaTargets, period: Sequence[Bucket], step: timedelta, now: datetime
) -> list[Incident]:
    """The runs of consecutive breached steps of each SLO in `period` (sorted), oldest first."""
    found: list[Incident] = []
    allowed = targets.allowed_error_rate
    for kind in ("availability", "latency"):
        run: list[Bucket] = []
        for bucket in [*period, None]:
            breached = bucket is not None and _breached(kind, allowed, bucket)
            if breached and run and bucket is not None and bucket.start != run[-1].start + step:
                found.append(_incident(kind, run, step, now))
                run = []
            if breached and bucket is not None:
                run.append(bucket)
            elif run:
                found.append(_incident(kind, run, step, now))
                run = []
    return sorted(found, key=lambda i: (i.start, i.kind))


def _breached(kind: str, allowed_error_rate: float, bucket: Bucket) -> bool:
    if kind == "availability":
        return bucket.errors > allowed_error_rate * bucket.requests
    successful = bucket.requests - bucket.errors
    return 100 * bucket.fast < LATENCY_PERCENTILE * successful


def _incident(kind: str, run: list[Bucket], step: timedelta, now: datetime) -> Incident:
    end = run[-1].start + step
    bad = sum(b.errors if kind == "availability" else b.successful - b.fast for b in run)
    return Incident(
        kind,  # type: ignore[arg-type]
        run[0].start,
        end,
        sum(b.requests for b in run),
        bad,
        ongoing=end >= now,
    )


def burn_rate(targets: SlaTargets, series: Sequence[Bucket], window: timedelta, now: datetime) -> float:
    """The error rate of the steps starting in `[now - window, now)` over the budget's error rate (0 without
    calls)."""
    inside = [b for b in series if now - window <= b.start < now]
    requests = sum(b.requests for b in inside)
    allowed = targets.allowed_error_rate
    if requests == 0 or allowed <= 0:
        return 0.0
    return sum(b.errors for b in inside) / requests / allowed


def firing_alerts(targets: SlaTargets, series: Sequence[Bucket], now: datetime) -> list[FiringAlert]:
    """The alerts of `BURN_RATE_ALERTS` whose long and short windows both burn at least at their rate."""
    firing = []
    for alert in BURN_RATE_ALERTS:
        long_burn = burn_rate(targets, series, alert.long_window, now)
        short_burn = burn_rate(targets, series, alert.short_window, now)
        if long_burn >= alert.burn_rate and short_burn >= alert.burn_rate:
            firing.append(FiringAlert(alert, long_burn, short_burn))
    return firing
