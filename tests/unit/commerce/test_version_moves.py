"""The rules of a subscription's move to a newer product version (`cmp.commerce.versions`): which target
is allowed, the held plan must exist in it, the stored configuration must still be allowed, and a
dedicated runtime rolls the version out while the subscription cannot change again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmp.capabilities import ensure_valid
from cmp.capabilities.defaults import deep_merge
from cmp.commerce.changes import runtime_view
from cmp.commerce.model import Subscription
from cmp.commerce.versions import check_target, recheck_configuration, target_plan, version_key
from cmp.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PRO = {"id": "plan_pro", "name": "Pro", "runtimeType": "dedicated"}
FOUND = {"capabilities": {}, "plans": [PRO]}


def capabilities(tone: bool) -> dict[str, Any]:
    base = {"category": "agent", "subcategory": {"agent": "single"}}
    return ensure_valid(
        deep_merge(base, {"configuration": {"persona": {"options": {"tone": tone}}}})
    ).to_document()


def subscription(runtime_type: str = "dedicated") -> Subscription:
    ids = [uuid.uuid4() for _ in range(5)]
    return Subscription(
        *ids,
        product_version="1.2.0",
        product_name="Agent",
        product_slug="agent",
        category="agent",
        plan_id="plan_pro",
        plan={**PRO, "limits": {"old": True}},
        capabilities=capabilities(True),
        runtime_type=runtime_type,  # type: ignore[arg-type]
        status="active",
        billing_period="monthly",
        currency="USD",
        amount=9900,
        current_period_start=NOW - timedelta(days=3),
        current_period_end=NOW + timedelta(days=27),
        payment_provider="local",
        provisioning={"state": "completed"} if runtime_type == "dedicated" else {},
    )


def test_versions_are_ordered_by_number() -> None:
    assert version_key("1.10.0") > version_key("1.9.3") > version_key("1.9.0")
    with pytest.raises(Conflict, match="not a published version number"):
        version_key("latest")


def test_only_a_newer_published_version_is_a_target() -> None:
    assert check_target("1.2.0", "1.10.0", FOUND) is FOUND
    with pytest.raises(Conflict, match=r"already on version 1\.2\.0"):
        check_target("1.2.0", "1.2.0", FOUND)
    with pytest.raises(Conflict, match=r"version 1\.1\.0 is older than version 1\.2\.0") as older:
        check_target("1.2.0", "1.1.0", FOUND)
    assert older.value.errors[0].path == "version"
    with pytest.raises(Conflict, match=r"version 2\.0\.0 of this product is not published; .* holds 1\.2\.0"):
        check_target("1.2.0", "2.0.0", None)


def test_the_held_plan_must_exist_in_the_target() -> None:
    assert target_plan([PRO], "plan_pro", "2.0.0") is PRO
    with pytest.raises(Conflict, match="no longer offers plan plan_gone; its plans are plan_pro, plan_x"):
        target_plan([PRO, {"id": "plan_x"}], "plan_gone", "2.0.0")


def test_a_configuration_the_target_no_longer_allows_is_422_naming_each_field() -> None:
    stored = {"persona": {"name": "Ada", "tone": ["formal"]}}
    recheck_configuration(stored, capabilities(True))
    with pytest.raises(ValidationFailed) as refused:
        recheck_configuration(stored, capabilities(False))
    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("configuration.persona.tone", "configuration.persona.options.tone is disabled for this product")
    ]


def test_a_dedicated_subscription_rolls_the_version_out_and_cannot_change_meanwhile() -> None:
    held = subscription()
    new_plan = {**PRO, "limits": {"new": True}}

    assert held.move_version("1.3.0", new_plan, capabilities(False), NOW)

    assert (held.product_version, held.plan, held.amount) == ("1.3.0", new_plan, 9900)
    assert held.updating_version
    assert held.provisioning["version_update"] == {
        "from_version": "1.2.0",
        "to_version": "1.3.0",
        "started_at": NOW.isoformat(),
    }
    assert runtime_view(held) == {"type": "dedicated", "state": "updating", "target": "dedicated"}
    with pytest.raises(Conflict, match=r"still rolling out version 1\.3\.0"):
        held.require_changeable(NOW)

    held.version_rolled_out(NOW)

    assert not held.updating_version and held.provisioning["state"] == "completed"
    held.require_changeable(NOW)


def test_a_shared_subscription_just_moves() -> None:
    held = subscription("shared")
    assert not held.move_version("1.3.0", PRO, capabilities(True), NOW)
    assert held.product_version == "1.3.0" and held.provisioning == {}
    assert not held.updating_version
