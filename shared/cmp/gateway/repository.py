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

    def admit(
        self,
        policies: list[RatePolicy],
        cost: int,
        lease: tuple[UUID, UUID, UUID, int, int] | None,
    ) -> tuple[list[RateOutcome], int | None]:
        """One `gateway_admit` call: take `cost` from every policy's bucket (in bucket order) or from none,
        and when `lease` = (lease id, tenant id, subscription id, cap, ttl seconds) is given, a concurrency
        lease too. Returns each policy's outcome and the leases held with the new one (0 without a cap,
        None when the cap refused; then no bucket was charged either)."""
        ordered = sorted(policies, key=lambda p: p.bucket)
        lease_id, tenant_id, subscription_id, cap, ttl = lease or (None, None, None, None, None)
        rows = self._session.fetch_all(
            "select bucket, allowed, tat, checked_at, leases_held"
            " from gateway_admit(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                [p.bucket for p in ordered],
                [p.interval_ms for p in ordered],
                [p.tolerance_ms for p in ordered],
                cost,
                lease_id,
                tenant_id,
                subscription_id,
                cap,
                ttl,
            ),
        )
        by_bucket = {row["bucket"]: row for row in rows}
        outcomes = [
            RateOutcome(p, row["allowed"], row["tat"], row["checked_at"])
            for p in policies
            for row in [by_bucket[p.bucket]]
        ]
        return outcomes, rows[0]["leases_held"]

    def release_lease(self, lease_id: UUID) -> None:
        """Free a lease (releasing twice, or after it expired, is harmless)."""
        self._session.execute("select gateway_lease_release(%s)", (lease_id,))

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
