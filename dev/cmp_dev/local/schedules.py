"""Fires schedule expressions (EventBridge `rate(...)` and six-field `cron(...)`), which moto accepts but
never fires: the template's own schedules (`run_schedule`) and the EventBridge Scheduler schedules the
platform creates at run time, such as workflow schedules (`run_scheduler`)."""

from __future__ import annotations

import json
import logging
import re
import threading
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
log = logging.getLogger("cmp_dev.local")


def next_fire(expression: str, after: datetime, timezone: str = "UTC") -> datetime:
    """The first firing time strictly after `after` (UTC); a cron reads its fields in `timezone` (IANA)."""
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
        fire: datetime = croniter(five, after.astimezone(zoneinfo.ZoneInfo(timezone))).get_next(datetime)
        return fire.astimezone(UTC)
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


def run_scheduler(
    list_schedules: Callable[[], list[dict[str, Any]]],
    deliver: Callable[[str, str], None],
    stop: threading.Event,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    poll_seconds: float = 1.0,
) -> None:
    """Fire the run-time schedules until `stop` is set. `list_schedules` returns them as Scheduler's
    `GetSchedule` does; each `ENABLED` one calls `deliver(target arn, input)` at its firing times (in its
    `ScheduleExpressionTimezone`), the input's `<aws.scheduler.scheduled-time>` replaced by the firing time
    as Scheduler does. A schedule new or changed since the last poll counts from the moment it was seen;
    missed firings are skipped (one firing, then the next one after now)."""
    due: dict[str, tuple[str, datetime]] = {}
    while not stop.wait(poll_seconds):
        try:
            schedules = list_schedules()
        except Exception as e:  # moto gone while stopping, or not up yet: try again at the next poll
            log.debug("schedules not listed: %s", e)
            continue
        current = now()
        for schedule in schedules:
            name, expression = schedule["Name"], schedule["ScheduleExpression"]
            zone = schedule.get("ScheduleExpressionTimezone") or "UTC"
            if schedule.get("State") != "ENABLED":
                due.pop(name, None)
                continue
            signature = json.dumps([expression, zone, schedule["Target"]], sort_keys=True, default=str)
            known = due.get(name)
            if known is None or known[0] != signature:
                due[name] = (signature, next_fire(expression, current, zone))
                continue
            if known[1] <= current:
                text = schedule["Target"].get("Input", "{}")
                deliver(
                    schedule["Target"]["Arn"],
                    text.replace(SCHEDULED_TIME, known[1].strftime("%Y-%m-%dT%H:%M:%SZ")),
                )
                due[name] = (signature, next_fire(expression, max(known[1], current), zone))
        for gone in set(due) - {s["Name"] for s in schedules}:
            del due[gone]
