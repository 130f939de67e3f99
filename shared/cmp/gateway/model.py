"""The gateway's rules, without I/O: which limits a call is held to, GCRA's parameters and outcome, the
RateLimit header fields, quota arithmetic.

Rate limits use GCRA (the generic cell rate algorithm; the same as Brandur Leach's `throttled` and
redis-cell): a bucket stores one "theoretical arrival time" (TAT). A limit of `per_minute` requests has an
emission interval T = 60 s / per_minute; a burst of B lets B requests through at once after an idle
period (tolerance tau = B x T). A request of cost c is admitted when max(TAT, now) + c*T - now <= tau, and
then TAT becomes max(TAT, now) + c*T; a refused request changes nothing. Over any window of W seconds at
most B + W/T requests are admitted. The check itself runs in PostgreSQL (`gateway_rate_check`, migration
0016); this module turns its answer into headers and waits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

BURST_SECONDS = 10
"""The default burst is this many seconds' worth of the rate (at least 1): 10 for 60 rpm, 50 for 300 rpm."""
WINDOW_SECONDS = 60
LEASE_MARGIN_SECONDS = 30
"""A concurrency lease outlives the product's timeout by this much, then frees itself."""
DEFAULT_TIMEOUT_SECONDS = 60

QUOTAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "messages": ("messages", ("messages",)),
    "tokens": ("tokens", ("tokens_in", "tokens_out")),
    "api_calls": ("apiCalls", ("api_calls",)),
    "executions": ("executions", ("executions",)),
}
"""Quota name -> (the plan's `limits` key, the `usage_records` metrics it sums over the billing period).
The names are `cmp.commerce.views.QUOTA_METRICS`'; `tokens` counts tokens in and out (cmp.metering)."""
STORAGE_QUOTA = "storage"
"""The plan quota of bytes held (the plan's `limits.storageMB`, MiB): knowledge files of the subscription.
Not a per-period sum of `usage_records` like QUOTAS: it is checked when a file is requested
(`check_storage`) and is freed by deleting files, not by a new period."""
MIB = 1024 * 1024
ALERT_THRESHOLDS = (80, 100)
"""Percentages of a quota at which one `usage.alert` event is sent per billing period."""


def check_storage(plan: dict[str, Any], used_bytes: int, adding_bytes: int) -> None:
    """Raise QuotaExceeded (`storage`, used and limit in bytes, no reset) when `adding_bytes` more would
    pass the plan's `limits.storageMB`; a plan without it (null: up to the product's knowledge limits,
    cmp.capabilities.plans) sets no quota here."""
    from cmp.gateway.errors import QuotaExceeded

    megabytes = (plan.get("limits") or {}).get("storageMB")
    if not isinstance(megabytes, int) or isinstance(megabytes, bool):
        return
    limit = megabytes * MIB
    if used_bytes + adding_bytes > limit:
        raise QuotaExceeded(STORAGE_QUOTA, used_bytes, limit, None, None)


def default_burst(per_minute: int) -> int:
    """BURST_SECONDS of the rate, rounded up, at least 1."""
    return max(1, math.ceil(per_minute * BURST_SECONDS / WINDOW_SECONDS))


@dataclass(frozen=True)
class RatePolicy:
    """One limit a call is held to: `name` (`key`, `subscription`, `product`) is what the RateLimit fields
    call it, `bucket` the limiter row, `per_minute` the sustained rate, `burst` how many may come at once."""

    name: str
    bucket: str
    per_minute: int
    burst: int

    @property
    def interval_ms(self) -> float:
        """GCRA's emission interval T, in milliseconds."""
        return WINDOW_SECONDS * 1000.0 / self.per_minute

    @property
    def tolerance_ms(self) -> float:
        """GCRA's tolerance tau = burst x T, in milliseconds."""
        return self.burst * self.interval_ms

    @classmethod
    def of(cls, name: str, bucket: str, per_minute: int, burst: int | None = None) -> RatePolicy:
        """A policy with the default burst unless one is given. Raises ValueError for a rate below 1."""
        if per_minute < 1:
            raise ValueError(f"a rate limit is at least 1 request per minute (got {per_minute})")
        return cls(name, bucket, per_minute, burst or default_burst(per_minute))


@dataclass(frozen=True)
class RateOutcome:
    """One bucket's answer: admitted or not, its TAT after the check and the database clock it used."""

    policy: RatePolicy
    allowed: bool
    tat: datetime
    checked_at: datetime

    @property
    def remaining(self) -> int:
        """Requests that could still come at once now (the `r` of the RateLimit field)."""
        backlog_ms = max(0.0, (self.tat - self.checked_at).total_seconds() * 1000.0)
        return max(0, math.floor((self.policy.tolerance_ms - backlog_ms) / self.policy.interval_ms + 1e-9))

    @property
    def reset_seconds(self) -> int:
        """Seconds until the bucket is full again (the `t` of the RateLimit field)."""
        return max(0, math.ceil((self.tat - self.checked_at).total_seconds() - 1e-9))

    @property
    def retry_after(self) -> int:
        """Whole seconds until a refused request of cost 1 would be admitted (at least 1)."""
        wait_ms = (self.tat - self.checked_at).total_seconds() * 1000.0
        wait_ms += self.policy.interval_ms - self.policy.tolerance_ms
        return max(1, math.ceil(wait_ms / 1000.0 - 1e-9))


def ratelimit_headers(outcomes: list[RateOutcome]) -> dict[str, str]:
    """The `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers-10, Structured
    Field lists of quoted policy names with `q` quota units per `w` seconds, and `r` remaining units with
    `t` seconds to reset): every policy in RateLimit-Policy, the tightest (fewest remaining) in RateLimit."""
    if not outcomes:
        return {}
    policies = ", ".join(f'"{o.policy.name}";q={o.policy.per_minute};w={WINDOW_SECONDS}' for o in outcomes)
    tightest = min(outcomes, key=lambda o: (o.remaining, -o.reset_seconds))
    return {
        "RateLimit-Policy": policies,
        "RateLimit": f'"{tightest.policy.name}";r={tightest.remaining};t={tightest.reset_seconds}',
    }


def refusal_headers(outcomes: list[RateOutcome]) -> dict[str, str]:
    """The headers of a 429: the RateLimit fields, and `Retry-After` = the longest wait among the refusing
    policies (every one of them must have room again)."""
    wait = max(o.retry_after for o in outcomes if not o.allowed)
    return {"Retry-After": str(wait), **ratelimit_headers(outcomes)}


@dataclass(frozen=True)
class CallRequest:
    """What one admission asks the database (`gateway_admit_call`): the call of `credential_id` (None for a
    portal token) on `subscription_id`, costing `cost` units of `quota` (a name of QUOTAS, or any other
    metric), at `now` (the gateway's clock, against which expiry is checked); `fingerprint` and
    `quota_limit` are what the caller's cached limits assume (None: nothing cached, so the statement only
    reads the state)."""

    subscription_id: UUID
    credential_id: UUID | None
    quota: str
    cost: int
    now: datetime
    fingerprint: str | None = None
    quota_limit: int | None = None


@dataclass(frozen=True)
class SubscriptionLimits:
    """What the plan (and the product's runtime section) sets for one subscription: `rate_per_minute`
    (None: no limit), `concurrency` (None: no cap), the product's `timeout_seconds`, and `quotas` (quota
    name -> per-period limit; only the quotas the plan caps)."""

    rate_per_minute: int | None
    concurrency: int | None
    timeout_seconds: int
    quotas: dict[str, int]

    @classmethod
    def of(cls, plan: dict[str, Any], runtime_limits: dict[str, Any] | None) -> SubscriptionLimits:
        """From the subscription's plan document and its capability snapshot's `runtime.limits`: a null plan
        rate or concurrency means "up to the product's" (cmp.capabilities.plans)."""
        limits = plan.get("limits") or {}
        runtime = runtime_limits or {}

        def first_int(*values: Any) -> int | None:
            return next((v for v in values if isinstance(v, int) and not isinstance(v, bool)), None)

        quotas = {
            name: limit
            for name, (limit_key, _) in QUOTAS.items()
            if (limit := first_int(limits.get(limit_key))) is not None
        }
        return cls(
            rate_per_minute=first_int(limits.get("rateLimitRpm"), runtime.get("rateLimit")),
            concurrency=first_int(limits.get("concurrency"), runtime.get("concurrency")),
            timeout_seconds=first_int(runtime.get("timeout")) or DEFAULT_TIMEOUT_SECONDS,
            quotas=quotas,
        )

    @property
    def lease_seconds(self) -> int:
        """How long a concurrency lease lives when its call never releases it (a crashed function)."""
        return self.timeout_seconds + LEASE_MARGIN_SECONDS


def reached_thresholds(used: int, limit: int) -> list[int]:
    """The alert thresholds (percent of `limit`) that `used` has reached; the database keeps each alert to
    once per period (`usage_alerts`), so a threshold already reached is harmless to name again."""
    return [t for t in ALERT_THRESHOLDS if used * 100 >= t * limit]
