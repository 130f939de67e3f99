"""The subscription's rules for an upgrade from the shared to a dedicated runtime: it keeps running on the
shared runtime (`runtime_type`) until its runtime is ready, cannot change again meanwhile, and a failure
leaves it on the shared runtime with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from cmp.commerce.changes import runtime_view
from cmp.commerce.model import Subscription
from cmp.errors import Conflict

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ENTERPRISE = {"id": "plan_enterprise", "name": "Enterprise", "runtimeType": "dedicated"}


def shared_subscription() -> Subscription:
    ids = [uuid.uuid4() for _ in range(5)]
    return Subscription(
        *ids,
        product_version="1.0.0",
        product_name="Agent",
        product_slug="agent",
        category="agent",
        plan_id="plan_pro",
        plan={"id": "plan_pro", "name": "Pro", "runtimeType": "shared"},
        capabilities={},
        runtime_type="shared",
        status="active",
        billing_period="monthly",
        currency="USD",
        amount=9900,
        current_period_start=NOW - timedelta(days=3),
        current_period_end=NOW + timedelta(days=27),
        payment_provider="local",
    )


def upgraded() -> Subscription:
    subscription = shared_subscription()
    subscription.change_plan(ENTERPRISE, "monthly", 99900)
    subscription.start_upgrade("plan_pro", NOW)
    return subscription


def test_the_upgrade_runs_on_shared_until_provisioning_completes() -> None:
    subscription = upgraded()
    assert (subscription.plan_id, subscription.runtime_type, subscription.status) == (
        "plan_enterprise",
        "shared",
        "active",
    )
    assert subscription.upgrading and subscription.awaits_runtime
    assert runtime_view(subscription) == {"type": "shared", "state": "pending", "target": "dedicated"}
    with pytest.raises(Conflict, match="still being provisioned"):
        subscription.require_changeable(NOW)

    subscription.provisioning_succeeded(NOW)

    assert (subscription.runtime_type, subscription.status) == ("dedicated", "active")
    assert not subscription.awaits_runtime
    assert runtime_view(subscription) == {"type": "dedicated", "state": "completed", "target": "dedicated"}


def test_a_failed_upgrade_stays_on_shared_with_its_reason() -> None:
    subscription = upgraded()
    subscription.provisioning_failed("runtime provisioning failed (RolloutFailed): stalled", NOW)
    assert (subscription.runtime_type, subscription.status) == ("shared", "active")
    assert subscription.status_reason == "runtime provisioning failed (RolloutFailed): stalled"
    assert not subscription.upgrading
    assert runtime_view(subscription) == {"type": "shared", "state": "failed", "target": "shared"}


def test_a_cancelled_upgrade_no_longer_awaits_its_runtime() -> None:
    subscription = upgraded()
    subscription.cancel(NOW, at_period_end=False, reason=None)
    assert not subscription.awaits_runtime and subscription.runtime_type == "shared"
