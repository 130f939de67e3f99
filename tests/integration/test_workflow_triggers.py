"""Schedule and event triggers and failure alerts against real PostgreSQL and moto: the EventBridge Scheduler
schedule follows the workflow (created on activate, disabled on pause, deleted when the trigger changes),
a firing delivered twice starts one run, a run's end reaches the workflows listening to it through the
outbox and a real EventBridge rule, usage alerts start runs only in their own organization, and a failed
run's alerts go out once."""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.catalog.paging import ProductPage
from cmp.db import Database
from cmp.errors import NotFound, Unauthorized, ValidationFailed

from .commerce_support import new_tenant
from .workflow_support import automation, drive, with_workflow_engine

SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/cmp-workflow-scheduler"


@pytest.fixture
def engine(services: Services) -> tuple[Services, str, str]:
    """(services, steps queue url, triggers queue url): schedules target the triggers queue, and an
    EventBridge rule like the template's sends the platform's events there."""
    base, steps = with_workflow_engine(services)
    sqs = client("sqs")
    triggers = sqs.create_queue(QueueName=f"triggers-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=triggers, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = client("events")
    rule = f"workflow-events-{uuid.uuid4().hex[:8]}"
    pattern = {
        "source": ["cmp.workflows", "cmp.knowledge", "cmp.gateway"],
        "detail-type": ["workflow.run.finished", "knowledge.document.indexed", "usage.alert"],
    }
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "triggers", "Arn": arn}])
    settings = replace(
        base.settings, workflow_triggers_queue_arn=arn, workflow_scheduler_role_arn=SCHEDULER_ROLE
    )
    return Services(settings=settings, db=base.db, hasher=base.hasher), steps, triggers


def _activated(services: Services, tenant: str, definition: dict[str, Any], db: Database) -> uuid.UUID:
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition})
    services.workflows.activate(tenant, workflow_id)
    return workflow_id


def _flow(trigger: dict[str, Any], *steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    nodes = [{"id": "start", **trigger}, *steps]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": nodes, "edges": edges, **top}


NOOP = {"id": "noop", "type": "transform", "config": {"set": {"ok": True}}}
BROKEN = {"id": "bad", "type": "transform", "config": {"expression": "no_such_function(input)"}}


def _triggered(services: Services, queue_url: str) -> list[str]:
    """Hand every message on the triggers queue to the trigger worker; returns what it did."""
    sqs, done = client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            done += services.workflow_triggers.handle(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return done


def _runs(services: Services, tenant: str, workflow_id: uuid.UUID) -> list[dict[str, Any]]:
    page = services.workflow_runs.page(tenant, workflow_id, None, ProductPage.from_query("50", None))
    items: list[dict[str, Any]] = page["items"]
    return items


def test_the_schedule_follows_the_workflow(db: Database, engine: tuple[Services, str, str]) -> None:
    services, _, triggers = engine
    tenant = new_tenant(db, "Scheduled Buyer")
    trigger = {"type": "schedule", "config": {"cron": "30 9 * * 1-5", "timezone": "Europe/Paris"}}
    workflow_id = _activated(services, tenant, _flow(trigger, NOOP), db)
    scheduler, name = client("scheduler"), f"cmp-workflow-{workflow_id}"
    schedule = scheduler.get_schedule(Name=name)
    assert schedule["ScheduleExpression"] == "cron(30 9 ? * MON,TUE,WED,THU,FRI *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Paris" and schedule["State"] == "ENABLED"
    arn = client("sqs").get_queue_attributes(QueueUrl=triggers, AttributeNames=["QueueArn"])["Attributes"]
    assert schedule["Target"]["Arn"] == arn["QueueArn"] and schedule["Target"]["RoleArn"] == SCHEDULER_ROLE
    target_input = json.loads(schedule["Target"]["Input"])
    assert target_input == {
        "kind": "schedule",
        "tenant_id": tenant,
        "workflow_id": str(workflow_id),
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    next_run = services.workflows.get(tenant, workflow_id)["stats"]["next_run_at"]
    local = next_run.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (9, 30) and local.isoweekday() <= 5 and next_run > datetime.now(UTC)

    paused = services.workflows.pause(tenant, workflow_id)
    assert scheduler.get_schedule(Name=name)["State"] == "DISABLED" and paused["stats"]["next_run_at"] is None
    services.workflows.resume(tenant, workflow_id)
    assert scheduler.get_schedule(Name=name)["State"] == "ENABLED"

    services.workflows.replace(tenant, workflow_id, {"definition": _flow({"type": "manual"}, NOOP)})
    assert scheduler.get_schedule(Name=name)["State"] == "ENABLED"  # not until the new version is activated
    services.workflows.activate(tenant, workflow_id)
    assert name not in [s["Name"] for s in scheduler.list_schedules()["Schedules"]]


def _on_the_hour(at: datetime | None) -> bool:
    """Whether `at` is the next firing of an hourly schedule: the next full hour."""
    ahead = (at - datetime.now(UTC)).total_seconds() if at is not None else 0
    return at is not None and (at.minute, at.second) == (0, 0) and 0 < ahead <= 3600


def test_the_next_run_follows_the_active_version_until_another_is_activated(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, _, _ = engine
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Scheduled Buyer")
    workflow_id = _activated(
        services, tenant, _flow({"type": "schedule", "config": {"preset": "hourly"}}, NOOP), db
    )
    active = services.workflows.get(tenant, workflow_id)
    assert _on_the_hour(active["stats"]["next_run_at"])

    weekly = _flow({"type": "schedule", "config": {"cron": "15 6 * * 1"}}, NOOP)
    saved = services.workflows.replace(tenant, workflow_id, {"definition": weekly})
    assert saved["trigger"]["config"] == {"cron": "15 6 * * 1"} and saved["active_version"] == 2
    assert _on_the_hour(saved["stats"]["next_run_at"])
    hooked = services.workflows.replace(tenant, workflow_id, {"definition": _flow({"type": "webhook"}, NOOP)})
    assert hooked["trigger"]["type"] == "webhook" and _on_the_hour(hooked["stats"]["next_run_at"])
    [listed] = services.workflows.list(tenant, uuid.UUID(active["subscription_id"]))
    assert listed["version"] == 4 and _on_the_hour(listed["stats"]["next_run_at"])
    assert _on_the_hour(services.workflows.get(tenant, workflow_id)["stats"]["next_run_at"])
    schedule = client("scheduler").get_schedule(Name=f"cmp-workflow-{workflow_id}")
    assert schedule["ScheduleExpression"] == "cron(0 * * * ? *)" and schedule["State"] == "ENABLED"
    assert services.workflows.pause(tenant, workflow_id)["stats"]["next_run_at"] is None
    assert _on_the_hour(services.workflows.resume(tenant, workflow_id)["stats"]["next_run_at"])

    assert services.workflows.activate(tenant, workflow_id)["stats"]["next_run_at"] is None


def _webhook_id(db: Database, tenant: str, workflow_id: uuid.UUID) -> str:
    with db.session(tenant) as session:
        row = session.fetch_one("select webhook_id from workflows where id = %s", (workflow_id,))
    assert row is not None
    return str(row["webhook_id"])


OPEN_HOOK = {"type": "webhook", "config": {"auth": "none"}}


@pytest.mark.parametrize(
    ("active", "saved", "before", "after"),
    [
        (
            OPEN_HOOK,
            {"type": "webhook", "config": {"auth": "signature"}},
            ("run of v2", "none"),
            ("Unauthorized", "signature"),
        ),
        (OPEN_HOOK, {"type": "manual"}, ("run of v2", "none"), ("NotFound", None)),
        (
            {"type": "schedule", "config": {"preset": "hourly"}},
            OPEN_HOOK,
            ("NotFound", None),
            ("run of v3", "none"),
        ),
    ],
    ids=["auth-tightened", "webhook-dropped", "webhook-added"],
)
def test_the_webhook_follows_the_active_version_until_another_is_activated(
    db: Database,
    engine: tuple[Services, str, str],
    active: dict[str, Any],
    saved: dict[str, Any],
    before: tuple[str, str | None],
    after: tuple[str, str | None],
) -> None:
    """(what an unsigned delivery gets, the `auth` of the workflow's `webhook`) stays `before` while the
    saved version waits, and is `after` once it is activated."""
    services, _, _ = engine
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Hooked Buyer")
    workflow_id = _activated(services, tenant, _flow(active, NOOP), db)
    webhook_id = _webhook_id(db, tenant, workflow_id)

    def hook() -> tuple[str, str | None]:
        webhook = services.workflows.get(tenant, workflow_id)["webhook"]
        try:
            answer = f"run of v{services.workflow_hooks.deliver(webhook_id, {}, b'{}')['version']}"
        except (NotFound, Unauthorized) as refused:
            answer = type(refused).__name__
        return answer, None if webhook is None else str(webhook["auth"])

    assert hook() == before
    shown = services.workflows.replace(tenant, workflow_id, {"definition": _flow(saved, NOOP)})
    assert shown["trigger"]["type"] == saved["type"] and shown["active_version"] == 2
    assert hook() == before
    assert (shown["webhook"] or {}).get("auth") == before[1]

    services.workflows.activate(tenant, workflow_id)
    assert hook() == after


def test_a_rate_below_the_products_minimum_is_refused_by_field(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, _, _ = engine
    tenant = new_tenant(db, "Impatient Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    too_often = _flow({"type": "schedule", "config": {"interval": "1m"}}, NOOP)
    with pytest.raises(ValidationFailed) as refused:
        services.workflows.replace(tenant, uuid.UUID(first["workflow_id"]), {"definition": too_often})
    [error] = refused.value.errors
    assert error.path == "definition.nodes[0].config.interval" and "minimum interval" in error.message
    assert client("scheduler").list_schedules()["Schedules"] == []


def test_a_firing_delivered_twice_starts_one_run(db: Database, engine: tuple[Services, str, str]) -> None:
    services, steps, _ = engine
    tenant = new_tenant(db, "Scheduled Buyer")
    workflow_id = _activated(
        services, tenant, _flow({"type": "schedule", "config": {"preset": "hourly"}}, NOOP), db
    )
    firing = {
        "kind": "schedule",
        "tenant_id": tenant,
        "workflow_id": str(workflow_id),
        "scheduled_time": "2026-12-01T09:00:00Z",
    }
    first = services.workflow_triggers.handle(firing)
    assert services.workflow_triggers.handle(dict(firing)) == first
    [run] = _runs(services, tenant, workflow_id)
    assert run["trigger_type"] == "schedule"
    detail = drive(services, steps, tenant, run["run_id"])
    assert detail["status"] == "succeeded" and detail["input"] == {"scheduled_time": "2026-12-01T09:00:00Z"}
    services.workflows.pause(tenant, workflow_id)
    assert services.workflow_triggers.handle({**firing, "scheduled_time": "2026-12-01T10:00:00Z"}) == [
        "not-active"
    ]


def test_a_finished_run_starts_the_workflows_listening_once(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, steps, triggers = engine
    tenant = new_tenant(db, "Chained Buyer")
    source = _activated(services, tenant, _flow({"type": "manual"}, NOOP), db)
    listener = _activated(
        services,
        tenant,
        _flow(
            {"type": "event", "config": {"event": "workflow.run.finished", "workflowId": str(source)}}, NOOP
        ),
        db,
    )
    run = services.workflow_runs.start(tenant, source, {"n": 1})
    drive(services, steps, tenant, run["run_id"])
    [sent] = client("sqs").receive_message(QueueUrl=triggers)["Messages"]  # through the rule, from the outbox
    event = json.loads(sent["Body"])
    assert event["detail-type"] == "workflow.run.finished" and event["detail"]["run_id"] == run["run_id"]
    started = services.workflow_triggers.handle(event)
    assert services.workflow_triggers.handle(event) == started  # redelivered: the same run
    [chained] = _runs(services, tenant, listener)
    assert chained["trigger_type"] == "event"
    detail = drive(services, steps, tenant, chained["run_id"])
    assert detail["input"]["event_id"] == f"run:{run['run_id']}" and detail["input"]["chain"] == 1
    # the listener's own end is an event too, and it does not listen to itself
    assert _triggered(services, triggers) == []
    assert len(_runs(services, tenant, listener)) == 1


def test_a_usage_alert_starts_runs_in_its_own_organization_only(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, _, _ = engine
    listening = _flow({"type": "event", "config": {"event": "usage.alert", "minThreshold": 80}}, NOOP)
    tenant, other = new_tenant(db, "Metered Buyer"), new_tenant(db, "Bystander")
    mine, theirs = _activated(services, tenant, listening, db), _activated(services, other, listening, db)
    alert = {
        "tenant_id": tenant,
        "subscription_id": str(uuid.uuid4()),
        "quota": "executions",
        "threshold": 80,
        "used": 800,
        "limit": 1000,
        "period_start": "2026-11-01T00:00:00+00:00",
        "resets_at": "2026-12-01T00:00:00+00:00",
    }
    event = {"id": "e1", "source": "cmp.gateway", "detail-type": "usage.alert", "detail": alert}
    assert len(services.workflow_triggers.handle(event)) == 1
    assert services.workflow_triggers.handle({**event, "id": "e2"}) == services.workflow_triggers.handle(
        event
    )
    assert len(_runs(services, tenant, mine)) == 1 and _runs(services, other, theirs) == []
    assert services.workflow_triggers.handle({**event, "detail": {**alert, "threshold": 50}}) == []


class _Sink(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(
            {
                "path": self.path,
                "body": json.loads(body),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def sink() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local incoming-webhook receiver: (base URL, what it received)."""
    received: list[dict[str, Any]] = []
    handler = type("Sink", (_Sink,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_a_failed_run_alerts_once_on_each_channel(
    db: Database, engine: tuple[Services, str, str], sink: tuple[str, list[dict[str, Any]]]
) -> None:
    services, steps, triggers = engine
    url, received = sink
    tenant = new_tenant(db, "Alerted Buyer")
    alerts = {
        "onFailure": [
            {"channel": "slack", "url": f"{url}/slack"},
            {"channel": "webhook", "url": f"{url}/hook", "signingKey": "k" * 32},
        ]
    }
    workflow_id = _activated(services, tenant, _flow({"type": "manual"}, BROKEN, alerts=alerts), db)
    run = services.workflow_runs.start(tenant, workflow_id, {})
    assert drive(services, steps, tenant, run["run_id"])["status"] == "failed"
    [sent] = client("sqs").receive_message(QueueUrl=triggers)["Messages"]
    event = json.loads(sent["Body"])
    assert services.workflow_triggers.handle(event) == ["alert:slack:sent", "alert:webhook:sent"]
    assert services.workflow_triggers.handle(event) == []  # a redelivered event alerts nobody again
    assert [r["path"] for r in received] == ["/slack", "/hook"]
    assert "failed" in received[0]["body"]["text"] and run["run_id"] in received[0]["body"]["text"]
    assert (
        received[1]["body"]["type"] == "workflow.run.failed"
        and received[1]["body"]["error"] == "Transform.Invalid"
    )
    assert received[1]["headers"]["x-cmp-signature"].startswith("t=")
    with db.session(tenant) as session:
        row = session.fetch_one("select results from workflow_run_alerts where run_id = %s", (run["run_id"],))
    assert row is not None and [r["status"] for r in row["results"]] == ["sent", "sent"]


def test_alert_channels_and_event_filters_are_checked(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, _, _ = engine
    tenant = new_tenant(db, "Careless Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    bad = _flow(
        {"type": "event", "config": {"event": "workflow.run.finished", "status": "maybe"}},
        NOOP,
        alerts={"onFailure": [{"channel": "pager"}, {"channel": "email", "to": "nobody"}]},
    )
    with pytest.raises(ValidationFailed) as refused:
        services.workflows.replace(tenant, uuid.UUID(first["workflow_id"]), {"definition": bad})
    assert {e.path for e in refused.value.errors} == {
        "definition.nodes[0].config.status",
        "definition.alerts.onFailure[0].channel",
        "definition.alerts.onFailure[1].to",
    }


def test_an_indexed_document_starts_the_workflows_watching_its_knowledge_base(
    db: Database, engine: tuple[Services, str, str]
) -> None:
    services, _, _ = engine
    tenant = new_tenant(db, "Curious Buyer")
    base = str(uuid.uuid4())
    watching = _flow(
        {"type": "event", "config": {"event": "knowledge.document.indexed", "knowledgeBaseId": base}}, NOOP
    )
    workflow_id = _activated(services, tenant, watching, db)
    detail = {
        "event_id": f"document:{uuid.uuid4()}:1",
        "tenant_id": tenant,
        "knowledge_base_id": base,
        "document_id": str(uuid.uuid4()),
        "chunks": 3,
    }
    event = {"source": "cmp.knowledge", "detail-type": "knowledge.document.indexed", "detail": detail}
    assert (
        services.workflow_triggers.handle({**event, "detail": {**detail, "knowledge_base_id": "other"}}) == []
    )
    [started] = services.workflow_triggers.handle(event)
    [run] = _runs(services, tenant, workflow_id)
    assert started == f"run:{run['run_id']}" and run["trigger_type"] == "event"
