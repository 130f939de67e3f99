"""Load for the gateway's accuracy test and benchmark: many clients calling `Gateway.admit` with one
credential, each on its own database connection (as separate warm Lambda containers would be)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
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
    `admitted`, `errors` (anything but a 429), `per_second` (admissions per 1-second window of the database
    clock, from the first admission), `per_minute` (the same per 60-second window) and `span_seconds`
    (first to last admission)."""
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()
    lock = threading.Lock()
    admitted_at: list[datetime] = []
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
        attempts = errors = 0
        ready.wait()
        while not stop.is_set():
            attempts += 1
            try:
                with gateway.admit(ctx) as admission:
                    if admission.admitted_at is not None:
                        mine.append(admission.admitted_at)
            except RateLimited:
                pass
            except Exception:
                errors += 1
        db.close()
        with lock:
            admitted_at.extend(mine)
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
    return {**counts, **windows(admitted_at)}


def windows(times: list[datetime]) -> dict[str, Any]:
    """Admissions per 1-second and 60-second window from the first one, and the span first to last."""
    if not times:
        return {"admitted": 0, "per_second": [], "per_minute": [], "span_seconds": 0.0}
    start = min(times)
    offsets = [(t - start).total_seconds() for t in times]
    span = max(offsets)
    per_second = [0] * (int(span) + 1)
    per_minute = [0] * (int(span // 60) + 1)
    for offset in offsets:
        per_second[int(offset)] += 1
        per_minute[int(offset // 60)] += 1
    return {"admitted": len(times), "per_second": per_second, "per_minute": per_minute, "span_seconds": span}
