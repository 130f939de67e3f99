"""SQS job plumbing with a fake queue adapter: what is retried, what is dead-lettered and why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from pydantic import BaseModel

from cmp.errors import PoisonMessage
from cmp.jobs import run_sqs_batch
from cmp_dev.local.events import sqs_event
from cmp_dev.local.functions import LambdaContext


class Job(BaseModel):
    n: int


class FakeQueues:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def send_raw(self, queue_url: str, body: str, attributes: dict[str, str]) -> None:
        self.sent.append((queue_url, body, attributes))


def _event(*bodies: str, attempt: int = 1) -> dict[str, Any]:
    return sqs_event(
        [
            {
                "MessageId": f"m{i}",
                "ReceiptHandle": f"r{i}",
                "Body": b,
                "Attributes": {"ApproximateReceiveCount": str(attempt)},
            }
            for i, b in enumerate(bodies)
        ],
        "arn:aws:sqs:us-east-1:123456789012:jobs",
    )


def _run(event: dict[str, Any], handle: Any, queues: FakeQueues) -> dict[str, Any]:
    return run_sqs_batch(
        event,
        LambdaContext("t", 3),
        model=Job,
        handle=handle,
        logger=Logger(service="t"),
        queues=queues,
        dlq_url="dlq",
        max_receives=3,
    )  # type: ignore[arg-type]


def test_good_messages_succeed_and_bad_ones_go_to_the_dlq_with_a_reason() -> None:
    queues, seen = FakeQueues(), []
    result = _run(
        _event(json.dumps({"n": 1}), "{oops", json.dumps({"n": "x"})), lambda j: seen.append(j.n), queues
    )
    assert result == {"batchItemFailures": []}
    assert seen == [1]
    reasons = [a["cmp-failure-reason"] for _, _, a in queues.sent]
    assert reasons[0].startswith("invalid message: JSONDecodeError")
    assert "ValidationError" in reasons[1]
    assert [body for _, body, _ in queues.sent] == ["{oops", json.dumps({"n": "x"})]


def test_poison_raised_by_the_job_is_dead_lettered_not_retried() -> None:
    queues = FakeQueues()

    def refuse(job: Job) -> None:
        raise PoisonMessage("product was deleted")

    assert _run(_event(json.dumps({"n": 1})), refuse, queues) == {"batchItemFailures": []}
    assert queues.sent[0][2]["cmp-failure-reason"] == "product was deleted"


def test_transient_failures_are_retried_until_the_last_attempt() -> None:
    def flaky(job: Job) -> None:
        raise TimeoutError("db timeout")

    queues = FakeQueues()
    assert _run(_event(json.dumps({"n": 1}), attempt=2), flaky, queues) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    assert queues.sent == []
    assert _run(_event(json.dumps({"n": 1}), attempt=3), flaky, queues) == {"batchItemFailures": []}
    assert "failed after 3 attempts: TimeoutError: db timeout" in queues.sent[0][2]["cmp-failure-reason"]


def test_without_a_dlq_a_poison_message_fails_its_item() -> None:
    result = run_sqs_batch(
        _event("{oops"),
        LambdaContext("t", 3),
        model=Job,
        handle=lambda j: None,
        logger=Logger(service="t"),
        queues=FakeQueues(),
        dlq_url="",
    )  # type: ignore[arg-type]
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


@pytest.mark.parametrize("attempt", [1, 2])
def test_partial_batches_report_only_the_failed_item(attempt: int) -> None:
    def only_odd(job: Job) -> None:
        if job.n % 2 == 0:
            raise RuntimeError("even")

    result = _run(_event(json.dumps({"n": 1}), json.dumps({"n": 2}), attempt=attempt), only_odd, FakeQueues())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}


def _fair_event(job_ids: list[str], attempt: int = 1) -> dict[str, Any]:
    return sqs_event(
        [
            {
                "MessageId": f"m{i}",
                "ReceiptHandle": f"r{i}",
                "Body": json.dumps({"n": i}),
                "Attributes": {"ApproximateReceiveCount": str(attempt)},
                "MessageAttributes": {"cmp_fair_job": {"DataType": "String", "StringValue": job}},
            }
            for i, job in enumerate(job_ids)
        ],
        "arn:aws:sqs:us-east-1:123456789012:jobs",
    )


def _run_fair(event: dict[str, Any], handle: Any, finished: Any) -> dict[str, Any]:
    return run_sqs_batch(
        event,
        LambdaContext("t", 3),
        model=Job,
        handle=handle,
        logger=Logger(service="t"),
        queues=FakeQueues(),  # type: ignore[arg-type]
        dlq_url="dlq",
        max_receives=3,
        finished=finished,
    )


def test_fair_jobs_are_reported_finished_when_handled_or_dead_lettered_but_not_when_retried() -> None:
    reported: list[str] = []

    def handle(job: Job) -> None:
        if job.n == 1:
            raise PoisonMessage("unreadable")
        if job.n == 2:
            raise TimeoutError("db timeout")

    result = _run_fair(_fair_event(["job-a", "job-b", "job-c"]), handle, reported.append)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert reported == ["job-a", "job-b"]  # job-c will be received again: still in flight

    reported.clear()
    assert _run_fair(_fair_event(["job-c"] * 3, attempt=3), handle, reported.append) == {
        "batchItemFailures": []
    }
    assert reported == ["job-c"] * 3  # index 2's last attempt is dead-lettered; 0 and 1 succeed


def test_a_failing_finish_report_does_not_fail_the_job() -> None:
    def broken(job_id: str) -> None:
        raise ConnectionError("database down")

    assert _run_fair(_fair_event(["job-a"]), lambda j: None, broken) == {"batchItemFailures": []}
