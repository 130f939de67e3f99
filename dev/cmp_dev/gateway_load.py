"""Load for the gateway's accuracy test and benchmark: many clients calling `Gateway.admit` with one
credential, each on its own database connection (as separate warm Lambda containers would be)."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from datetime import UTC, datetime
from typing import Any

from cmp.db import Database
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import RateLimited
from cmp.gateway.ports import NoDedicatedRuntime
from cmp.gateway.repository import GatewayStatements
from cmp.gateway.services import Gateway
from cmp.system import RandomIds, SystemClock


def hammer(url: str, ctx: RuntimeContext, clients: int, seconds: float) -> dict[str, Any]:
    """Run `clients` threads calling `admit(ctx)` back to back for `seconds`. Returns `attempts`,
    `admitted`, `errors` (anything but a 429), and each admission counted twice: by the database's own
    decision time (`Admission.admitted_at`: `clock_timestamp()` read in `gateway_admit` once the buckets are
    locked, what the limiter admits) as `per_second` (1-second windows from the first admission),
    `per_minute` (60-second windows), `span_seconds` (first to last admission) and `max_gap_ms` (the
    longest time between two admissions in a row: a stall of the clients or the host shows here); and by
    the client's clock when the answer arrived (what the clients see) as `client` (the same keys). And
    `decisions`: every admission and refusal on the database's clock, in seconds from the first admission,
    in order (where the limiter was left without a request, see `busy_seconds`)."""
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()
    lock = threading.Lock()
    admitted_at: list[datetime] = []
    answered_at: list[datetime] = []
    decided_at: list[datetime] = []
    counts = {"attempts": 0, "errors": 0}

    def client() -> None:
        db = Database(url, min_size=1, max_size=1)
        gateway = Gateway(
            GatewayStatements(db.statement),
            db.unit_of_work,
            SystemClock(),
            RandomIds(),
            lambda: "default",
            NoDedicatedRuntime(),
        )
        with db.session():  # open the connection before the start line
            pass
        mine: list[datetime] = []
        seen: list[datetime] = []
        decided: list[datetime] = []
        attempts = errors = 0
        ready.wait()
        while not stop.is_set():
            attempts += 1
            try:
                with gateway.admit(ctx) as admission:
                    if admission.admitted_at is not None:
                        mine.append(admission.admitted_at)
                        seen.append(datetime.now(UTC))
                        decided.append(admission.admitted_at)
            except RateLimited as refused:
                if refused.checked_at is not None:
                    decided.append(refused.checked_at)
            except Exception:
                errors += 1
        db.close()
        with lock:
            admitted_at.extend(mine)
            answered_at.extend(seen)
            decided_at.extend(decided)
            counts["attempts"] += attempts
            counts["errors"] += errors

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    start = min(admitted_at, default=None)
    decisions = sorted((t - start).total_seconds() for t in decided_at) if start else []
    return {**counts, **windows(admitted_at), "client": windows(answered_at), "decisions": decisions}


def windows(times: list[datetime]) -> dict[str, Any]:
    """Admissions per 1-second and 60-second window from the first one, the span first to last and the
    longest gap between two admissions in a row (ms)."""
    if not times:
        return {"admitted": 0, "per_second": [], "per_minute": [], "span_seconds": 0.0, "max_gap_ms": 0.0}
    start = min(times)
    offsets = sorted((t - start).total_seconds() for t in times)
    span = offsets[-1]
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    per_second = [0] * (int(span) + 1)
    per_minute = [0] * (int(span // 60) + 1)
    for offset in offsets:
        per_second[int(offset)] += 1
        per_minute[int(offset // 60)] += 1
    return {
        "admitted": len(times),
        "per_second": per_second,
        "per_minute": per_minute,
        "span_seconds": span,
        "max_gap_ms": 1000.0 * max(gaps, default=0.0),
    }


def stalls(decisions: list[float], interval: float) -> list[tuple[float, float]]:
    """The spans (seconds from the first admission) over which a stall of the clients moved admissions: each
    time two decisions in a row (`decisions`, sorted) are more than `interval` (the emission interval,
    1 / rate) apart, from the first until the stall's missed admissions have been made up.

    Why: a GCRA admission happens at the first request after its slot, so while requests come at least once
    per interval each admission lands within one interval of its slot, and a window admits its slots plus or
    minus one. When the host stalls the clients (no request for 200 ms and more on this 2-core machine), the
    stall's admissions happen at once when requests return (within the burst tolerance), one per request: a
    window edge between the stall's start and the end of that catch-up (the missed admissions times the
    typical time between two decisions, doubled) moves them from one window to the next. The limiter did not
    decide that, the host's scheduler did."""
    if len(decisions) < 2:
        return []
    between = statistics.median(b - a for a, b in itertools.pairwise(decisions))
    return [
        (before, after + 2.0 * between * (after - before) / interval)
        for before, after in itertools.pairwise(decisions)
        if after - before > interval
    ]


def steady_windows(
    per_second: list[int],
    rate: float,
    burst: int,
    window: int,
    moved: list[tuple[float, float]] | None = None,
) -> list[int]:
    """The admissions per `window`-second window once the burst has run out, from `per_second` (1-second
    counts of a run whose clients outpace `rate` per second with a limit of `burst` plus the rate). The
    burst goes first, as fast as the clients take it, while the rate keeps refilling it; it has run out by
    the first second after the first (which starts whenever the clients do) that admits no more than 1.02 x
    the rate, or by the first second through which the run has admitted the burst plus the rate for every
    second so far (a limiter admitting more than its rate never slows down to it). The steady state starts a
    whole second after that one; the last second is cut short by the end of the run and left out. With
    `moved` (from `stalls`), only the windows neither of whose edges lies in one of those spans. Empty when
    the burst never ran out."""
    total, spent = 0, None
    for i, n in enumerate(per_second):
        total += n
        if (i > 0 and n <= 1.02 * rate) or total >= burst + rate * (i + 1):
            spent = i
            break
    if spent is None:
        return []
    first = spent + 2
    steady = per_second[first:-1]
    return [
        sum(steady[i : i + window])
        for i in range(0, len(steady) - window + 1, window)
        if not any(
            start < edge < end for start, end in moved or [] for edge in (first + i, first + i + window)
        )
    ]


def outside(counts: list[int], expected: float, tolerance: float = 0.02) -> list[int]:
    """The counts outside (1 - tolerance) x expected .. (1 + tolerance) x expected: the accuracy test's
    and the benchmark's verdict on each window (issue 10: 0.98x-1.02x)."""
    return [n for n in counts if not (1 - tolerance) * expected <= n <= (1 + tolerance) * expected]
