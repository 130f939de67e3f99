"""The SLA evaluator (the `sla_evaluator` scheduled function, every 5 minutes).

For each watched dedicated subscription (active or past due): read its runtime metrics from the start of
its billing period, or from `LOOKBACK` (72 h) ago if that is earlier, compute the period's SLO figures
(`cmp.sla.model.evaluate`), store them (`sla_periods`) and announce each burn-rate alert that starts firing
as an event through the outbox (`sla.burn_rate_alert`, source `cmp.sla`), in the same transaction. An
alert is announced once per episode: again only after an evaluation found it no longer firing.

The series' step is one minute while the range is within CloudWatch's retention of one-minute data (15
days), else five minutes (kept 63 days), else one hour. One subscription failing is logged and counted,
never stops the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from cmp.db.outbox import OutboxMessage
from cmp.ports import Clock
from cmp.sla.model import LOOKBACK, FiringAlert, SlaReport, evaluate
from cmp.sla.ports import MetricsSource, SlaUnitOfWorkFactory
from cmp.sla.targets import SlaTargets

log = logging.getLogger(__name__)
ALERT_SOURCE = "cmp.sla"
ALERT_DETAIL_TYPE = "sla.burn_rate_alert"
STEPS: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=15), timedelta(minutes=1)),
    (timedelta(days=63), timedelta(minutes=5)),
)
"""(range up to, step): CloudWatch keeps one-minute data 15 days and five-minute data 63 days."""
LONG_STEP = timedelta(hours=1)


def step_for(start: datetime, now: datetime) -> timedelta:
    """The finest step CloudWatch still keeps for data as old as `start`."""
    return next((step for age, step in STEPS if now - start <= age), LONG_STEP)


def floor_to(moment: datetime, step: timedelta) -> datetime:
    """`moment` rounded down to a multiple of `step` since the epoch (steps are whole minutes/hours)."""
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=moment.tzinfo)


class SlaEvaluator:
    """`metrics` reads the series; `event_bus` names the bus alerts go to; `limit` caps the subscriptions
    evaluated per run."""

    def __init__(
        self,
        uow: SlaUnitOfWorkFactory,
        metrics: MetricsSource,
        clock: Clock,
        event_bus: str,
        limit: int = 10_000,
    ) -> None:
        self._uow = uow
        self._metrics = metrics
        self._clock = clock
        self._event_bus = event_bus
        self._limit = limit

    def run(self) -> dict[str, int]:
        """Evaluate every watched subscription; returns counts: `evaluated`, `alerts` (events sent),
        `errors`."""
        report: Counter[str] = Counter()
        with self._uow() as uow:
            watched = uow.sla.watched(self._limit)
        for tenant_id, subscription_id in watched:
            try:
                report["alerts"] += self.evaluate(tenant_id, subscription_id)
            except Exception:
                log.exception("SLA evaluation failed", extra={"subscription_id": str(subscription_id)})
                report["errors"] += 1
                continue
            report["evaluated"] += 1
        return {key: report[key] for key in ("evaluated", "alerts", "errors")}

    def evaluate(self, tenant_id: UUID, subscription_id: UUID) -> int:
        """Evaluate one subscription now, store its period's figures; returns how many alerts it
        announced."""
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
        targets = SlaTargets.from_plan(subscription.plan)
        period_start, period_end = subscription.current_period_start, subscription.current_period_end
        earliest = min(period_start, now - LOOKBACK)
        step = step_for(earliest, now)
        start = floor_to(earliest, step)
        buckets = self._metrics.series(tenant_id, subscription_id, targets.latency_p95_ms, start, now, step)
        report = evaluate(targets, buckets, period_start, period_end, now, step)
        firing = [alert.alert.name for alert in report.firing]
        with self._uow(tenant_id) as uow:
            previous = uow.sla.latest(subscription_id)
            before = set(previous["firing"]) if previous is not None else set()
            new = [alert for alert in report.firing if alert.alert.name not in before]
            uow.sla.save(tenant_id, subscription_id, report, firing)
            for alert in new:
                detail = alert_detail(tenant_id, subscription_id, alert, report)
                uow.outbox.add(OutboxMessage.event(self._event_bus, ALERT_SOURCE, ALERT_DETAIL_TYPE, detail))
            uow.commit()
        return len(new)


def alert_detail(
    tenant_id: UUID, subscription_id: UUID, alert: FiringAlert, report: SlaReport
) -> dict[str, Any]:
    """The `sla.burn_rate_alert` event's detail: the subscription, the alert (name, severity, windows,
    threshold, measured burn rates), the availability target and the period."""
    return {
        "tenant_id": str(tenant_id),
        "subscription_id": str(subscription_id),
        **alert.to_dict(),
        "availability_target": report.targets.availability,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "evaluated_at": report.evaluated_at.isoformat(),
    }
