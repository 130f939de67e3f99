"""The gateway's rules without I/O: GCRA parameters and outcomes, RateLimit header formatting, the limits a
plan sets, alert thresholds, and the runtime context's round trip and checks."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cmp.errors import Forbidden, NotFound, Unauthorized
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import QuotaExceeded
from cmp.gateway.model import (
    RateOutcome,
    RatePolicy,
    SubscriptionLimits,
    default_burst,
    ratelimit_headers,
    reached_thresholds,
    refusal_headers,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_gcra_parameters_follow_the_rate_and_burst() -> None:
    starter = RatePolicy.of("key", "key:a", 60)
    assert (starter.burst, starter.interval_ms, starter.tolerance_ms) == (10, 1000.0, 10_000.0)
    pro = RatePolicy.of("subscription", "sub:a", 300)
    assert (pro.burst, pro.interval_ms, pro.tolerance_ms) == (50, 200.0, 10_000.0)
    assert RatePolicy.of("key", "key:b", 6, burst=3).tolerance_ms == 30_000.0
    assert [default_burst(n) for n in (1, 5, 6, 7, 61)] == [1, 1, 1, 2, 11]
    with pytest.raises(ValueError, match="at least 1"):
        RatePolicy.of("key", "key:c", 0)


def _outcome(policy: RatePolicy, backlog_s: float, allowed: bool = True) -> RateOutcome:
    return RateOutcome(policy, allowed, NOW + timedelta(seconds=backlog_s), NOW)


def test_remaining_reset_and_retry_after_from_the_arrival_time() -> None:
    policy = RatePolicy.of("key", "key:a", 60)  # T = 1 s, tolerance 10 s
    fresh = _outcome(policy, 1.0)  # one request taken from an idle bucket
    assert (fresh.remaining, fresh.reset_seconds) == (9, 1)
    full = _outcome(policy, 10.0)  # the whole burst taken
    assert (full.remaining, full.reset_seconds) == (0, 10)
    refused = _outcome(policy, 10.0, allowed=False)
    assert refused.retry_after == 1  # TAT + T - tolerance - now = 1 s
    slow = RatePolicy.of("key", "key:b", 6)  # T = 10 s, burst 1
    assert _outcome(slow, 10.0, allowed=False).retry_after == 10
    assert _outcome(slow, 4.5, allowed=False).retry_after == 5  # rounded up, never early
    assert _outcome(policy, 0.0).remaining == 10


def test_ratelimit_headers_follow_the_draft_syntax() -> None:
    key = RatePolicy.of("key", "key:a", 6)
    plan = RatePolicy.of("subscription", "sub:a", 60)
    outcomes = [_outcome(key, 10.0), _outcome(plan, 1.0)]
    assert ratelimit_headers(outcomes) == {
        "RateLimit-Policy": '"key";q=6;w=60, "subscription";q=60;w=60',
        "RateLimit": '"key";r=0;t=10',
    }
    refused = [_outcome(key, 10.0, allowed=False), _outcome(plan, 9.0, allowed=False)]
    assert refusal_headers(refused)["Retry-After"] == "10"  # the longest wait of the refusing policies
    assert ratelimit_headers([]) == {}


def test_the_limits_a_plan_sets_fall_back_to_the_products() -> None:
    starter = SubscriptionLimits.of(
        {"limits": {"rateLimitRpm": 60, "concurrency": 5, "messages": 1000, "tokens": None, "apiCalls": 50}},
        {"rateLimit": 300, "concurrency": 20, "timeout": 30},
    )
    assert starter == SubscriptionLimits(60, 5, 30, {"messages": 1000, "api_calls": 50})
    assert starter.lease_seconds == 60
    enterprise = SubscriptionLimits.of(
        {"limits": {"rateLimitRpm": None, "concurrency": None}}, {"rateLimit": 450}
    )
    assert (enterprise.rate_per_minute, enterprise.concurrency, enterprise.timeout_seconds) == (450, None, 60)
    assert SubscriptionLimits.of({}, None) == SubscriptionLimits(None, None, 60, {})


def test_alert_thresholds_reached() -> None:
    assert reached_thresholds(79, 100) == []
    assert reached_thresholds(80, 100) == [80]
    assert reached_thresholds(100, 100) == [80, 100]
    assert reached_thresholds(9, 10) == [80]


def test_quota_exceeded_names_the_quota_its_use_and_reset() -> None:
    error = QuotaExceeded("messages", 1000, 1000, "2026-12-01T00:00:00+00:00", 3600)
    assert error.status == 429 and error.headers == {"Retry-After": "3600"}
    assert error.to_dict() == {
        "error": "quota_exceeded",
        "message": "the plan's messages quota is used up (1,000 of 1,000); it resets at 2026-12-01T00:00:00+00:00",
        "errors": [
            {"path": "quota.messages", "message": "used 1000 of 1000; resets at 2026-12-01T00:00:00+00:00"}
        ],
    }


CTX = RuntimeContext(
    principal="widget_token",
    tenant_id=uuid.uuid4(),
    subscription_id=uuid.uuid4(),
    product_id=uuid.uuid4(),
    plan_id="plan_pro",
    runtime="shared",
    key_id=uuid.uuid4(),
    scopes=("invoke",),
    origin="https://shop.example.com",
)


def test_the_context_round_trips_through_the_authorizer_map() -> None:
    carried = CTX.to_authorizer()
    assert all(isinstance(v, str) for v in carried.values())
    assert RuntimeContext.from_authorizer(carried) == CTX
    assert CTX.credential == f"key:{CTX.key_id}"
    with pytest.raises(Unauthorized):
        RuntimeContext.from_authorizer({"tenant_id": str(CTX.tenant_id), "user_id": "x", "roles": "buyer"})
    with pytest.raises(Unauthorized):
        RuntimeContext.from_authorizer({**carried, "principal": "admin"})


def test_scope_and_subscription_checks() -> None:
    CTX.require_scope("invoke")
    with pytest.raises(Forbidden, match="'knowledge:write'"):
        CTX.require_scope("knowledge:write")
    CTX.require_subscription(CTX.subscription_id)
    with pytest.raises(NotFound):
        CTX.require_subscription(uuid.uuid4())
