"""The workflow trigger worker: starts the runs schedules and events ask for, and sends failure alerts.

Its queue receives two kinds of message (`functions/workflow_trigger_worker`):

- a schedule's firing, from EventBridge Scheduler: `{"kind": "schedule", "tenant_id", "workflow_id",
  "scheduled_time"}` (`cmp.workflows.schedules`) starts one run with trigger type `schedule`, input
  `{"scheduled_time"}` and idempotency key `schedule:<scheduled time>`, so a firing delivered twice starts
  one run. A workflow that is gone has its schedule deleted; a paused one starts nothing.
- a platform event, from the EventBridge rule (the event envelope: `id`, `detail-type`, `source`,
  `detail`): each active workflow of the event's organization whose active version listens to it
  (`cmp.workflows.events.listens_to`) starts one run keyed `event:<event id>`. A `workflow.run.finished`
  event of a failed run also sends that workflow's failure alerts, once per run: the run's row in
  `workflow_run_alerts` is claimed in the transaction that records what each channel answered.

Every run is admitted by the runtime gateway first (`cmp.workflows.admission`, trigger `schedule:<workflow
id>` or `event:<workflow id>`): a rate limit's refusal fails the message, so SQS delivers it again later
(the runs it already started are found again by their keys); a run over the `executions` quota is recorded
as a failed run naming the quota, its use and its reset (`Quota.Exceeded`), with its failure alerts.

Every other message is poison (dead-lettered at once).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from cmp.db.outbox import OutboxMessage
from cmp.errors import Conflict, NotFound, PoisonMessage
from cmp.gateway.errors import QuotaExceeded
from cmp.workflows.actions import StepFailed
from cmp.workflows.admission import EXECUTIONS, Admit, trigger_context
from cmp.workflows.events import (
    EVENT_SOURCES,
    RUN_FINISHED,
    alert_message,
    event_id,
    listens_to,
)
from cmp.workflows.model import Run, Workflow
from cmp.workflows.ports import WorkflowUnitOfWorkFactory
from cmp.workflows.runs import WorkflowRuns
from cmp.workflows.schedules import WorkflowSchedules

log = logging.getLogger(__name__)


def run_finished_event(bus_name: str, run: Run) -> OutboxMessage:
    """The `workflow.run.finished` event of a run that just ended (written in the transaction that records
    the end, so it is sent once the end is committed). `chain` counts the runs of event triggers behind it."""
    chain = run.trigger_payload.get("chain", 0) if run.trigger_type == "event" else 0
    detail = {
        "event_id": f"run:{run.id}",
        "tenant_id": str(run.tenant_id),
        "subscription_id": str(run.subscription_id),
        "workflow_id": str(run.workflow_id),
        "run_id": str(run.id),
        "status": run.status,
        "error": run.error_message,
        "completed_at": run.completed_at.isoformat() if run.completed_at else None,
        "chain": chain if isinstance(chain, int) else 0,
    }
    return OutboxMessage.event(bus_name, EVENT_SOURCES[RUN_FINISHED], RUN_FINISHED, detail)


class WorkflowTriggers:
    """Handles the trigger queue's messages (see the module docstring). `send` is the step worker's
    messaging action (`Actions.messaging`): alerts go out exactly as messaging steps do. `admit` is the
    gateway's admission, `event_bus` the bus a refused run's `workflow.run.finished` goes to."""

    def __init__(
        self,
        uow: WorkflowUnitOfWorkFactory,
        runs: WorkflowRuns,
        schedules: WorkflowSchedules,
        send: Callable[[dict[str, Any]], dict[str, Any]],
        admit: Admit,
        event_bus: Callable[[], str],
    ) -> None:
        self._uow = uow
        self._runs = runs
        self._schedules = schedules
        self._send = send
        self._admit = admit
        self._event_bus = event_bus

    def handle(self, message: dict[str, Any]) -> list[str]:
        """Act on one message; returns what it did (run ids started, alerts sent) for the log. Raises
        PoisonMessage for a message of no known kind; anything else is transient (redelivered)."""
        if "detail-type" in message and isinstance(message.get("detail"), dict):
            return self.event(str(message["detail-type"]), message["detail"])
        if message.get("kind") == "schedule":
            try:
                tenant_id, workflow_id = (
                    str(uuid.UUID(message["tenant_id"])),
                    uuid.UUID(message["workflow_id"]),
                )
            except (KeyError, ValueError) as e:
                raise PoisonMessage("a schedule message names its tenant and workflow") from e
            return self.scheduled(tenant_id, workflow_id, str(message.get("scheduled_time", "")))
        raise PoisonMessage(f"not a workflow trigger message: {sorted(message)[:5]}")

    def scheduled(self, tenant_id: str, workflow_id: uuid.UUID, scheduled_time: str) -> list[str]:
        """Start the run of one schedule firing (once per scheduled time)."""
        try:
            started = self._admitted(
                tenant_id,
                workflow_id,
                {"scheduled_time": scheduled_time},
                "schedule",
                f"schedule:{scheduled_time}"[:255] if scheduled_time else None,
            )
        except NotFound:
            self._schedules.delete(workflow_id)
            return ["schedule-deleted"]
        except Conflict:
            return ["not-active"]
        return [f"run:{started['run_id']}"]

    def event(self, detail_type: str, detail: dict[str, Any]) -> list[str]:
        """Start the runs of the workflows listening to this event, and send a failed run's alerts."""
        if detail_type not in EVENT_SOURCES or not isinstance(detail.get("tenant_id"), str):
            raise PoisonMessage(f"not an event workflows listen to: {detail_type}")
        tenant_id, key = detail["tenant_id"], event_id(detail_type, detail)
        done: list[str] = []
        if detail_type == RUN_FINISHED and detail.get("status") == "failed":
            done += self.alert(tenant_id, uuid.UUID(str(detail["run_id"])))
        with self._uow(tenant_id) as uow:
            listeners = uow.workflows.listening(detail_type)
        chain = int(detail.get("chain", 0)) + 1 if detail_type == RUN_FINISHED else 0
        payload = {"event": detail_type, "event_id": key, "detail": detail, "chain": chain}
        for workflow_id, config in listeners:
            if not listens_to(config, workflow_id, detail_type, detail):
                continue
            try:
                started = self._admitted(tenant_id, workflow_id, payload, "event", f"event:{key}"[:255])
            except (Conflict, NotFound):
                continue
            done.append(f"run:{started['run_id']}")
        return done

    def _admitted(
        self,
        tenant_id: str,
        workflow_id: uuid.UUID,
        payload: dict[str, Any],
        trigger_type: str,
        key: str | None,
    ) -> dict[str, Any]:
        """Start one run once the gateway admits it (see the module docstring); returns its `run_summary`
        (`status` failed for a run refused by the quota). Raises RateLimited (the message is retried),
        Conflict, NotFound."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(uow.workflows.get(workflow_id).subscription_id)
        ctx = trigger_context(subscription, f"{trigger_type}:{workflow_id}")
        try:
            with self._admit(ctx, EXECUTIONS):
                return self._runs.start(
                    tenant_id, workflow_id, payload, trigger_type=trigger_type, idempotency_key=key
                )
        except QuotaExceeded as refused:
            error = {"Error": "Quota.Exceeded", "Cause": refused.message}
            return self._runs.refused(
                tenant_id,
                workflow_id,
                payload,
                error,
                lambda run: run_finished_event(self._event_bus(), run),
                trigger_type=trigger_type,
                idempotency_key=key,
            )

    def alert(self, tenant_id: str, run_id: uuid.UUID) -> list[str]:
        """Send the failure alerts of a failed run, once: nothing when they were sent before or the run's
        version has none. A channel that fails is recorded with its error and not retried (the others were
        already told)."""
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id)
            workflow = uow.workflows.get(run.workflow_id)
            alerts = _alerts(uow.workflows.version(run.workflow_id, run.version).definition)
            if run.status != "failed" or not alerts or not uow.workflow_runs.claim_alerts(run):
                return []
            results = [self._deliver(alert, workflow, run) for alert in alerts]
            uow.workflow_runs.record_alerts(run.id, results)
            uow.commit()
        return [f"alert:{r['channel']}:{r['status']}" for r in results]

    def _deliver(self, alert: dict[str, Any], workflow: Workflow, run: Run) -> dict[str, Any]:
        summary = {
            "run_id": str(run.id),
            "workflow_id": str(run.workflow_id),
            "error": run.error_message,
            "completed_at": run.completed_at.isoformat() if run.completed_at else None,
        }
        try:
            self._send(alert_message(alert, workflow.name, summary))
        except StepFailed as failure:
            log.warning(
                "failure alert not delivered", extra={"channel": alert["channel"], "error": failure.error}
            )
            return {"channel": alert["channel"], "status": "failed", "error": failure.cause[:300]}
        return {"channel": alert["channel"], "status": "sent"}


def _alerts(definition: dict[str, Any]) -> list[dict[str, Any]]:
    alerts = definition.get("alerts")
    on_failure = alerts.get("onFailure") if isinstance(alerts, dict) else None
    return [a for a in on_failure if isinstance(a, dict)] if isinstance(on_failure, list) else []
