"""The rate limiter's accuracy under concurrency, against the real database: 100 clients (threads, each with
its own connection and its own `Gateway`, as 100 warm Lambda containers would be) call `admit` with one API
key as fast as they can for 30 s. Every 1-second window of the database clock after the initial burst admits
0.98x to 1.02x of the rate, and the whole run admits the burst plus the rate for its duration within the
same bounds (the 1-minute window needs a 60-second run: `bench/gateway_bench.py --accuracy-seconds 65`).

Anchors (issue 10): a widely used key service's own accuracy test tolerates -5 % / +20 %; a popular LLM
proxy admitted 544 of 1,022 requests against a 100 rpm limit."""

from __future__ import annotations

from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.gateway_load import hammer
from cmp_dev.local.stack import Postgres
from tests.subscriptions import capabilities, subscribe

from .conftest import caller_of

RATE_PER_MINUTE = 3000
"""50 per second; the default burst is 10 s of it: 500. At 50/s a 1-second window admits 49 to 51 (one
admission either side of a window's edge), exactly the 2 % bounds; 100/s needs a machine that serves well
over 100 attempts a second to 100 clients (bench/gateway_bench.py measures both)."""
BURST = 500
CLIENTS = 100
SECONDS = 30.0


@pytest.fixture
def hammered(services: Services, db: Database, postgres: Postgres) -> dict[str, Any]:
    buyer = caller_of(services, "Accuracy Buyer", "buyer")
    plan = {
        "id": "plan_acc",
        "name": "Acc",
        "tier": "pro",
        "limits": {"rateLimitRpm": RATE_PER_MINUTE, "concurrency": 1000},
    }
    subscription = subscribe(
        db, buyer["tenant_id"], capabilities(interfaces={"api": {"enabled": True}}), plan=plan
    )
    issued = services.integration.create_api_key(
        buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("load")
    )
    ctx = services.runtime_authorizer.authorize(issued.secret, None, None)
    return hammer(postgres.app_url, ctx, CLIENTS, SECONDS)


def test_100_clients_get_the_rate_within_two_percent(hammered: dict[str, Any]) -> None:
    rate = RATE_PER_MINUTE / 60
    burst = BURST
    windows = hammered["per_second"]
    assert hammered["errors"] == 0
    assert hammered["attempts"] > 1.5 * hammered["admitted"], "the clients must outpace the limit to test it"
    assert windows[0] <= 1.02 * (burst + rate)
    # The burst goes first, as fast as the clients can take it; the steady state starts with the window
    # after the one in which the burst ran out. The last window is cut short by the end of the run.
    cumulative = [sum(windows[: i + 1]) for i in range(len(windows))]
    burst_spent = next(i for i, total in enumerate(cumulative) if total >= burst)
    steady = windows[burst_spent + 1 : -1]
    assert len(steady) >= SECONDS / 2, windows
    assert all(0.98 * rate <= n <= 1.02 * rate for n in steady), windows
    expected_total = burst + rate * hammered["span_seconds"]
    assert 0.98 * expected_total <= hammered["admitted"] <= 1.02 * expected_total
