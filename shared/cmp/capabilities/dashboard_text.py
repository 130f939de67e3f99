"""The words of the buyer's dashboard: counts, usage against limits, relative times, schedules, statuses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cmp.capabilities.cron import CronError, describe_cron, describe_interval, parse_cron
from cmp.gateway.model import QUOTAS

STATUS_LABELS = {
    "provisioning": "Provisioning",
    "active": "Active",
    "past_due": "Payment due",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "suspended": "Suspended",
}
"""Subscription status (`cmp.commerce.model.SubscriptionStatus`) → the badge the spec shows ("[Active]")."""

METRIC_WORDS: dict[str, tuple[str, str]] = {
    "messages": ("message", "messages"),
    "tokens": ("token", "tokens"),
    "sessions": ("session", "sessions"),
    "users": ("user", "users"),
    "api_calls": ("API call", "API calls"),
    "compute_time": ("compute second", "compute seconds"),
    "executions": ("execution", "executions"),
}
"""Usage metric → singular and plural words."""

METERED_AS: dict[str, tuple[str, ...]] = {
    "tokens": QUOTAS["tokens"][1],
    "compute_time": ("compute_ms",),
}
"""Usage metric → the metered metrics (`cmp.metering.model.METRICS`) it sums, `tokens` as the gateway's quota
sums them (`cmp.gateway.model.QUOTAS`); the others are metered under their own name. `compute_time` is therefore in milliseconds, as `GET …/usage` shows `compute_ms`."""

METRIC_SCALES = {"compute_time": 1000}
"""Usage metric → metered units per unit shown: compute time is metered in milliseconds, shown in seconds."""

PLAN_LIMIT_METRICS = {
    "messages": "messages",
    "tokens": "tokens",
    "apiCalls": "api_calls",
    "executions": "executions",
}
"""A plan's `limits` key (docs/capabilities.md, Plans) → the usage metric it bounds. A plan's `users` are
the buyer's seats, not the product's end users that the `users` metric counts, so they bound nothing here."""


def count(number: int, singular: str, plural: str | None = None) -> str:
    """`count(1, "document")` → `1 document`; `count(8234, "message")` → `8,234 messages`."""
    word = singular if number == 1 else (plural or f"{singular}s")
    return f"{number:,} {word}"


def _amount(metric: str, amount: int) -> str:
    """`8,234`; a scaled metric to a tenth, rounded half up (136 ms → `0.1`, 1,500 ms → `1.5`, 2,000 ms →
    `2`), `under 0.1` for a non-zero amount that rounds to nothing."""
    scale = METRIC_SCALES.get(metric, 1)
    if scale == 1:
        return f"{amount:,}"
    tenths = (amount * 10 + scale // 2) // scale
    if tenths == 0 and amount > 0:
        return "under 0.1"
    whole, tenth = divmod(tenths, 10)
    return f"{whole:,}" if tenth == 0 else f"{whole:,}.{tenth}"


def usage_text(metric: str, used: int, limit: int | None) -> str:
    """`8,234 / 10,000 messages` against a plan limit, `8,234 messages` when unlimited; `used` and `limit`
    in the metric's metered unit (`compute_time`: milliseconds, shown as `0.1 compute seconds`)."""
    singular, plural = METRIC_WORDS.get(metric, (metric, metric))
    used_text = _amount(metric, used)
    if limit is None:
        return f"{used_text} {singular if used_text == '1' else plural}"
    return f"{used_text} / {_amount(metric, limit)} {plural}"


def usage_from_metering(metered: Mapping[str, int]) -> dict[str, int]:
    """Usage this period as metered (`cmp.metering.views.usage_this_period`: `tokens_in`, `compute_ms`, ...)
    by usage metric, for `DashboardState.usage`: every metered amount, plus each metric of `METERED_AS` as
    the sum of its metered metrics (`tokens`: in and out; `compute_time`: milliseconds)."""
    derived = {metric: sum(metered.get(part, 0) for part in parts) for metric, parts in METERED_AS.items()}
    return {**metered, **derived}


def limits_from_plan(plan_limits: Mapping[str, int | None]) -> dict[str, int | None]:
    """A plan document's `limits` (camelCase keys) as usage metric → limit, for `DashboardState.limits`.
    Keys that bound no usage metric (users, storageMB, rateLimitRpm, concurrency) are left out."""
    return {PLAN_LIMIT_METRICS[key]: value for key, value in plan_limits.items() if key in PLAN_LIMIT_METRICS}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return count(minutes, "minute")
    hours = minutes // 60
    if hours < 48:
        return count(hours, "hour")
    return count(hours // 24, "day")


def ago(moment: datetime, now: datetime) -> str:
    """`5 minutes ago`, `3 hours ago`, `just now` (under a minute)."""
    seconds = (now - moment).total_seconds()
    return "just now" if seconds < 60 else f"{_span(seconds)} ago"


def from_now(moment: datetime, now: datetime) -> str:
    """`in 55 minutes`, `in 2 days`, `now` (under a minute or past)."""
    seconds = (moment - now).total_seconds()
    return "now" if seconds < 60 else f"in {_span(seconds)}"


def describe_schedule(schedule: Mapping[str, Any]) -> str | None:
    """A stored workflow schedule (`{"cron" | "interval", "timezone"}`) in words, e.g. `Every hour` or
    `Every day at 09:00 (Europe/Paris)`; None when it holds neither."""
    timezone = schedule.get("timezone", "UTC")
    suffix = "" if timezone == "UTC" else f" ({timezone})"
    try:
        if isinstance(schedule.get("cron"), str):
            return describe_cron(parse_cron(schedule["cron"])) + suffix
        if isinstance(schedule.get("interval"), str):
            return describe_interval(schedule["interval"])
    except CronError:
        return None
    return None
