"""The usage roll-up job (the `usage_rollup` scheduled function, every 15 minutes).

Each open period with records past its watermark is rolled up, and each period whose end plus the grace
for late events has passed is closed (its roll-up is then final; a later event for it becomes an
adjustment on the next period). Each period is handled in its tenant's own unit of work, which adds the
records past the watermark and moves the watermark in one transaction: a run that crashes adds nothing,
and running again (or two runs at once) never counts a record twice. One period failing is logged and
counted, never stops the others.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from cmp.metering.model import CLOSE_GRACE, DuePeriod
from cmp.metering.ports import MeteringUnitOfWorkFactory
from cmp.ports import Clock

log = logging.getLogger(__name__)


class UsageRollupJob:
    """`grace`: how long a period stays open after its end; `batch`: periods taken per scan; `max_scans`:
    scans per run (a backlog larger than `batch * max_scans` waits for the next run)."""

    def __init__(
        self,
        uow: MeteringUnitOfWorkFactory,
        clock: Clock,
        grace: timedelta = CLOSE_GRACE,
        batch: int = 500,
        max_scans: int = 20,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._grace = grace
        self._batch = batch
        self._max_scans = max_scans

    def run(self) -> dict[str, int]:
        """Roll up and close what is due; returns counts: `periods` (rolled up), `records` (added to
        roll-ups), `closed` (periods closed), `errors`."""
        report: Counter[str] = Counter()
        for _ in range(self._max_scans):
            now = self._clock.now()
            with self._uow() as uow:
                due = uow.usage_rollups.due(now, self._grace, self._batch)
            for period in due:
                self._guarded(period, report)
            if len(due) < self._batch:
                break
        return {key: report[key] for key in ("periods", "records", "closed", "errors")}

    def _guarded(self, period: DuePeriod, report: Counter[str]) -> None:
        try:
            closing = period.end + self._grace <= self._clock.now()
            with self._uow(period.tenant_id) as uow:
                added = uow.usage_rollups.roll_up(
                    period.subscription_id, period.start, self._clock.now() if closing else None
                )
                uow.commit()
        except Exception:
            log.exception(
                "usage roll-up failed",
                extra={
                    "subscription_id": str(period.subscription_id),
                    "period_start": period.start.isoformat(),
                },
            )
            report["errors"] += 1
            return
        report["periods"] += 1
        report["records"] += added
        report["closed"] += int(closing)
