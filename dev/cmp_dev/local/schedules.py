"""Fires schedule expressions (EventBridge `rate(...)` and six-field `cron(...)`), which moto accepts but
never fires."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from croniter import croniter

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def next_fire(expression: str, after: datetime) -> datetime:
    """The first firing time strictly after `after` (UTC)."""
    rate = _RATE.match(expression.strip())
    if rate:
        seconds = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")]
        if seconds <= 0:
            raise ValueError(f"rate must be positive: {expression}")
        return after + timedelta(seconds=seconds)
    cron = _CRON.match(expression.strip())
    if cron:
        fields = cron.group(1).split()
        if len(fields) != 6:
            raise ValueError(f"cron needs six fields (minute hour day month weekday year): {expression}")
        minute, hour, day, month, weekday, _year = fields
        five = " ".join(f.replace("?", "*") for f in (minute, hour, day, month, weekday))
        fire: datetime = croniter(five, after.astimezone(UTC)).get_next(datetime)
        return fire
    raise ValueError(f"not a schedule expression: {expression}")


def run_schedule(
    expression: str,
    fire: Callable[[], object],
    stop: threading.Event,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Call `fire` at every firing time of `expression` until `stop` is set; a slow `fire` never causes a
    burst of catch-up calls (missed firings are skipped, as EventBridge does outside its window)."""
    due = next_fire(expression, now())
    while not stop.wait(timeout=max(0.0, (due - now()).total_seconds())):
        fire()
        due = next_fire(expression, max(due, now()))
