"""Schedule triggers without I/O: the EventBridge Scheduler expression of each trigger form, the next run
time in the trigger's time zone (daylight-saving changes included), what the schedule follows, and the
local runner's firing of run-time schedules."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from cmp.workflows.model import Workflow
from cmp.workflows.schedules import ScheduleTarget, WorkflowSchedules, next_run, scheduler_expression
from cmp_dev.local.schedules import next_fire, run_scheduler


@pytest.mark.parametrize(
    ("config", "expression"),
    [
        ({"cron": "30 9 * * 1-5"}, "cron(30 9 ? * MON,TUE,WED,THU,FRI *)"),
        ({"cron": "0 18 * * 0"}, "cron(0 18 ? * SUN *)"),
        ({"cron": "0 18 * * 7"}, "cron(0 18 ? * SUN *)"),
        ({"cron": "*/15 * 1,15 * *"}, "cron(*/15 * 1,15 * ? *)"),
        ({"cron": "0  6 * JAN-MAR *"}, "cron(0 6 * JAN-MAR ? *)"),
        ({"preset": "weekly"}, "cron(0 0 ? * MON *)"),
        ({"preset": "monthly"}, "cron(0 0 1 * ? *)"),
        ({"interval": "15m"}, "rate(15 minutes)"),
        ({"interval": "1h"}, "rate(1 hour)"),
        ({"interval": "120m"}, "rate(2 hours)"),
        ({"interval": "2d"}, "rate(2 days)"),
    ],
)
def test_scheduler_expressions(config: dict[str, Any], expression: str) -> None:
    assert scheduler_expression(config) == expression


def test_the_next_run_follows_the_time_zone_across_daylight_saving() -> None:
    config = {"cron": "30 9 * * *", "timezone": "Europe/Paris"}
    # 09:30 in Paris is 07:30 UTC in summer (CEST) and 08:30 UTC after the clocks go back on 25 October 2026.
    assert next_run(config, None, datetime(2026, 10, 24, 8, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 8, 30, tzinfo=UTC
    )
    assert next_run(config, None, datetime(2026, 10, 23, 6, 0, tzinfo=UTC)) == datetime(
        2026, 10, 23, 7, 30, tzinfo=UTC
    )
    weekdays = {"cron": "0 9 * * 1-5", "timezone": "America/New_York"}
    friday_evening = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert next_run(weekdays, None, friday_evening) == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def test_a_rate_counts_from_when_the_schedule_was_created() -> None:
    since = datetime(2026, 11, 30, 6, 10, tzinfo=UTC)
    config = {"interval": "1h"}
    assert next_run(config, since, datetime(2026, 11, 30, 6, 10, tzinfo=UTC)) == datetime(
        2026, 11, 30, 7, 10, tzinfo=UTC
    )
    assert next_run(config, since, datetime(2026, 11, 30, 9, 59, tzinfo=UTC)) == datetime(
        2026, 11, 30, 10, 10, tzinfo=UTC
    )


class _Schedules:
    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}

    def put(
        self,
        name: str,
        expression: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
        timezone: str = "UTC",
        enabled: bool = True,
    ) -> None:
        self.saved[name] = {
            "expression": expression,
            "target": target_arn,
            "role": role_arn,
            "payload": payload,
            "timezone": timezone,
            "enabled": enabled,
        }

    def delete(self, name: str) -> None:
        self.saved.pop(name, None)


def test_the_schedule_follows_the_active_trigger_and_the_status() -> None:
    store = _Schedules()
    schedules = WorkflowSchedules(store, ScheduleTarget(lambda: "arn:queue", lambda: "arn:role"))
    workflow = Workflow(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "Sync", "", "manual", {}, "wh_x")
    name = f"cmp-workflow-{workflow.id}"
    hourly = {"preset": "hourly", "timezone": "Asia/Tokyo"}
    schedules.sync(workflow, "schedule", hourly)  # a draft has none
    assert store.saved == {}
    workflow.status = "active"
    schedules.sync(workflow, "schedule", hourly)
    saved = store.saved[name]
    assert (saved["expression"], saved["timezone"], saved["enabled"]) == (
        "cron(0 * * * ? *)",
        "Asia/Tokyo",
        True,
    )
    assert saved["payload"]["workflow_id"] == str(workflow.id)
    assert saved["payload"]["scheduled_time"] == "<aws.scheduler.scheduled-time>"
    workflow.status = "paused"
    schedules.sync(workflow, "schedule", hourly)
    assert store.saved[name]["enabled"] is False
    workflow.status = "active"
    schedules.sync(workflow, "webhook", {})
    assert store.saved == {}


def test_the_local_runner_fires_enabled_run_time_schedules_with_their_scheduled_time() -> None:
    clock = [datetime(2026, 11, 30, 6, 59, 30, tzinfo=UTC)]
    schedule = {
        "Name": "cmp-workflow-1",
        "ScheduleExpression": "cron(0 * * * ? *)",
        "ScheduleExpressionTimezone": "Asia/Kolkata",  # +05:30: minute 0 there is minute 30 in UTC
        "State": "ENABLED",
        "Target": {
            "Arn": "arn:aws:sqs:us-east-1:1:q",
            "Input": json.dumps({"at": "<aws.scheduler.scheduled-time>"}),
        },
    }
    paused = {**schedule, "Name": "cmp-workflow-2", "State": "DISABLED"}
    delivered: list[tuple[str, str]] = []
    stop = threading.Event()
    polls = iter(
        [
            datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 7, 30, 1, tzinfo=UTC),
            datetime(2026, 11, 30, 7, 45, tzinfo=UTC),
        ]
    )

    def listed() -> list[dict[str, Any]]:
        try:
            clock[0] = next(polls)
        except StopIteration:
            stop.set()
        return [schedule, paused]

    run_scheduler(listed, lambda arn, body: delivered.append((arn, body)), stop, lambda: clock[0], 0)
    assert delivered == [("arn:aws:sqs:us-east-1:1:q", json.dumps({"at": "2026-11-30T07:30:00Z"}))]
    assert next_fire("cron(0 * * * ? *)", clock[0], "Asia/Kolkata") == datetime(
        2026, 11, 30, 8, 30, tzinfo=UTC
    )
