"""The schedule and event adapters against moto: upsert by name, idempotent delete, errors as ours."""

from __future__ import annotations

import pytest

from cmp.aws.adapters import AwsUnavailable, EventBus, Schedules
from cmp.aws.clients import client

TARGET = "arn:aws:states:us-east-1:123456789012:stateMachine:cmp-test"
ROLE = "arn:aws:iam::123456789012:role/cmp-scheduler"


def test_a_schedule_is_created_replaced_and_deleted_by_name(aws: None) -> None:
    schedules = Schedules()
    schedules.put("wf-1", "rate(1 hour)", TARGET, ROLE, {"workflow_id": "1"}, timezone="Europe/Madrid")
    schedules.put("wf-1", "cron(0 9 * * ? *)", TARGET, ROLE, {"workflow_id": "1"}, enabled=False)
    stored = client("scheduler").get_schedule(Name="wf-1", GroupName="default")
    assert stored["ScheduleExpression"] == "cron(0 9 * * ? *)"
    assert stored["State"] == "DISABLED"
    assert stored["Target"]["Input"] == '{"workflow_id": "1"}'
    schedules.delete("wf-1")
    schedules.delete("wf-1")  # deleting what is gone is not an error
    assert client("scheduler").list_schedules()["Schedules"] == []


def test_an_event_is_published_and_a_refusal_is_ours(aws: None) -> None:
    events = EventBus()
    assert events.put("default", "cmp.test", "thing.happened", {"n": 1})
    with pytest.raises(AwsUnavailable):
        events.put("no-such-bus", "cmp.test", "thing.happened", {"n": 1})
