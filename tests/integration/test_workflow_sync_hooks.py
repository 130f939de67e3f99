"""Synchronous webhooks against real PostgreSQL and moto Step Functions: the delivery waits for its run and
answers with the last step's output; a run that outlasts `waitSeconds` is answered with its id (202)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database

from .commerce_support import new_tenant
from .workflow_support import automation, with_workflow_engine


def _definition(wait: int) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "hook", "type": "webhook", "config": {"mode": "sync", "waitSeconds": wait}},
            {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}},
        ],
        "edges": [{"source": "hook", "target": "total"}],
    }


@pytest.fixture
def engine(services: Services) -> tuple[Services, str]:
    engine_services, queue = with_workflow_engine(services)
    engine_services.workflow_hook_key = lambda: "hook-secret-for-tests"
    return engine_services, queue


@pytest.fixture
def worker(engine: tuple[Services, str]) -> Iterator[None]:
    """The step worker answering the steps queue in the background, as the SQS event source would."""
    services, queue = engine
    stop = threading.Event()

    def pump() -> None:
        sqs = client("sqs")
        while not stop.is_set():
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                services.step_worker.handle(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            stop.wait(0.02)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def _hook(services: Services, db: Database, wait: int) -> str:
    tenant = new_tenant(db, "Hook Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": _definition(wait)})
    saved = services.workflows.activate(tenant, workflow_id)
    return str(saved["webhook"]["path"]).rsplit("/", 1)[1]


def test_a_synchronous_webhook_answers_with_the_result(
    db: Database, engine: tuple[Services, str], worker: None
) -> None:
    services, _ = engine
    webhook_id = _hook(services, db, 15)
    delivered = services.workflow_hooks.respond(webhook_id, {}, b'{"amounts": [1, 2, 3]}')
    answer, finished = delivered.answer, delivered.finished
    assert finished and answer["status"] == "succeeded", answer
    assert answer["output"] == {"value": 6}


def test_a_run_longer_than_the_wait_is_answered_with_its_id(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, _ = engine
    webhook_id = _hook(services, db, 1)
    delivered = services.workflow_hooks.respond(webhook_id, {}, b'{"amounts": [1]}')
    answer, finished = delivered.answer, delivered.finished
    assert not finished and answer["status"] == "running" and "output" not in answer
