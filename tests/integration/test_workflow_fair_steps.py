"""Workflow steps queued fairly by tenant and metered once, on real PostgreSQL and moto (SQS, Step Functions),
through the step worker function's own path (`StepWorker.take` inside `cmp.jobs.run_sqs_batch`, which
reports a fair job finished): a state machine's step message becomes a fair job of its tenant, one tenant's
flood of 500 steps does not hold back another tenant's 10, a redelivered message is queued and metered once,
and a poison step is dead-lettered with its reason and frees its tenant's slot."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from typing import Any

import psycopg
from aws_lambda_powertools import Logger

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database
from cmp.db.outbox import FAIR_JOB_ATTRIBUTE, FAIR_SHARES
from cmp.jobs import run_sqs_batch
from cmp.workflows.messages import StepMessage
from cmp_dev.local.events import sqs_event
from cmp_dev.local.functions import LambdaContext
from tests.fair_load import Consumers, depth, send_steps, step_message, tenant_on_plan

from .commerce_support import new_tenant
from .test_workflows import ORDERS, SYNC, _activated
from .workflow_support import automation, with_workflow_engine


def _steps_services(services: Services, url: str) -> Services:
    return Services(
        settings=replace(services.settings, workflow_steps_queue_url=url),
        db=services.db,
        hasher=services.hasher,
    )


def _outbox_rows(owner_conn: psycopg.Connection[Any], tenant: str) -> int:
    row = owner_conn.execute("select count(*) from outbox where tenant_id = %s", (tenant,)).fetchone()
    return int(row[0]) if row else 0


def test_a_flood_of_500_steps_does_not_hold_back_another_tenants_10(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    url = str(client("sqs").create_queue(QueueName="fair-steps")["QueueUrl"])
    steps = _steps_services(services, url)
    flooder, quiet = tenant_on_plan(db, "starter"), tenant_on_plan(db, "starter")
    for n in range(500):  # the flooder's 500 step messages, taken by the function (moto's receives are slow)
        steps.step_worker.take(step_message(flooder, n))
    assert _outbox_rows(owner_conn, flooder) == 500
    assert depth(url) == FAIR_SHARES["starter"]  # the rest of the flood waits in the outbox
    with Consumers(steps, url, workers=1, work_seconds=0, steps=True) as consumers:
        consumers.wait_for(5, timeout=60)  # busy with the flood
        before = len(consumers.started)
        send_steps(quiet, url, 10)  # as the quiet tenant's state machines send them: straight to the queue
        deadline = time.monotonic() + 120
        while sum(1 for s in consumers.started if s.tenant == quiet) < 10:
            assert time.monotonic() < deadline, "the quiet tenant's steps did not all run in 120 s"
            time.sleep(0.01)
    order = [s.tenant for s in consumers.started[before:]]
    last_quiet = max(i for i, tenant in enumerate(order) if tenant == quiet)
    # Alone, its 10 steps take 10 turns; beside the flood they alternate with the flood's steps: at most
    # one flood step per quiet step, plus the flood's share already in the queue ahead.
    assert order.count(quiet) == 10
    assert last_quiet < 2 * 10 + FAIR_SHARES["starter"], order
    assert sorted(s.n for s in consumers.started if s.tenant == quiet) == list(range(10))
    flooded = [s for s in consumers.started if s.tenant == flooder]
    assert len(flooded) < 500  # the flood was still running when the quiet tenant's steps were done


def _pump(services: Services, url: str, dlq: str, seen: list[dict[str, Any]]) -> int:
    """One receive of the step worker function's path; appends each message taken to `seen`."""
    sqs = client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return 0
    seen.extend(messages)
    run_sqs_batch(
        sqs_event(messages, arn),
        LambdaContext("workflow-step-worker", 60),  # type: ignore[arg-type]
        model=StepMessage,
        handle=lambda m: services.step_worker.take(m.model_dump()),
        logger=Logger(service="steps", level="WARNING"),
        queues=services.queues,
        dlq_url=dlq,
        finished=services.outbox_relay.finished,
    )
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


def _compute(owner_conn: psycopg.Connection[Any], subscription_id: uuid.UUID) -> list[tuple[str, int]]:
    return [
        (str(key), int(quantity))
        for key, quantity in owner_conn.execute(
            "select dedup_key, quantity from usage_records where subscription_id = %s and metric = 'compute_ms'"
            " order by dedup_key",
            (subscription_id,),
        ).fetchall()
    ]


def test_a_run_through_the_fair_queue_meters_each_step_once_even_when_redelivered(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    engine, url = with_workflow_engine(services)
    dlq = str(client("sqs").create_queue(QueueName=f"steps-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    tenant = new_tenant(db, "Automation Buyer")
    subscription = automation(db, tenant)
    workflow_id = _activated(engine, tenant, subscription.id, SYNC)
    run = engine.workflow_runs.start(tenant, uuid.UUID(workflow_id), ORDERS)
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while engine.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))["status"] == "running":
        assert time.monotonic() < deadline, "the run did not finish in 60 s"
        if not _pump(engine, url, dlq, seen):
            time.sleep(0.02)
    detail = engine.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))
    assert detail["status"] == "succeeded", detail
    raw = [m for m in seen if json.loads(m["Body"])["kind"] == "step" and "fair" not in m["Body"]]
    fair = [m for m in seen if FAIR_JOB_ATTRIBUTE in m.get("MessageAttributes", {})]
    assert len(raw) == len(fair) == len(detail["steps"]) == 4  # pick, line x 2, ids: each queued fairly once
    metered = _compute(owner_conn, subscription.id)
    assert len(metered) == 4 and all(key.startswith("step:") for key, _ in metered)
    assert sorted(q for _, q in metered) == sorted(s["duration_ms"] for s in detail["steps"])

    # SQS delivers a step message again: the state machine's copy is queued no second time, the fair copy
    # runs the step again (its task token is answered already) and meters nothing more.
    rows = _outbox_rows(owner_conn, tenant)
    engine.step_worker.take(json.loads(raw[0]["Body"]))
    assert _outbox_rows(owner_conn, tenant) == rows
    engine.step_worker.take(json.loads(fair[0]["Body"]))
    assert _compute(owner_conn, subscription.id) == metered
    usage = engine.usage_views.subscription_usage(tenant, subscription.id)["usage"]
    assert usage["compute_ms"]["used"] == sum(q for _, q in metered)


def test_a_poison_step_is_dead_lettered_with_its_reason_and_frees_its_slot(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    url = str(client("sqs").create_queue(QueueName="fair-steps-poison")["QueueUrl"])
    dlq = str(client("sqs").create_queue(QueueName="fair-steps-poison-dlq")["QueueUrl"])
    steps = _steps_services(services, url)
    tenant = tenant_on_plan(db, "starter")
    send_steps(tenant, url, 1)  # a step of a run that does not exist
    seen: list[dict[str, Any]] = []
    for _ in range(50):
        _pump(steps, url, dlq, seen)
        if (
            client("sqs").get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
            != "0"
        ):
            break
    [dead] = client("sqs").receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert "no longer exists" in dead["MessageAttributes"]["cmp-failure-reason"]["StringValue"]
    assert json.loads(dead["Body"])["fair"] is True
    row = owner_conn.execute(
        "select count(*) filter (where done_at is not null), count(*) from outbox where tenant_id = %s",
        (tenant,),
    ).fetchone()
    assert row == (1, 1)  # reported finished: the tenant's slot is free
