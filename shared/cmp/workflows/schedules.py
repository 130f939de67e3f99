"""Schedule triggers: one EventBridge Scheduler schedule per workflow with a `schedule` trigger.

A trigger's config holds exactly one of `cron` (five fields, `cmp.capabilities.cron`), `interval` (`15m`,
`2h`, `1d`) or `preset` (`hourly`, `daily`, `weekly`, `monthly`: midnight, Mondays, the 1st), and an IANA
`timezone` (default `UTC`); `cmp.workflows.rules` checks it against the product's minimum interval.

`scheduler_expression` turns it into EventBridge Scheduler's syntax (AWS Scheduler user guide, "Schedule
types"): an interval is `rate(n minutes|hours|days)`; a cron becomes the six-field `cron(min hour dom month
dow year)` with `?` in the day field that is not restricted and weekdays written by name (EventBridge counts
them 1-7 from Sunday, five-field cron 0-6, so names avoid the off-by-one).

`WorkflowSchedules.sync(workflow)` keeps the schedule in step with the workflow: created or replaced
(enabled) when an active workflow has a schedule trigger, disabled while it is paused, deleted when its
trigger is no longer a schedule. The schedule's target is the workflow triggers queue; its input names the
tenant and workflow and carries Scheduler's `<aws.scheduler.scheduled-time>` context attribute, which the
trigger worker makes the run's idempotency key (Scheduler delivers at least once; each firing starts one
run). The local runner fires these schedules itself (moto stores but never fires them).

`next_run(config, since, now)` is the next firing after `now`, in UTC, computed with croniter in the
schedule's time zone (so daylight-saving changes move it as Scheduler does); a rate counts from `since`,
the moment the schedule was (re)created, as Scheduler's rate schedules do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cmp.capabilities.cron import DAY_NAMES, interval_minutes, parse_cron
from cmp.ports import Schedules
from cmp.workflows.model import Workflow
from cmp.workflows.rules import SCHEDULE_PRESETS

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
"""Scheduler's context attribute: replaced in the target input by the firing's scheduled time (ISO 8601)."""
_RATE_UNITS = ((1440, "day"), (60, "hour"), (1, "minute"))


def schedule_name(workflow_id: uuid.UUID) -> str:
    """The schedule's name (Scheduler allows 64 characters): `cmp-workflow-<workflow id>`."""
    return f"cmp-workflow-{workflow_id}"


def five_field_cron(config: dict[str, Any]) -> str | None:
    """The trigger's five-field cron expression (a preset's own), or None for an interval."""
    if "preset" in config:
        return SCHEDULE_PRESETS[str(config["preset"])]
    if "cron" in config:
        return " ".join(str(config["cron"]).split())
    return None


def scheduler_expression(config: dict[str, Any]) -> str:
    """The EventBridge Scheduler expression of a valid schedule trigger config (see the module docstring)."""
    cron = five_field_cron(config)
    if cron is None:
        minutes = interval_minutes(str(config["interval"]))
        size, unit = next((s, u) for s, u in _RATE_UNITS if minutes % s == 0)
        count = minutes // size
        return f"rate({count} {unit}{'s' if count > 1 else ''})"
    schedule = parse_cron(cron)
    minute, hour, day, month, _weekday = cron.split()
    if schedule.weekdays_restricted:
        weekdays = ",".join(DAY_NAMES[d] for d in sorted(schedule.weekdays))
        return f"cron({minute} {hour} ? {month} {weekdays} *)"
    return f"cron({minute} {hour} {day} {month} ? *)"


def next_run(config: dict[str, Any], since: datetime | None, now: datetime) -> datetime:
    """The first firing strictly after `now` (UTC); `since` anchors a rate (None: `now`)."""
    cron = five_field_cron(config)
    if cron is None:
        step = timedelta(minutes=interval_minutes(str(config["interval"])))
        anchor = since or now
        if anchor > now:
            return anchor + step
        return anchor + step * ((now - anchor) // step + 1)
    import zoneinfo

    from croniter import croniter

    zone = zoneinfo.ZoneInfo(str(config.get("timezone", "UTC")))
    parsed = parse_cron(cron)
    weekdays = ",".join(str(d) for d in sorted(parsed.weekdays)) if parsed.weekdays_restricted else "*"
    minute, hour, day, month, _ = cron.split()
    fire: datetime = croniter(f"{minute} {hour} {day} {month} {weekdays}", now.astimezone(zone)).get_next(
        datetime
    )
    return fire.astimezone(UTC)


@dataclass(frozen=True)
class ScheduleTarget:
    """Where schedules deliver (the workflow triggers queue's ARN) and the role Scheduler sends as."""

    queue_arn: Callable[[], str]
    role_arn: Callable[[], str]


class WorkflowSchedules:
    """The workflows' EventBridge Scheduler schedules (`cmp.ports.Schedules`), one per workflow."""

    def __init__(self, schedules: Schedules, target: ScheduleTarget) -> None:
        self._schedules = schedules
        self._target = target

    def sync(self, workflow: Workflow, trigger_type: str, trigger_config: dict[str, Any]) -> None:
        """Create, replace, disable or delete the workflow's schedule to match the trigger of its active
        version (`trigger_type`, `trigger_config`) and its status. Raises `AwsUnavailable` when Scheduler cannot be reached (the caller's transaction then rolls back,
        so the workflow's state and its schedule never disagree)."""
        name = schedule_name(workflow.id)
        if trigger_type != "schedule" or workflow.status == "draft":
            self._schedules.delete(name)
            return
        self._schedules.put(
            name,
            scheduler_expression(trigger_config),
            self._target.queue_arn(),
            self._target.role_arn(),
            {
                "kind": "schedule",
                "tenant_id": str(workflow.tenant_id),
                "workflow_id": str(workflow.id),
                "scheduled_time": SCHEDULED_TIME,
            },
            timezone=str(trigger_config.get("timezone", "UTC")),
            enabled=workflow.status == "active",
        )

    def delete(self, workflow_id: uuid.UUID) -> None:
        """Remove the workflow's schedule (nothing happens when it has none)."""
        self._schedules.delete(schedule_name(workflow_id))
