"""An automation's dashboard through the real handler and database, as the demo automation's trial read it:
the schedule its workflows fire on, its workflow secrets, which workflow ran last, and its executions and
compute time this period."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.metering.model import UsageEvent

from .commerce_support import portal_runtime
from .conftest import Platform, caller_of
from .test_configuration_api import add_runs, add_workflow, call
from .workflow_support import automation


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Automation Dashboard Buyer", "buyer")


def sections(
    platform: Platform, db: Database, owner: dict[str, str], subscription_id: uuid.UUID
) -> dict[str, Any]:
    """The dashboard's sections and subsections by id."""
    path = f"/v1/subscriptions/{subscription_id}/dashboard"
    code, board = call(platform, "GET", path, portal_runtime(db, owner, subscription_id))
    assert code == 200, board
    found = {}
    for section in board["sections"]:
        found[section["id"]] = section
        found.update({part["id"]: part for part in section["sections"]})
    return found


def add_secret(db: Database, tenant_id: str, subscription_id: uuid.UUID, name: str) -> None:
    """A stored workflow secret: its sealed value is bytes the dashboard has no key for."""
    with db.session(tenant_id) as session:
        session.execute(
            "insert into workflow_secrets (id, tenant_id, subscription_id, name, wrapped_key, nonce, ciphertext)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            (uuid.uuid4(), tenant_id, subscription_id, name, b"wrapped", b"n" * 12, b"sealed"),
        )


def test_configure_shows_the_schedule_its_workflows_fire_on_and_its_stored_secrets(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: beside an active workflow scheduled hourly and a stored secret DEMO_DB, Configure
    said "Not scheduled" and "No secrets yet" (0 of 3 set up) and Status's schedule was null."""
    subscription = automation(db, buyer["tenant_id"])
    other = automation(db, buyer["tenant_id"])
    stranger = caller_of(services, "Other Secrets Buyer", "buyer")
    strangers = automation(db, stranger["tenant_id"])
    before = sections(platform, db, buyer, subscription.id)
    assert (before["schedule"]["state"], before["credentials"]["state"]) == (
        "Not scheduled",
        "No secrets yet",
    )
    assert before["configure"]["state"] == "0 of 3 set up"

    now = datetime.now(UTC)
    # a paused workflow's schedule fires nothing; another subscription's and organization's are theirs
    add_workflow(db, buyer["tenant_id"], subscription.id, {"interval": "15m"}, now, "paused")
    add_workflow(db, buyer["tenant_id"], subscription.id, {"preset": "hourly"}, now)
    add_workflow(db, buyer["tenant_id"], other.id, {"interval": "2h"}, now)
    add_secret(db, buyer["tenant_id"], subscription.id, "DEMO_DB")
    add_secret(db, buyer["tenant_id"], other.id, "CRM_TOKEN")
    add_secret(db, stranger["tenant_id"], strangers.id, "STRANGERS_KEY")

    after = sections(platform, db, buyer, subscription.id)
    assert (after["schedule"]["state"], after["schedule"]["complete"]) == ("Every hour", True)
    assert after["status"]["data"]["schedule"] == "Every hour"
    assert (after["credentials"]["state"], after["credentials"]["complete"]) == ("1 secret", True)
    assert after["credentials"]["data"]["secrets"] == [{"name": "DEMO_DB", "set": True}]
    assert after["configure"]["state"] == "2 of 3 set up"
    assert sections(platform, db, buyer, other.id)["schedule"]["state"] == "Every 2 hours"
    strangers_board = sections(platform, db, stranger, strangers.id)
    assert strangers_board["credentials"]["data"]["secrets"] == [{"name": "STRANGERS_KEY", "set": True}]
    assert strangers_board["schedule"]["state"] == "Not scheduled"


def test_status_names_the_workflow_that_ran_last(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: after Data Sync succeeded, a failing "Big orders" run made Status read "Last run
    2 minutes ago: failure", which a buyer reads as Data Sync failing."""
    subscription = automation(db, buyer["tenant_id"])
    now = datetime.now(UTC)
    add_runs(
        db,
        buyer["tenant_id"],
        subscription.id,
        {
            "status": "succeeded",
            "created_at": now - timedelta(minutes=30),
            "completed_at": now - timedelta(minutes=29),
        },
        name="Data Sync Automation",
    )
    add_runs(
        db,
        buyer["tenant_id"],
        subscription.id,
        {
            "status": "failed",
            "created_at": now - timedelta(minutes=3),
            "completed_at": now - timedelta(minutes=2),
        },
        name="Big orders",
    )
    status = sections(platform, db, buyer, subscription.id)["status"]
    assert status["state"] == "Last run of Big orders 2 minutes ago: failure"
    last_run = status["data"]["last_run"]
    assert (last_run["workflow"], last_run["succeeded"], last_run["ago"]) == (
        "Big orders",
        False,
        "2 minutes ago",
    )


def test_analytics_leads_with_executions_and_shows_the_metered_compute_time(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: the automation's Analytics read "0 API calls" beside 1 execution, and its compute
    time "0 compute seconds" while `GET …/usage` showed `compute_ms: 136`."""
    subscription = automation(db, buyer["tenant_id"])
    with db.unit_of_work(buyer["tenant_id"]) as uow:
        for metric, quantity in (("executions", 1), ("compute_ms", 136)):
            uow.usage.record(
                UsageEvent(subscription.id, metric, quantity, datetime.now(UTC), f"test-{uuid.uuid4()}")
            )
        uow.commit()
    analytics = sections(platform, db, buyer, subscription.id)["analytics"]
    assert analytics["state"] == "1 execution"
    metrics = {m["metric"]: (m["used"], m["text"]) for m in analytics["data"]["metrics"]}
    assert metrics == {
        "api_calls": (0, "0 API calls"),
        "compute_time": (136, "0.1 compute seconds"),
        "executions": (1, "1 execution"),
    }


def set_failure_alerts(
    db: Database, tenant_id: str, subscription_id: uuid.UUID, status: str, version: int, alerts: list[Any]
) -> None:
    """Give version `version` of the subscription's `status` workflows the definition's failure alerts."""
    with db.session(tenant_id) as session:
        session.execute(
            "update workflow_versions v set definition = jsonb_set(v.definition, '{alerts}', %s::jsonb)"
            " from workflows w where w.id = v.workflow_id and w.subscription_id = %s and w.status = %s"
            " and v.version = %s",
            (json.dumps({"onFailure": alerts}), subscription_id, status, version),
        )


def test_alerts_counts_the_failure_alerts_of_its_active_workflows(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: a workflow whose definition sends its failures to Slack and e-mail left Configure's
    Alerts at "No alerts": only alerts saved in the workflow section were counted."""
    subscription = automation(db, buyer["tenant_id"])
    assert sections(platform, db, buyer, subscription.id)["alerts"]["state"] == "No alerts"

    now = datetime.now(UTC)
    add_workflow(db, buyer["tenant_id"], subscription.id, {"interval": "1h"}, now)
    add_workflow(db, buyer["tenant_id"], subscription.id, {"interval": "1h"}, now, "paused")
    add_workflow(db, buyer["tenant_id"], subscription.id, {"interval": "1h"}, now, "draft")
    slack = {"channel": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"}
    email = {"channel": "email", "to": ["ops@example.com"]}
    set_failure_alerts(db, buyer["tenant_id"], subscription.id, "active", 1, [slack, email])
    # a paused workflow sends nothing; a draft has no active version
    for status in ("paused", "draft"):
        set_failure_alerts(db, buyer["tenant_id"], subscription.id, status, 1, [slack])

    alerts = sections(platform, db, buyer, subscription.id)["alerts"]
    assert (alerts["state"], alerts["complete"]) == ("2 alerts", True)
    assert alerts["data"]["workflow_alerts"] == [
        {"workflow": "Sync", "channel": "slack"},
        {"workflow": "Sync", "channel": "email"},
    ]  # the channel only: a Slack URL or a webhook's signing key stays in the definition
    assert alerts["data"]["alerts"] == []
