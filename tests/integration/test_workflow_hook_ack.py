"""A webhook's 202 needs only the committed run and its outbox row: the execution's start is relayed after the
answer, and a process that dies between the commit and that relay loses nothing (the outbox sweep starts
it). In AWS Lambda, which may freeze the process once it has answered, the start is relayed before the
answer. A body over the run input's limit is refused naming `body`, before the gateway counts it."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services, bootstrap
from cmp.config import Settings
from cmp.db import Database
from cmp.errors import ValidationFailed
from cmp.workflows.actions import sign

from .commerce_support import new_tenant
from .conftest import Postgres
from .workflow_support import automation, drive, with_workflow_engine

HOOKED: dict[str, Any] = {
    "nodes": [
        {"id": "hook", "type": "webhook", "config": {"method": "POST", "auth": "signature"}},
        {"id": "echo", "type": "transform", "config": {"expression": "input.order"}},
    ],
    "edges": [{"source": "hook", "target": "echo"}],
}


@pytest.fixture
def hooked(services: Services, db: Database) -> tuple[Services, str, str, dict[str, Any]]:
    """(services with a workflow engine, steps queue, tenant, the active workflow's `webhook`)."""
    services, queue = with_workflow_engine(services)
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Automation Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": HOOKED, "name": "Orders"})
    services.workflows.activate(tenant, workflow_id)
    return services, queue, tenant, services.workflows.get(tenant, workflow_id)["webhook"]


def _deliver(services: Services, hook: dict[str, Any], body: bytes, delivery: str) -> dict[str, Any]:
    headers = {
        "X-CMP-Signature": sign(hook["signing_key"], body, int(time.time())),
        "X-Delivery-Id": delivery,
    }
    return services.workflow_hooks.deliver(hook["path"].rsplit("/", 1)[1], headers, body)


def _execution(services: Services, tenant: str, run_id: str) -> dict[str, Any] | None:
    """The run's Step Functions execution, or None when none was started."""
    with services.db.session(tenant) as session:
        row = session.fetch_one("select execution_arn from workflow_runs where id = %s", (run_id,))
    assert row is not None
    try:
        execution: dict[str, Any] = client("stepfunctions").describe_execution(
            executionArn=row["execution_arn"]
        )
    except client("stepfunctions").exceptions.ExecutionDoesNotExist:
        return None
    return execution


def test_a_delivery_is_answered_before_its_start_which_follows(
    hooked: tuple[Services, str, str, dict[str, Any]],
) -> None:
    services, queue, tenant, hook = hooked
    sent: list[list[Any]] = []
    relay = services.outbox_relay
    deliver_later = relay.deliver_later
    relay.deliver_later = lambda messages: sent.append(list(messages))  # type: ignore[method-assign]
    run = _deliver(services, hook, b'{"order": "A-1"}', "ack-1")
    assert run["status"] == "running" and _execution(services, tenant, run["run_id"]) is None
    [[start]] = sent
    assert start.kind == "stepfunctions" and start.name == run["run_id"]
    deliver_later(sent[0])
    assert drive(services, queue, tenant, run["run_id"])["steps"][0]["output"] == {"value": "A-1"}


def test_in_lambda_the_start_is_relayed_before_the_answer(
    hooked: tuple[Services, str, str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    assert Settings().relay_after_response is False
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API")
    assert Settings().relay_after_response is True
    services, queue, tenant, hook = hooked
    in_lambda = Services(
        settings=replace(services.settings, relay_after_response=False),
        db=services.db,
        hasher=services.hasher,
    )
    in_lambda.workflow_hook_key = services.workflow_hook_key
    in_lambda.outbox_relay.deliver_later = lambda messages: pytest.fail("relayed after the answer")  # type: ignore[method-assign]
    run = _deliver(in_lambda, hook, b'{"order": "L-1"}', "lambda-1")
    execution = _execution(services, tenant, run["run_id"])
    assert execution is not None and json.loads(execution["input"])["input"] == {"order": "L-1"}
    assert drive(services, queue, tenant, run["run_id"])["status"] == "succeeded"


class _CrashWhenSending:
    """A state machine client whose process dies when the relay starts an execution, once `answered`."""

    def __init__(self) -> None:
        self.answered = threading.Event()

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        self.answered.wait(30)
        os._exit(1)


def test_a_crash_between_the_answer_and_the_relay_loses_no_run(
    hooked: tuple[Services, str, str, dict[str, Any]], postgres: Postgres
) -> None:
    services, queue, tenant, hook = hooked
    answers, written = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child answers the delivery, then dies as its relay starts the execution
        try:
            os.close(answers)
            machines = _CrashWhenSending()
            child = bootstrap(
                services.settings,
                db=Database(postgres.app_url),
                machines=machines,
                workflow_hook_key=services.workflow_hook_key,
            )
            os.write(written, _deliver(child, hook, b'{"order": "B-2"}', "crash-1")["run_id"].encode())
            machines.answered.set()
            time.sleep(30)
        finally:
            os._exit(3)  # only reached when the relay did not crash the process
    os.close(written)
    _, status = os.waitpid(pid, 0)
    run_id = os.read(answers, 64).decode()
    os.close(answers)
    assert os.waitstatus_to_exitcode(status) == 1 and run_id
    assert _execution(services, tenant, run_id) is None
    again = _deliver(services, hook, b'{"order": "B-2"}', "crash-1")
    assert again["run_id"] == run_id and _execution(services, tenant, run_id) is None
    report = services.outbox_relay.sweep(older_than_seconds=0)
    assert report.sent == 1 and report.failed == 0
    execution = _execution(services, tenant, run_id)
    assert execution is not None and json.loads(execution["input"])["input"] == {"order": "B-2"}
    assert drive(services, queue, tenant, run_id)["status"] == "succeeded"
    assert services.outbox_relay.sweep(older_than_seconds=0).sent == 0


def test_a_body_over_the_input_limit_names_body_and_starts_nothing(
    hooked: tuple[Services, str, str, dict[str, Any]],
) -> None:
    services, _, tenant, hook = hooked
    for body in (json.dumps({"order": "x" * 70_000}).encode(), b"x" * 70_000):
        with pytest.raises(ValidationFailed) as refused:
            _deliver(services, hook, body, "too-large")
        assert [(e.path, e.message) for e in refused.value.errors] == [("body", "at most 64 KiB of JSON")]
    with services.db.session(tenant) as session:
        row = session.fetch_one("select count(*) as n from workflow_runs where trigger_type = 'webhook'")
    assert row is not None and row["n"] == 0
