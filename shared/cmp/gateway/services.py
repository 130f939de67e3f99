"""`Gateway.admit`: whether a runtime call may run now, in one short transaction.

    with services.gateway.admit(ctx, metric="messages") as admission:
        answer = ...                               # the work
    response.headers.update(admission.headers)     # RateLimit-Policy / RateLimit

One round trip (`cmp.gateway.repository.GatewayStatements.admit_call`, one statement in its own transaction):
a warm container remembers, per subscription and credential, the limits it computed from the plan with
their `fingerprint` (md5 of the plan document, the product's runtime limits and the key's own rate), and
sends them with the call; the statement reads the call state and admits the call in the same transaction
only when the fingerprint is unchanged and every check below passes on that read. Otherwise (the first call
of a container, a plan change, a refusal, a dedicated runtime) it consumes nothing and returns the state,
and the checks run here on it, then `gateway_admit` alone: two round trips. So the cache is never stale:
revocation, expiry, status and plan are read on every call.

The order of checks: the subscription and credential (revoked or expired since the authorizer cached them:
401; subscription not callable: 403), where it runs (a dedicated subscription without a runtime endpoint
yet: 503 `RuntimeUnavailable` with its provisioning state), the plan quota of `metric` (429
`QuotaExceeded`), then in one statement (`gateway_admit`, which holds the limiter's row locks only while it
runs) the rate limits and the concurrency lease (all buckets and the lease or nothing: 429 `RateLimited`).
A refused call consumes nothing. A call that takes a quota to 80 % or 100 % for the first time in a period
also writes the `usage.alert` to the outbox, in a unit of work of its own after admission (once per period:
the claim in `usage_alerts` decides). Releasing the concurrency slot is one statement, sent without
waiting for its answer (`GatewayStatements.release_lease`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any

from cmp.db.outbox import OutboxMessage
from cmp.errors import NotFound
from cmp.gateway.authorization import CALLABLE_STATUSES
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import (
    CredentialExpired,
    CredentialRevoked,
    QuotaExceeded,
    RateLimited,
    RuntimeUnavailable,
    SubscriptionNotCallable,
)
from cmp.gateway.model import (
    CallRequest,
    RatePolicy,
    SubscriptionLimits,
    ratelimit_headers,
    reached_thresholds,
    refusal_headers,
)
from cmp.gateway.ports import RuntimeRouter
from cmp.gateway.repository import GatewayStatements
from cmp.ports import Clock, IdGenerator

ALERT_SOURCE = "cmp.gateway"
ALERT_DETAIL_TYPE = "usage.alert"
CACHED_SUBSCRIPTIONS = 4096
"""Limits a container remembers (per subscription and credential); the oldest is forgotten first."""


@dataclass
class Admission:
    """An admitted call. `headers` are the RateLimit fields to add to the response; leaving the `with` block
    frees the concurrency slot (a call that never leaves it frees it when its lease expires)."""

    headers: dict[str, str]
    release: Callable[[], None] | None = field(default=None, repr=False)
    admitted_at: datetime | None = None
    """The rate limiter's clock (the database's) when the call was admitted; None when no limit applied."""
    endpoint: str | None = None
    """Where to send the call: the dedicated runtime's base URL, or None to run it in-process (shared)."""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the call was admitted, on the gateway's clock: where its `compute_ms` starts (cmp.metering.calls)."""

    def __enter__(self) -> Admission:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Free the concurrency slot now (idempotent)."""
        release, self.release = self.release, None
        if release is not None:
            release()


class Gateway:
    """Admission of runtime calls: `statements` run the two admission statements, `uow` the rare alert
    claim. `product_rate_per_minute`, when set, adds a per-product limit shared by
    every buyer of a product (the pooled runtime's protection against one product's flood)."""

    def __init__(
        self,
        statements: GatewayStatements,
        uow: Callable[..., AbstractContextManager[Any]],
        clock: Clock,
        ids: IdGenerator,
        event_bus: Callable[[], str],
        router: RuntimeRouter,
        product_rate_per_minute: int | None = None,
    ) -> None:
        self._statements = statements
        self._uow = uow
        self._clock = clock
        self._ids = ids
        self._event_bus = event_bus
        self._router = router
        self._product_rate = product_rate_per_minute
        self._limits: dict[tuple[Any, Any], tuple[str, SubscriptionLimits, int | None]] = {}
        self._lock = threading.Lock()

    def admit(self, ctx: RuntimeContext, metric: str = "api_calls", cost: int = 1) -> Admission:
        """Admit one call of `cost` units of `metric` (a quota name of `cmp.gateway.model.QUOTAS`, or any
        other metric, which no quota caps). Raises Unauthorized, Forbidden, NotFound, RateLimited or
        QuotaExceeded as described in the module docstring."""
        key = (ctx.subscription_id, ctx.key_id)
        cached = self._limits.get(key)
        call = CallRequest(ctx.subscription_id, ctx.key_id, metric, cost, self._clock.now())
        policies: list[RatePolicy] = []
        lease: tuple[Any, Any, int, int] | None = None
        if cached is not None:
            fingerprint, limits, key_rate = cached
            policies, lease = self._policies(ctx, limits, key_rate), self._lease(ctx, limits)
            call = replace(call, fingerprint=fingerprint, quota_limit=limits.quotas.get(metric))
        answer = self._statements.admit_call(ctx.tenant_id, call, policies, lease)
        if answer is None:
            raise NotFound("subscription not found")
        state, admitted = answer
        endpoint = None
        if admitted is None or cached is None:
            self._check_credential(ctx, state)
            endpoint = self._endpoint(ctx, state)
            limits = SubscriptionLimits.of(state["plan"] or {}, state["runtime_limits"])
        alerts: list[int] = []
        if metric in limits.quotas:
            alerts = self._check_quota(state, metric, cost, limits.quotas[metric])
        if admitted is None:
            self._remember(key, state["fingerprint"], limits, state["key_rate_limit"])
            policies, lease = self._policies(ctx, limits, state["key_rate_limit"]), self._lease(ctx, limits)
            admitted = (
                self._statements.admit(ctx.tenant_id, policies, cost, lease) if policies or lease else ([], 0)
            )
        outcomes, held = admitted
        checked_at = outcomes[0].checked_at if outcomes else None
        if not all(o.allowed for o in outcomes):
            refused = ", ".join(o.policy.name for o in outcomes if not o.allowed)
            raise RateLimited(
                f"rate limit reached ({refused}); retry later",
                refusal_headers(outcomes),
                checked_at=checked_at,
            )
        if held is None:
            raise RateLimited(
                f"the plan allows {limits.concurrency} concurrent calls; retry when one ends",
                {"Retry-After": "1", **ratelimit_headers(outcomes)},
                checked_at=checked_at,
            )
        if alerts:
            self._send_alerts(ctx, state, metric, int(state["used"]) + cost, limits.quotas[metric], alerts)
        release = None if lease is None else partial(self._statements.release_lease, ctx.tenant_id, lease[0])
        return Admission(ratelimit_headers(outcomes), release, checked_at, endpoint, call.now)

    # ------------------------------------------------------------------------------------------ internals
    def _remember(
        self, key: tuple[Any, Any], fingerprint: str, limits: SubscriptionLimits, key_rate: int | None
    ) -> None:
        """Cache the limits computed from a state whose sources have `fingerprint` (bounded: the oldest
        entry goes first past CACHED_SUBSCRIPTIONS)."""
        with self._lock:
            self._limits.pop(key, None)
            if len(self._limits) >= CACHED_SUBSCRIPTIONS:
                self._limits.pop(next(iter(self._limits)))
            self._limits[key] = (fingerprint, limits, key_rate)

    def _lease(self, ctx: RuntimeContext, limits: SubscriptionLimits) -> tuple[Any, Any, int, int] | None:
        """A new concurrency lease (id, subscription, cap, ttl seconds) when the plan caps concurrency."""
        if limits.concurrency is None:
            return None
        return (self._ids.new_id(), ctx.subscription_id, limits.concurrency, limits.lease_seconds)

    def _check_credential(self, ctx: RuntimeContext, state: dict[str, Any]) -> None:
        """The authorizer's refusals again, from this transaction's read (revoked or expired since cached)."""
        if state["revoked_at"] is not None:
            raise CredentialRevoked(ctx.principal, state["revoked_at"], ctx.credential_header)
        if state["expires_at"] is not None and state["expires_at"] <= self._clock.now():
            raise CredentialExpired(state["expires_at"], ctx.credential_header)
        if state["status"] not in CALLABLE_STATUSES:
            raise SubscriptionNotCallable(state["status"])

    def _endpoint(self, ctx: RuntimeContext, state: dict[str, Any]) -> str | None:
        """None for a shared-plan subscription (run in-process); the dedicated runtime's URL otherwise, or
        RuntimeUnavailable (503) naming the provisioning state while it has none."""
        if state["runtime_type"] != "dedicated":
            return None
        provisioning = state["provisioning"] or {}
        endpoint = self._router.endpoint(ctx.tenant_id, ctx.subscription_id, provisioning)
        if endpoint is None:
            raise RuntimeUnavailable(str(provisioning.get("state") or "pending"))
        return endpoint

    def _policies(
        self, ctx: RuntimeContext, limits: SubscriptionLimits, key_rate: int | None
    ) -> list[RatePolicy]:
        policies = []
        own = key_rate or limits.rate_per_minute
        if own is not None:
            credential = ctx.credential if ctx.key_id else f"{ctx.credential}:{ctx.subscription_id}"
            policies.append(RatePolicy.of("key", credential, own))
        if limits.rate_per_minute is not None:
            policies.append(
                RatePolicy.of("subscription", f"sub:{ctx.subscription_id}", limits.rate_per_minute)
            )
        if self._product_rate is not None:
            policies.append(RatePolicy.of("product", f"product:{ctx.product_id}", self._product_rate))
        return policies

    def _check_quota(self, state: dict[str, Any], quota: str, cost: int, limit: int) -> list[int]:
        """Raise QuotaExceeded when `cost` more units pass `limit`; else the alert thresholds this call
        reaches that were not sent yet this period."""
        used, period_end = int(state["used"]), state["current_period_end"]
        if used + cost > limit:
            wait = math.ceil((period_end - self._clock.now()).total_seconds())
            raise QuotaExceeded(quota, used, limit, period_end.isoformat(), max(1, wait))
        return [t for t in reached_thresholds(used + cost, limit) if t not in (state["alerted"] or [])]

    def _send_alerts(
        self,
        ctx: RuntimeContext,
        state: dict[str, Any],
        quota: str,
        used: int,
        limit: int,
        thresholds: list[int],
    ) -> None:
        """Claim each threshold's alert for the period and send the ones this call claimed (outbox)."""
        period_start, period_end = state["current_period_start"], state["current_period_end"]
        with self._uow(ctx.tenant_id) as uow:
            for threshold in thresholds:
                if uow.gateway.claim_alert(
                    ctx.tenant_id, ctx.subscription_id, quota, period_start, threshold, used, limit
                ):
                    detail = {
                        "tenant_id": str(ctx.tenant_id),
                        "subscription_id": str(ctx.subscription_id),
                        "quota": quota,
                        "threshold": threshold,
                        "used": used,
                        "limit": limit,
                        "period_start": period_start.isoformat(),
                        "resets_at": period_end.isoformat(),
                    }
                    uow.outbox.add(
                        OutboxMessage.event(self._event_bus(), ALERT_SOURCE, ALERT_DETAIL_TYPE, detail)
                    )
            uow.commit()
