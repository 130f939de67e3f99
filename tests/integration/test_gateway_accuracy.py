"""The rate limiter's accuracy under concurrency, against the real database: 100 clients (threads, each with
its own connection and its own `Gateway`, as 100 warm Lambda containers would be) call `admit` with one API
key as fast as they can. Every window after the initial burst admits 0.98x to 1.02x of the rate, counted on
the database's clock (where the limiter decides), in windows expecting 1,000 admissions and in windows five
times as long, and the whole run admits the burst plus the rate for its duration within the same bounds.
So does every shortest window expecting 200 admissions (2 seconds at 100/s) whose edges no stall of the
clients crossed (`cmp_dev.gateway_load.stalls`: the host, not the limiter, moves a stall's admissions to
when requests come back); how many there are depends on the host (3-7 in a 40-s run on an idle 2-core
machine, whose 100 client threads leave the limiter without a request for longer than an emission interval
many times a second). The clients' clock is reported beside it. That the verdict can fail: tests/unit/gateway/test_accuracy_verdict.py (a limiter
admitting twice the rate fails it).

The property is relative to the limit, so the test first measures how many admissions this host drives in
a typical (median) second of a 4-second probe under a limit it cannot reach, and sets the limit to a
fifth of that, at most TARGET_PER_MINUTE (6,000): the clients then always outpace the limit, on an idle machine or
a loaded one, instead of the test failing because the host is slow. A window must expect at least
MIN_PER_WINDOW (1,000) admissions for 2 % to cover what a stall of the host moves across its edges, so the
windows are 10 seconds long at 100/s, and the shortest whole number of seconds reaching 1,000 below that. The
1-minute window needs a run over 60 s, longer than this test may take:
`bench/gateway_bench.py --accuracy-seconds 65`.

Anchors (issue 10): a widely used key service's own accuracy test tolerates -5 % / +20 %; a popular LLM
proxy admitted 544 of 1,022 requests against a 100 rpm limit."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.gateway.model import default_burst
from cmp.tenancy.credentials import ApiKeyRequest
from cmp_dev.gateway_load import hammer, outside, stalls, steady_windows
from cmp_dev.local.stack import Postgres
from tests.subscriptions import capabilities, subscribe

from .conftest import caller_of

TARGET_PER_MINUTE = 6000
"""100 per second (burst: 10 s of it), the limit on a machine that drives 500 admissions in a typical
second; it is then checked in 1-second windows."""
MIN_PER_WINDOW = 1000
"""A window's count is off from rate x length by what a stall of the host moves across its edges: no
request reaches the limiter while the 2-core host stalls (gaps of 200-230 ms between admissions were seen
on an idle one), and GCRA then admits the missed share at once, within its burst tolerance. At 100/s that is
~20 admissions, 2 % of a window of 1,000 (a 365-ms stall under a CPU-bound neighbour moved 2.2 % of a
window of 519); the quiet bench (docs/performance.md, 14:47) had every 5-s window at 100/s within 2 % and
1-s windows 90-111, so windows of 1,000 admissions are checked."""
MIN_PER_BRIEF_WINDOW = 200
"""While requests reach the limiter at least once per emission interval, each admission lands within one
interval of its slot, so a window admits its slots (rate x length, rounded either way) plus or minus one at
each edge. 2 % of 100 is those two admissions and nothing more, and a stall that ended just before an edge
(its catch-up estimated by `stalls`, not measured) could add a few: a clean-clone run on 2026-12-01 (a host
driving 806 admissions/s, so 100/s and 1-s windows) had its two undisturbed 1-s windows at 100 and 104. At
200 (2-second windows at 100/s), 2 % is four admissions."""
OUTPACE = 5
"""The clients can admit this many times the limit, so the burst drains in 10 s / (OUTPACE - 1)."""
LONGER = 5
"""The longer windows checked beside the shortest: LONGER x `window` seconds."""
CLIENTS = 100
PROBE_SECONDS = 4.0
SECONDS = 40.0


@pytest.fixture
def key_with_limit(services: Services, db: Database) -> Callable[[int], RuntimeContext]:
    """A fresh subscription and API key whose plan allows `rate` calls a minute (and 1,000 at once)."""

    def make(rate: int) -> RuntimeContext:
        buyer = caller_of(services, "Accuracy Buyer", "buyer")
        plan = {"id": "plan_acc", "name": "Acc", "tier": "pro"}
        plan["limits"] = {"rateLimitRpm": rate, "concurrency": 1000}  # type: ignore[assignment]
        subscription = subscribe(
            db, buyer["tenant_id"], capabilities(interfaces={"api": {"enabled": True}}), plan=plan
        )
        issued = services.integration.create_api_key(
            buyer["tenant_id"], buyer["user_id"], subscription.id, ApiKeyRequest("load")
        )
        return services.runtime_authorizer.authorize(issued.secret, None, None)

    return make


def test_100_clients_get_the_rate_within_two_percent(
    key_with_limit: Callable[[int], RuntimeContext], postgres: Postgres
) -> None:
    probe = hammer(postgres.app_url, key_with_limit(10**7), CLIENTS, PROBE_SECONDS)
    # What this host drives in a typical whole second: the median, not the slowest, which one stall of the
    # host (a second with a 1-s gap drove 15 admissions in a CI run) would make the limit, and then the
    # windows, too long for the run.
    capacity = statistics.median(probe["per_second"][1:-1] or [0])
    per_minute = min(TARGET_PER_MINUTE, math.floor(capacity / OUTPACE * 60))
    assert per_minute >= 60, f"the host admits {capacity:.0f}/s, too slow to test a limit"
    rate, burst = per_minute / 60, default_burst(per_minute)
    # At most the run less the burst's drain (up to ~8 s on a busy host) and the margins around it, so a
    # slow host's long window still fits once.
    window = max(1, min(math.ceil(MIN_PER_WINDOW / rate), int(SECONDS) - 12))

    run: dict[str, Any] = hammer(postgres.app_url, key_with_limit(per_minute), CLIENTS, SECONDS)
    seconds, client = run["per_second"], run["client"]["per_second"]
    detail = (
        f"{per_minute} rpm, {window}-s windows, probe {capacity:.0f}/s, per second on the database's clock"
        f" {seconds} (longest gap {run['max_gap_ms']:.0f} ms), on the clients' {client}"
    )
    assert run["errors"] == 0
    assert run["attempts"] > 1.5 * run["admitted"], "the clients must outpace the limit: " + detail
    assert seconds[0] <= 1.02 * (burst + rate), detail
    # Counted where the limiter decides: each admission in the window of the database's clock read under the
    # bucket's lock. The clients' clock adds their own scheduling delay and is only reported.
    short = steady_windows(seconds, rate, burst, window)
    assert short, (
        "no whole window after the burst (the burst never ran out, or the run is too short): " + detail
    )
    assert len(short) * window >= SECONDS / 3, detail
    # Every window whose edges no stall of the host crossed (a 632-ms stall at 85/s moved 21 admissions, more
    # than 2 % of a window, from one window to the next in a clean-clone run); the longer windows (where they
    # fit) and the whole run below count the stalled seconds too.
    moved = stalls(run["decisions"], 1 / rate)
    assert outside(steady_windows(seconds, rate, burst, window, moved), rate * window) == [], detail
    longer = steady_windows(seconds, rate, burst, LONGER * window)  # none fit when the host sets 3-s windows
    assert outside(longer, rate * LONGER * window) == [], detail
    # The shortest windows, but those whose edges a stall of the host moved admissions across.
    brief = max(1, math.ceil(MIN_PER_BRIEF_WINDOW / rate))
    undisturbed = steady_windows(seconds, rate, burst, brief, moved)
    detail += f"; {brief}-s windows no stall crossed: {undisturbed}, stalls {[(round(a, 2), round(b, 2)) for a, b in moved]}"
    assert outside(undisturbed, rate * brief) == [], detail
    expected_total = burst + rate * run["span_seconds"]
    assert outside([run["admitted"]], expected_total) == [], detail
