"""The automation's dashboard from the facts its route reads: the schedules its workflows fire on, its stored
workflow secrets, the workflow that ran last, and its usage by metric (executions first, compute time in
seconds from the metered milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.unit.capabilities.buyer_products import SUPPORT_AGENT, snapshot

from cmp.capabilities import ProductCapabilities, ensure_valid
from cmp.capabilities.configuration import validate_section
from cmp.capabilities.dashboard import DashboardSection, DashboardState, LastRun, dashboard_descriptor
from cmp.capabilities.dashboard_text import limits_from_plan, usage_from_metering, usage_text

pytestmark = pytest.mark.unit

NOW = datetime(2024, 12, 14, 14, 5, tzinfo=UTC)
HOURLY = {"cron": "0 * * * *", "timezone": "UTC"}


def automation() -> ProductCapabilities:
    """The automation category's defaults: usage metrics `api_calls`, `compute_time`, `executions`."""
    return ensure_valid({"category": "automation", "subcategory": {"automation": "scheduled"}})


def section(state: DashboardState, wanted: str, caps: ProductCapabilities | None = None) -> DashboardSection:
    for top in dashboard_descriptor(caps or automation(), state):
        for candidate in (top, *top.sections):
            if candidate.id == wanted:
                return candidate
    raise AssertionError(f"no section {wanted}")


def test_the_schedule_is_what_the_workflows_fire_on_before_the_saved_one() -> None:
    saved = {"workflow": validate_section(automation(), "workflow", {"schedule": {"interval": "1d"}})}
    assert section(DashboardState(configuration=saved), "schedule").state == "Every day"
    firing = DashboardState(configuration=saved, schedules=(HOURLY, dict(HOURLY)))
    schedule = section(firing, "schedule")
    assert (schedule.state, schedule.complete) == ("Every hour", True)
    assert schedule.data["schedule"] == {"interval": "1d", "timezone": "UTC"}
    assert schedule.data["firing"] == [HOURLY, HOURLY]
    assert section(firing, "status").data["schedule"] == "Every hour"
    paris = {"cron": "30 9 * * 1", "timezone": "Europe/Paris"}
    both = DashboardState(schedules=(HOURLY, paris))
    assert section(both, "schedule").state == "2 schedules"
    assert section(both, "status").data["schedule"] == "2 schedules"


def test_credentials_count_the_stored_secrets_and_the_names_still_missing_a_value() -> None:
    stored = section(DashboardState(secrets_set=frozenset({"DEMO_DB"})), "credentials")
    assert (stored.state, stored.complete) == ("1 secret", True)
    assert stored.data["secrets"] == [{"name": "DEMO_DB", "set": True}]
    named = validate_section(automation(), "workflow", {"secrets": ["DATABASE_URL"]})
    state = DashboardState(configuration={"workflow": named}, secrets_set=frozenset({"DEMO_DB"}))
    missing = section(state, "credentials")
    assert (missing.state, missing.complete) == ("1 of 2 secrets set", False)
    assert missing.data["secrets"] == [
        {"name": "DATABASE_URL", "set": False},
        {"name": "DEMO_DB", "set": True},
    ]


def test_status_names_the_workflow_of_the_last_run() -> None:
    failed = LastRun(at=NOW - timedelta(minutes=2), succeeded=False, workflow="Big orders")
    status = section(DashboardState(last_run=failed, now=NOW), "status")
    assert status.state == "Last run of Big orders 2 minutes ago: failure"
    assert status.data["last_run"]["workflow"] == "Big orders"
    assert section(DashboardState(last_run=failed), "status").state == "Last run of Big orders: failure"


def test_an_automation_leads_with_its_executions_unless_a_plan_bounds_another_metric() -> None:
    usage = usage_from_metering({"executions": 1, "compute_ms": 136})
    assert section(DashboardState(usage=usage), "analytics").state == "1 execution"
    bounded = DashboardState(usage=usage, limits=limits_from_plan({"apiCalls": 100}))
    assert section(bounded, "analytics").state == "0 / 100 API calls"
    both = DashboardState(usage=usage, limits=limits_from_plan({"apiCalls": 100, "executions": 5000}))
    assert section(both, "analytics").state == "1 / 5,000 executions"
    agent = DashboardState(usage={"messages": 3})
    assert section(agent, "analytics", snapshot(SUPPORT_AGENT)).state == "3 messages"


def test_compute_time_is_metered_in_milliseconds_and_shown_in_seconds() -> None:
    assert [usage_text("compute_time", ms, None) for ms in (0, 40, 136, 150, 1_000, 1_500, 3_600_000)] == [
        "0 compute seconds",
        "under 0.1 compute seconds",
        "0.1 compute seconds",
        "0.2 compute seconds",
        "1 compute second",
        "1.5 compute seconds",
        "3,600 compute seconds",
    ]
    assert usage_text("compute_time", 1_500, 60_000) == "1.5 / 60 compute seconds"


def test_usage_by_metric_sums_the_metered_metrics() -> None:
    metered = {"tokens_in": 40_000, "tokens_out": 5_000, "compute_ms": 136, "executions": 1}
    assert usage_from_metering(metered) == {**metered, "tokens": 45_000, "compute_time": 136}
    assert usage_from_metering({}) == {"tokens": 0, "compute_time": 0}
