"""The gateway's SQL (`uow.gateway`): the subscription and credential state a call is admitted against, the
GCRA check, concurrency leases, period usage sums and the once-per-period alert claims. Migration 0016."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from cmp.db.session import Session
from cmp.gateway.model import RateOutcome, RatePolicy


class GatewayRepository:
    """Tenant-scoped (row-level security) except the rate buckets, reached through `gateway_rate_check`."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def call_state(self, subscription_id: UUID, credential_id: UUID | None) -> dict[str, Any] | None:
        """The subscription's status, plan, `runtime.limits`, runtime type, provisioning and period, and the
        credential's own rate limit, revocation and expiry (None columns for a portal call); None when the
        subscription is not the current tenant's."""
        return self._session.fetch_one(
            """
            select s.status, s.plan, s.capabilities #> '{runtime,limits}' as runtime_limits, s.runtime_type,
                   s.provisioning, s.current_period_start, s.current_period_end,
                   k.rate_limit_per_minute as key_rate_limit, coalesce(k.revoked_at, w.revoked_at) as revoked_at,
                   k.expires_at
            from subscriptions s
            left join api_keys k on k.id = %(credential)s and k.subscription_id = s.id
            left join widget_tokens w on w.id = %(credential)s and w.subscription_id = s.id
            where s.id = %(subscription)s
            """,
            {"subscription": subscription_id, "credential": credential_id},
        )

    def check_rates(self, policies: list[RatePolicy], cost: int) -> list[RateOutcome]:
        """Take `cost` from every policy's bucket or from none (`gateway_rate_check`), in bucket order.

        The transaction commits without waiting for its WAL flush (`synchronous_commit = off`): a crash may
        forget the last few milliseconds of limiter state, never admit a call twice."""
        ordered = sorted(policies, key=lambda p: p.bucket)
        self._session.execute("set local synchronous_commit = off")
        rows = self._session.fetch_all(
            "select bucket, allowed, tat, checked_at from gateway_rate_check(%s, %s, %s, %s)",
            (
                [p.bucket for p in ordered],
                [p.interval_ms for p in ordered],
                [p.tolerance_ms for p in ordered],
                cost,
            ),
        )
        by_bucket = {row["bucket"]: row for row in rows}
        return [
            RateOutcome(
                p,
                by_bucket[p.bucket]["allowed"],
                by_bucket[p.bucket]["tat"],
                by_bucket[p.bucket]["checked_at"],
            )
            for p in policies
        ]

    def acquire_lease(
        self, lease_id: UUID, tenant_id: UUID, subscription_id: UUID, cap: int, ttl_seconds: int
    ) -> int | None:
        """Take a concurrency lease (`gateway_lease_acquire`): the number held with it, or None at the cap."""
        row = self._session.fetch_one(
            "select gateway_lease_acquire(%s, %s, %s, %s, %s) as held",
            (lease_id, tenant_id, subscription_id, cap, ttl_seconds),
        )
        return None if row is None else row["held"]

    def release_lease(self, lease_id: UUID) -> None:
        """Free a lease (releasing twice, or after it expired, is harmless)."""
        self._session.execute("delete from gateway_leases where id = %s", (lease_id,))

    def leases_held(self, subscription_id: UUID) -> int:
        """Unexpired leases of the subscription now."""
        row = self._session.fetch_one(
            "select count(*) as held from gateway_leases where subscription_id = %s and expires_at > now()",
            (subscription_id,),
        )
        return int(row["held"]) if row else 0

    def period_usage(self, subscription_id: UUID, metrics: tuple[str, ...], since: datetime) -> int:
        """The sum of `usage_records.quantity` of `metrics` recorded since `since` (the period's start)."""
        row = self._session.fetch_one(
            "select coalesce(sum(quantity), 0) as used from usage_records"
            " where subscription_id = %s and metric = any(%s) and recorded_at >= %s",
            (subscription_id, list(metrics), since),
        )
        return int(row["used"]) if row else 0

    def claim_alert(
        self,
        tenant_id: UUID,
        subscription_id: UUID,
        quota: str,
        period_start: datetime,
        threshold: int,
        used: int,
        limit: int,
    ) -> bool:
        """Record that the `threshold` % alert of `quota` was sent this period; False when it already was."""
        return (
            self._session.execute(
                "insert into usage_alerts (tenant_id, subscription_id, metric, period_start, threshold, used, quota)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
                (tenant_id, subscription_id, quota, period_start, threshold, used, limit),
            )
            == 1
        )
