"""The transactional outbox: messages to SQS, Step Functions and EventBridge are rows written in the same
transaction as the change that causes them, then delivered after the commit.

Delivery happens twice over: right after `UnitOfWork.commit()` in the same invocation, and by the
housekeeping sweep for whatever that missed (a crash between commit and send, an AWS outage). A message may
therefore be delivered more than once; consumers are idempotent (jobs check state, executions are started by
name, so a second `StartExecution` of the same name is a no-op). A message is never lost: a row stays unsent
until a send succeeded.

Fair queuing (issue 10; migration 0021, reasons in docs/decisions.md): a queue message with a `group_id`
(the producer's tenant) is a fair job. It is held in the outbox and released into SQS only while its group
has fewer than its plan's share (`FAIR_SHARES`) of jobs in flight; the consumer reports it finished
(`OutboxRelay.finished`, called by `cmp.jobs.run_sqs_batch` for messages carrying `FAIR_JOB_ATTRIBUTE`),
which frees the slot and releases the group's next job. A queue so holds a few jobs per tenant, and one
tenant's backlog of thousands waits in PostgreSQL instead of ahead of another tenant's jobs.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from cmp.db.session import Session
from cmp.ports import EventBus, MessageQueue, StateMachineRunner

log = logging.getLogger(__name__)
Kind = Literal["sqs", "stepfunctions", "events"]

FAIR_SHARES: dict[str, int] = {"enterprise": 8, "pro": 4, "starter": 2, "": 1}
"""Jobs of one group in flight per queue, by the plan tier of its tenant's best active subscription ("":
none, e.g. a seller's own work). Priority by plan: a larger share, and released first in a release pass."""
FAIR_LEASE_SECONDS = 3600
"""A released job whose finish is never reported (the consumer died, the message was dead-lettered by
SQS's redrive) frees its slot after this long: more than a job's 900 s visibility timeout x 3 receives."""
FAIR_JOB_ATTRIBUTE = "cmp_fair_job"
"""The SQS message attribute that carries a fair job's outbox id to the consumer."""


@dataclass(frozen=True)
class OutboxMessage:
    """One message to deliver after commit.

    `target` is the queue URL, state machine ARN or event bus name; `name` is the execution name (Step
    Functions' idempotency key), a queue message's fair-queuing group, or the event's detail-type;
    `attributes` are SQS message attributes (for events: `{"source": …}`).
    """

    kind: Kind
    target: str
    payload: dict[str, Any]
    name: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def to_queue(
        cls,
        queue_url: str,
        body: dict[str, Any],
        attributes: dict[str, str] | None = None,
        group_id: str | None = None,
    ) -> OutboxMessage:
        """A message to an SQS queue; with `group_id` (the producer's tenant) it is a fair job, released
        into the queue by its group's share (see the module doc)."""
        return cls("sqs", queue_url, body, group_id, dict(attributes or {}))

    @property
    def fair(self) -> bool:
        """A fair job: a queue message with a group."""
        return self.kind == "sqs" and self.name is not None

    @classmethod
    def start_execution(cls, state_machine_arn: str, name: str, payload: dict[str, Any]) -> OutboxMessage:
        return cls("stepfunctions", state_machine_arn, payload, name)

    @classmethod
    def event(cls, bus_name: str, source: str, detail_type: str, detail: dict[str, Any]) -> OutboxMessage:
        return cls("events", bus_name, detail, detail_type, {"source": source})


class Outbox:
    """The unit of work's outbox: `add` writes the row in the current transaction."""

    def __init__(self, session: Session, tenant_id: str | None) -> None:
        self._session = session
        self._tenant_id = tenant_id
        self.added: list[OutboxMessage] = []

    def add(self, message: OutboxMessage, once: bool = False) -> None:
        """Write `message` in this transaction; with `once`, a message whose id was already written (ever,
        until purged) is left out: a producer that derives the id from what it handles writes it once
        however often it handles that. Raises RuntimeError when no tenant is set (RLS needs one)."""
        if self._tenant_id is None:
            raise RuntimeError("outbox messages belong to a tenant: set the tenant first")
        self._session.execute(
            "insert into outbox (id, tenant_id, kind, target, name, payload, attributes, held)"
            " values (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)"
            + (" on conflict (id) do nothing" if once else ""),
            (
                message.id,
                self._tenant_id,
                message.kind,
                message.target,
                message.name,
                json.dumps(message.payload),
                json.dumps(message.attributes),
                message.fair,
            ),
        )
        self.added.append(message)

    def set_tenant(self, tenant_id: str) -> None:
        self._tenant_id = tenant_id


class OutboxStore:
    """Cross-tenant reads and writes of the relay, through narrow SECURITY DEFINER functions."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def pending(self, older_than_seconds: int, limit: int) -> list[OutboxMessage]:
        """Up to `limit` unsent messages created more than `older_than_seconds` ago, least-tried first."""
        rows = self._session.fetch_all(
            "select * from outbox_pending(now() - make_interval(secs => %s), %s)", (older_than_seconds, limit)
        )
        return _messages(rows)

    def release(self, target: str, lease_seconds: int) -> list[OutboxMessage]:
        """Release the held jobs of queue `target` that fit their group's free share (see migration 0021);
        returns them, to be sent now (the sweep sends them otherwise)."""
        rows = self._session.fetch_all(
            "select * from fair_release(%s, %s::jsonb, %s)", (target, json.dumps(FAIR_SHARES), lease_seconds)
        )
        return _messages(rows)

    def held_targets(self) -> list[str]:
        """The queues that have held jobs."""
        return [str(r["t"]) for r in self._session.fetch_all("select t from fair_held_targets() t")]

    def finish(self, job_id: uuid.UUID) -> str | None:
        """Record fair job `job_id` finished; returns its queue, or None when it was already finished."""
        row = self._session.fetch_one("select fair_done(%s) as target", (job_id,))
        return str(row["target"]) if row and row["target"] else None

    def mark_sent(self, ids: Iterable[uuid.UUID]) -> None:
        """Record these messages as sent (one more attempt, error cleared); already-sent ones are left as is."""
        self._session.execute("select outbox_mark_sent(%s)", (list(ids),))

    def mark_failed(self, message_id: uuid.UUID, error: str) -> None:
        """Count a failed attempt and keep its error (first 1000 characters); the message stays pending."""
        self._session.execute("select outbox_mark_failed(%s, %s)", (message_id, error[:1000]))

    def purge_sent(self, older_than_days: int) -> int:
        """Delete messages sent more than `older_than_days` ago; returns how many."""
        row = self._session.fetch_one(
            "select outbox_purge(now() - make_interval(days => %s)) as n", (older_than_days,)
        )
        return int(row["n"]) if row else 0


@dataclass(frozen=True)
class DeliveryReport:
    """How many messages one delivery sent, and how many failed (those stay pending for the sweep)."""

    sent: int
    failed: int


class OutboxRelay:
    """Sends outbox messages through the ports and records which went out."""

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        queues: MessageQueue,
        machines: StateMachineRunner,
        events: EventBus,
        fair_lease_seconds: int = FAIR_LEASE_SECONDS,
    ) -> None:
        """`sessions` is `Database.session`: opens a transaction (committed on success) without a tenant."""
        self._sessions = sessions
        self._queues = queues
        self._machines = machines
        self._events = events
        self._lease = fair_lease_seconds
        self._later: queue.SimpleQueue[list[OutboxMessage]] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None
        self._sender_lock = threading.Lock()

    def deliver(self, messages: Iterable[OutboxMessage]) -> DeliveryReport:
        """Deliver messages just committed: fair jobs are released by their group's share (the others
        stay held until a job of their group finishes), the rest are sent. Never raises (what fails stays
        pending for the sweep, with its error)."""
        batch = list(messages)
        direct = [m for m in batch if not m.fair]
        return self._send_all(direct + self._release({m.target for m in batch if m.fair}))

    def deliver_later(self, messages: Iterable[OutboxMessage]) -> None:
        """`deliver` these committed messages on this relay's background thread (one per process, started on
        first use), so the caller answers without waiting for the sends: a webhook's 202 needs only the
        committed rows. Never raises. Nothing is lost when the process ends before the thread sent them: the
        rows stay unsent and the sweep sends them (`sweep`), later. In AWS Lambda the thread runs only while
        the execution environment does: what it has not sent when the handler returns is sent when the
        environment next runs an invocation, or by the sweep."""
        self._later.put(list(messages))
        with self._sender_lock:
            if self._sender is None or not self._sender.is_alive():
                self._sender = threading.Thread(target=self._send_later, name="outbox-relay", daemon=True)
                self._sender.start()

    def _send_later(self) -> None:
        while True:
            self.deliver(self._later.get())

    def finished(self, job_id: str) -> DeliveryReport:
        """A consumer finished fair job `job_id` (handled or dead-lettered): free its slot and send the jobs
        that fit now. A job reported twice frees one slot. Raises ValueError for an id that is no UUID."""
        with self._sessions() as session:
            store = OutboxStore(session)
            target = store.finish(uuid.UUID(job_id))
            released = store.release(target, self._lease) if target else []
        return self._send_all(released)

    def _release(self, targets: set[str]) -> list[OutboxMessage]:
        if not targets:
            return []
        try:
            with self._sessions() as session:
                store = OutboxStore(session)
                return [m for target in sorted(targets) for m in store.release(target, self._lease)]
        except Exception:
            log.exception("fair jobs not released; the sweep will release them")
            return []

    def _send_all(self, messages: list[OutboxMessage]) -> DeliveryReport:
        sent: list[uuid.UUID] = []
        failures: list[tuple[uuid.UUID, str]] = []
        for message in messages:
            try:
                self._send(message)
            except Exception as e:
                log.warning(
                    "outbox message not delivered; the sweep will retry it",
                    extra={"outbox_id": str(message.id), "kind": message.kind, "error": str(e)[:300]},
                )
                failures.append((message.id, f"{type(e).__name__}: {e}"))
            else:
                sent.append(message.id)
        if sent or failures:
            try:
                with self._sessions() as session:
                    store = OutboxStore(session)
                    if sent:
                        store.mark_sent(sent)
                    for message_id, error in failures:
                        store.mark_failed(message_id, error)
            except Exception:
                log.exception("outbox delivery not recorded; the sweep will send again (harmless)")
        return DeliveryReport(len(sent), len(failures))

    def sweep(self, older_than_seconds: int = 30, limit: int = 500) -> DeliveryReport:
        """Deliver messages left unsent for `older_than_seconds` (the in-invocation relay missed them), and
        release the fair jobs whose slots freed without a report (a job's lease ended)."""
        with self._sessions() as session:
            store = OutboxStore(session)
            pending = store.pending(older_than_seconds, limit)
            targets = set(store.held_targets())
        return self._send_all(pending + self._release(targets))

    def purge(self, older_than_days: int = 7) -> int:
        """Delete messages sent more than `older_than_days` ago."""
        with self._sessions() as session:
            return OutboxStore(session).purge_sent(older_than_days)

    def _send(self, message: OutboxMessage) -> None:
        if message.kind == "sqs":
            attributes = {**message.attributes, FAIR_JOB_ATTRIBUTE: str(message.id)} if message.fair else None
            self._queues.send(message.target, message.payload, attributes or message.attributes or None)
        elif message.kind == "stepfunctions":
            self._machines.start(message.target, message.name or str(message.id), message.payload)
        elif message.kind == "events":
            self._events.put(
                message.target, message.attributes.get("source", "cmp"), message.name or "", message.payload
            )
        else:
            raise ValueError(
                f"unknown outbox message kind {message.kind!r}: {json.dumps(message.payload)[:80]}"
            )


def _messages(rows: list[dict[str, Any]]) -> list[OutboxMessage]:
    return [
        OutboxMessage(r["kind"], r["target"], r["payload"], r["name"], r["attributes"] or {}, r["id"])
        for r in rows
    ]
