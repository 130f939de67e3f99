"""The metering SQL: usage records, billing periods and roll-ups of the unit of work's tenant, under
row-level security (migration 0017), and the roll-up job's cross-tenant scan."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.errors import Conflict, NotFound
from cmp.metering.model import BillingPeriod, DuePeriod, UsageEvent, place

_PLACEMENT_ATTEMPTS = 3
"""How often `record` places an event again when its period closed between reading and locking it."""


class UsageRepository:
    """`usage_records` and `usage_periods` (`uow.usage`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def record(self, event: UsageEvent) -> bool:
        """Record `event` in the caller's transaction: True when new, False when its idempotency key was
        already recorded for this tenant (whatever it carried then). The key is claimed by the insert of
        the record itself, so a rollback releases it and a retry records the event once.

        The event counts in the period of its own timestamp, or as an adjustment on the next open period
        when that one is closed (`cmp.metering.model.place`). The target period's row is held FOR KEY
        SHARE until the transaction ends, so the roll-up (FOR UPDATE) never closes a period under a record
        it has not seen. Raises `NotFound` for a subscription the tenant does not hold."""
        current = self._session.fetch_one(
            "select current_period_start, current_period_end from subscriptions where id = %s",
            (event.subscription_id,),
        )
        if current is None:
            raise NotFound("subscription not found")
        self._ensure_period(
            event.subscription_id, current["current_period_start"], current["current_period_end"]
        )
        for _ in range(_PLACEMENT_ATTEMPTS):
            placement = place(self.periods(event.subscription_id), event.occurred_at)
            if self._hold_open(event.subscription_id, placement.period):
                break
        else:
            raise Conflict("the usage period kept closing while the event was recorded; retry")
        row = self._session.fetch_one(
            "insert into usage_records (tenant_id, subscription_id, api_key_id, metric, quantity, metadata,"
            " dedup_key, occurred_at, period_start, adjustment)"
            " values (app_current_tenant(), %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (tenant_id, dedup_key) do nothing returning id",
            (
                event.subscription_id,
                event.api_key_id,
                event.metric,
                event.quantity,
                Jsonb(event.metadata) if event.metadata is not None else None,
                event.idempotency_key,
                event.occurred_at,
                placement.period.start,
                placement.adjustment,
            ),
        )
        return row is not None

    def periods(self, subscription_id: uuid.UUID) -> list[BillingPeriod]:
        """The periods metering knows for the subscription, oldest first."""
        rows = self._session.fetch_all(
            "select period_start, period_end, closed_at from usage_periods where subscription_id = %s"
            " order by period_start",
            (subscription_id,),
        )
        return [BillingPeriod(r["period_start"], r["period_end"], r["closed_at"] is not None) for r in rows]

    def _ensure_period(self, subscription_id: uuid.UUID, start: datetime, end: datetime) -> None:
        self._session.execute(
            "insert into usage_periods (tenant_id, subscription_id, period_start, period_end)"
            " values (app_current_tenant(), %s, %s, %s) on conflict do nothing",
            (subscription_id, start, end),
        )

    def _hold_open(self, subscription_id: uuid.UUID, period: BillingPeriod) -> bool:
        """Lock the target period FOR KEY SHARE, adding it first when metering has not stored it (the
        period after the last); False when it is closed (a roll-up closed it meanwhile)."""
        held = self._lock(subscription_id, period.start)
        if held is None:
            self._ensure_period(subscription_id, period.start, period.end)
            held = self._lock(subscription_id, period.start)
        return held is not None and held["closed_at"] is None

    def _lock(self, subscription_id: uuid.UUID, period_start: datetime) -> dict[str, object] | None:
        return self._session.fetch_one(
            "select closed_at from usage_periods where subscription_id = %s and period_start = %s"
            " for key share",
            (subscription_id, period_start),
        )


class UsageRollupRepository:
    """`usage_rollups` of the unit of work's tenant (`uow.usage_rollups`), and the job's scan (no tenant)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def due(self, now: datetime, grace: timedelta, limit: int) -> list[DuePeriod]:
        """Open periods with records past their roll-up, or whose end plus `grace` has passed, across
        tenants, earliest end first, at most `limit`."""
        rows = self._session.fetch_all("select * from usage_rollup_due(%s, %s, %s)", (now, grace, limit))
        return [
            DuePeriod(r["tenant_id"], r["subscription_id"], r["period_start"], r["period_end"]) for r in rows
        ]

    def roll_up(self, subscription_id: uuid.UUID, period_start: datetime, closed_at: datetime | None) -> int:
        """Add the period's records past the watermark to its roll-up and move the watermark, in this
        transaction; with `closed_at`, also close the period (its roll-up is then final). Returns how many
        records were added (0 for a period already closed or unknown). The period's row is locked FOR
        UPDATE first: every recording transaction holding it has ended, so every record at or below the new
        watermark is committed and counted, once."""
        period = self._session.fetch_one(
            "select rolled_up_id, closed_at from usage_periods"
            " where subscription_id = %s and period_start = %s for update",
            (subscription_id, period_start),
        )
        if period is None or period["closed_at"] is not None:
            return 0
        watermark = period["rolled_up_id"]
        added = self._session.fetch_one(
            "select count(*) as n, coalesce(max(id), %s) as top from usage_records"
            " where subscription_id = %s and period_start = %s and id > %s",
            (watermark, subscription_id, period_start, watermark),
        ) or {"n": 0, "top": watermark}
        if added["n"]:
            self._session.execute(
                "insert into usage_rollups as r"
                " (tenant_id, subscription_id, period_start, metric, day, adjustment, quantity, events)"
                " select tenant_id, subscription_id, period_start, metric, day, adjustment,"
                " sum(quantity), count(*) from usage_record_days"
                " where subscription_id = %s and period_start = %s and id > %s and id <= %s"
                " group by tenant_id, subscription_id, period_start, metric, day, adjustment"
                " on conflict (subscription_id, period_start, metric, day, adjustment) do update"
                " set quantity = r.quantity + excluded.quantity, events = r.events + excluded.events",
                (subscription_id, period_start, watermark, added["top"]),
            )
        self._session.execute(
            "update usage_periods set rolled_up_id = %s, rolled_up_at = now(), closed_at = %s"
            " where subscription_id = %s and period_start = %s",
            (added["top"], closed_at, subscription_id, period_start),
        )
        return int(added["n"])
