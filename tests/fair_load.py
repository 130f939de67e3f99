"""Fair-queuing load for `bench/fair_queuing.py`, `tests/integration/test_fair_queuing.py` and
`tests/integration/test_workflow_fair_steps.py`: tenants on a plan, fair jobs enqueued through the outbox as
producers do (or workflow step messages sent to the queue as state machines send them), and consumers that
receive from real SQS (moto) and run each job through `cmp.jobs.run_sqs_batch` as the worker functions do
(which reports it finished)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database
from cmp.db.outbox import OutboxMessage
from cmp.jobs import run_sqs_batch
from cmp.workflows.messages import StepMessage
from cmp_dev.local.events import sqs_event
from cmp_dev.local.functions import LambdaContext
from tests.subscriptions import capabilities, subscribe


class LoadJob(BaseModel):
    """One job's body: its tenant, its number and when it was enqueued (epoch seconds)."""

    tenant: str
    n: int
    enqueued: float


@dataclass(frozen=True)
class Started:
    """A job a consumer started: its tenant, number and wait (enqueue to start, seconds)."""

    tenant: str
    n: int
    wait: float


def tenant_on_plan(db: Database, tier: str) -> str:
    """A new tenant with one active subscription on a plan of `tier`; returns the tenant id."""
    tenant = uuid.uuid4()
    with db.session(tenant) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, 'Load', %s)", (tenant, f"l-{tenant}")
        )
    plan = {"id": f"plan_{tier}", "name": tier.title(), "tier": tier, "limits": {"rateLimitRpm": 60}}
    subscribe(db, tenant, capabilities(), plan=plan)
    return str(tenant)


def enqueue(services: Services, tenant: str, queue_url: str, count: int) -> None:
    """`count` fair jobs of `tenant` in one transaction, grouped by tenant as the ingestion producers do."""
    with services.unit_of_work(tenant) as uow:
        for n in range(count):
            body = {"tenant": tenant, "n": n, "enqueued": time.time()}
            uow.outbox.add(OutboxMessage.to_queue(queue_url, body, group_id=tenant))
        uow.commit()


def enqueue_flood(owner_url: str, services: Services, tenant: str, queue_url: str, count: int) -> None:
    """`count` fair jobs of `tenant` written in one statement (the rows `enqueue` writes, without its
    round trip per job, which would make a 5,000-job flood take minutes on a loaded machine), then
    released as a commit's relay does."""
    import psycopg

    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            "insert into outbox (id, tenant_id, kind, target, name, payload, held)"
            " select gen_random_uuid(), %s, 'sqs', %s, %s,"
            " jsonb_build_object('tenant', %s::text, 'n', n, 'enqueued', extract(epoch from clock_timestamp())),"
            " true from generate_series(0, %s - 1) n",
            (tenant, queue_url, tenant, tenant, count),
        )
    services.outbox_relay.sweep(older_than_seconds=3600)


def step_message(tenant: str, n: int) -> dict[str, Any]:
    """A workflow `step` message of `tenant` as a state machine's callback task sends it (of a run that does
    not exist); its `context` names its number `n` and its enqueue time (epoch seconds)."""
    return StepMessage(
        kind="step", run_id=str(uuid.uuid4()), tenant_id=tenant, workflow_version_id=str(uuid.uuid4()),
        task_token=f"token-{tenant}-{n}-{uuid.uuid4()}", node="load", context={"n": n, "enqueued": time.time()},
    ).model_dump(exclude_defaults=True)  # fmt: skip


def send_steps(tenant: str, queue_url: str, count: int) -> None:
    """`count` step messages of `tenant` (`step_message`) sent straight to the queue, as state machines'
    callback tasks send them (batches of 10)."""
    sqs = client("sqs")
    for start in range(0, count, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(step_message(tenant, n))}
            for n in range(start, min(start + 10, count))
        ]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)


def enqueue_step_flood(owner_url: str, services: Services, tenant: str, queue_url: str, count: int) -> None:
    """`count` fair step jobs of `tenant` written in one statement: the rows `StepWorker.queue_fairly`
    writes for `count` step messages (`step_message` marked `fair`), without its transaction per message;
    then released as a commit's relay does."""
    import psycopg

    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            "insert into outbox (id, tenant_id, kind, target, name, payload, held)"
            " select gen_random_uuid(), %s, 'sqs', %s, %s, jsonb_build_object('kind', 'step',"
            " 'run_id', gen_random_uuid()::text, 'tenant_id', %s::text, 'workflow_version_id',"
            " gen_random_uuid()::text, 'task_token', 'token-' || gen_random_uuid()::text, 'node', 'load',"
            " 'fair', true, 'context', jsonb_build_object('n', n, 'enqueued', extract(epoch from clock_timestamp())))"
            ", true from generate_series(0, %s - 1) n",
            (tenant, queue_url, tenant, tenant, count),
        )
    services.outbox_relay.sweep(older_than_seconds=3600)


class Consumers:
    """`workers` threads that each receive one message at a time from `queue_url`, hold it for
    `work_seconds` (the job) and delete it; `started` lists every job in the order it started. With `steps`,
    the messages are workflow step messages taken by the step worker as its function does
    (`StepWorker.take`: a state machine's step is queued fairly first), its `handle` replaced by the job."""

    def __init__(
        self, services: Services, queue_url: str, workers: int, work_seconds: float, steps: bool = False
    ) -> None:
        self._services = services
        self._steps = steps
        self._url = queue_url
        self._arn = client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._work = work_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.started: list[Started] = []
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def __enter__(self) -> Consumers:
        if self._steps:
            self._services.step_worker.handle = self._handle_step  # type: ignore[method-assign]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self._steps:
            del self._services.step_worker.handle

    def wait_for(self, total: int, timeout: float) -> None:
        """Return once `total` jobs have started; raises TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.started) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.started)} of {total} jobs started in {timeout:g} s")
            time.sleep(0.01)

    def _run(self) -> None:
        sqs = client("sqs")
        logger = Logger(service="fair-load", level="WARNING")
        while not self._stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                time.sleep(0.005)
                continue
            run_sqs_batch(
                sqs_event(messages, self._arn),
                LambdaContext("fair-load", 60),  # type: ignore[arg-type]
                model=StepMessage if self._steps else LoadJob,
                handle=self._job,
                logger=logger,
                queues=self._services.queues,
                dlq_url="",
                finished=self._services.outbox_relay.finished,
            )
            for message in messages:
                sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def _job(self, message: BaseModel) -> None:
        if isinstance(message, StepMessage):
            self._services.step_worker.take(message.model_dump())
        else:
            assert isinstance(message, LoadJob)
            self._handle(message)

    def _handle_step(self, message: dict[str, Any]) -> None:
        context = message["context"]
        self._handle(LoadJob(tenant=message["tenant_id"], n=context["n"], enqueued=context["enqueued"]))

    def _handle(self, job: LoadJob) -> None:
        with self._lock:
            self.started.append(Started(job.tenant, job.n, time.time() - job.enqueued))
        time.sleep(self._work)


def depth(queue_url: str) -> int:
    """Messages in the queue, visible or in flight (SQS's approximate counts; exact on moto)."""
    attributes: dict[str, Any] = client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())
