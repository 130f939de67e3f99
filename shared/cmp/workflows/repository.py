"""The workflow SQL: workflows, versions, runs and step executions of the unit of work's (buyer) tenant."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.workflows.definition import trigger_of
from cmp.workflows.model import Run, StepExecution, Workflow, WorkflowVersion

_JSON = frozenset(
    {
        "trigger_config",
        "definition",
        "asl",
        "problems",
        "trigger_payload",
        "output",
        "error_details",
        "input",
        "metadata",
    }
)
_GENERATED = frozenset({"created_at", "updated_at"})
_T = TypeVar("_T")


def _values(entity: object, skip: frozenset[str] = _GENERATED) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(entity):  # type: ignore[arg-type]
        if f.name not in skip:
            value = getattr(entity, f.name)
            values[f.name] = Jsonb(value) if f.name in _JSON and value is not None else value
    return values


def _entity(cls: type[_T], row: dict[str, Any]) -> _T:
    return cls(**{f.name: row[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def _update(session: Session, table: str, values: dict[str, Any], touch: bool) -> None:
    assignments = ", ".join(f"{name} = %({name})s" for name in values if name not in ("id", "tenant_id"))
    stamp = ", updated_at = now()" if touch else ""
    session.execute(f"update {table} set {assignments}{stamp} where id = %(id)s", values)


class WorkflowRepository:
    """`workflows` and `workflow_versions` rows (`uow.workflows`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, workflow_id: uuid.UUID, for_update: bool = False) -> Workflow:
        """The workflow of the current tenant; raises NotFound (also for another tenant's id)."""
        row = self._session.fetch_one(
            "select * from workflows where id = %s" + (" for update" if for_update else ""), (workflow_id,)
        )
        if row is None:
            raise NotFound("workflow not found")
        return _entity(Workflow, row)

    def for_subscription(self, subscription_id: uuid.UUID) -> list[Workflow]:
        rows = self._session.fetch_all(
            "select * from workflows where subscription_id = %s order by created_at, id", (subscription_id,)
        )
        return [_entity(Workflow, row) for row in rows]

    def add(self, workflow: Workflow) -> None:
        self._session.insert("workflows", _values(workflow))

    def save(self, workflow: Workflow) -> None:
        _update(self._session, "workflows", _values(workflow), touch=True)

    def add_version(self, version: WorkflowVersion) -> None:
        self._session.insert("workflow_versions", _values(version))

    def save_version(self, version: WorkflowVersion) -> None:
        _update(self._session, "workflow_versions", _values(version), touch=False)

    def version(self, workflow_id: uuid.UUID, version: int) -> WorkflowVersion:
        row = self._session.fetch_one(
            "select * from workflow_versions where workflow_id = %s and version = %s", (workflow_id, version)
        )
        if row is None:
            raise NotFound(f"workflow version {version} not found")
        return _entity(WorkflowVersion, row)

    def version_by_id(self, version_id: uuid.UUID) -> WorkflowVersion:
        row = self._session.fetch_one("select * from workflow_versions where id = %s", (version_id,))
        if row is None:
            raise NotFound("workflow version not found")
        return _entity(WorkflowVersion, row)

    def active_trigger(self, workflow: Workflow) -> tuple[str, dict[str, Any]]:
        """(type, config) of the trigger that fires for the workflow: its *active* version's, as `listening`
        and `schedules` read it (a later version saved but not activated changes nothing until activated);
        the latest saved version's while it was never activated. The workflow row holds the latest saved
        version's trigger (`Workflow.new_version`), so a version is read only when the active one is older."""
        if workflow.active_version is None or workflow.active_version == workflow.version:
            return workflow.trigger_type, workflow.trigger_config
        return trigger_of(self.version(workflow.id, workflow.active_version).definition)

    def hook(self, webhook_id: str) -> tuple[str, uuid.UUID] | None:
        """(tenant id, workflow id) behind a webhook id, before any tenant is known; None when unknown."""
        row = self._session.fetch_one("select * from workflow_hook(%s)", (webhook_id,))
        return (str(row["tenant_id"]), row["workflow_id"]) if row else None

    def listening(self, detail_type: str) -> list[tuple[uuid.UUID, dict[str, Any]]]:
        """(workflow id, trigger config) of the tenant's active workflows whose active version has an event
        trigger on `detail_type`."""
        rows = self._session.fetch_all(
            "select w.id, n.node->'config' as config from workflows w"
            " join workflow_versions v on v.workflow_id = w.id and v.version = w.active_version"
            " cross join lateral jsonb_array_elements(v.definition->'nodes') as n(node)"
            " where w.status = 'active' and n.node->>'type' = 'event' and n.node->'config'->>'event' = %s"
            " order by w.created_at, w.id",
            (detail_type,),
        )
        return [(row["id"], row["config"]) for row in rows]

    def schedules(self, subscription_id: uuid.UUID) -> list[tuple[dict[str, Any], datetime]]:
        """(trigger config, schedule since) of each of the subscription's workflows whose schedule fires:
        active, with the enabled schedule its last activation or resume created (`schedule_since` set), and
        the config of its *active* version's schedule trigger (a later version saved but not activated
        changes nothing until activated). Oldest workflow first; another tenant's subscription has none here
        (row-level security)."""
        rows = self._session.fetch_all(
            "select n.node->'config' as config, w.schedule_since from workflows w"
            " join workflow_versions v on v.workflow_id = w.id and v.version = w.active_version"
            " cross join lateral jsonb_array_elements(v.definition->'nodes') as n(node)"
            " where w.subscription_id = %s and w.status = 'active' and w.schedule_since is not null"
            " and n.node->>'type' = 'schedule' order by w.created_at, w.id",
            (subscription_id,),
        )
        return [(row["config"] or {}, row["schedule_since"]) for row in rows]

    def failure_alerts(self, subscription_id: uuid.UUID) -> list[tuple[str, str | None]]:
        """(workflow name, channel) of each failure alert (`alerts.onFailure[]`) of the *active* version of
        each of the subscription's active workflows, as `schedules` reads their triggers: what a failed run
        would send now. Oldest workflow first, in the definition's order; nothing else of an alert (its
        address, URL or signing key) is read. Another tenant's subscription has none here."""
        rows = self._session.fetch_all(
            "select w.name, a.alert->>'channel' as channel from workflows w"
            " join workflow_versions v on v.workflow_id = w.id and v.version = w.active_version"
            " cross join lateral jsonb_array_elements(case jsonb_typeof(v.definition->'alerts'->'onFailure')"
            "  when 'array' then v.definition->'alerts'->'onFailure' else '[]'::jsonb end)"
            "  with ordinality as a(alert, position)"
            " where w.subscription_id = %s and w.status = 'active' and jsonb_typeof(a.alert) = 'object'"
            " order by w.created_at, w.id, a.position",
            (subscription_id,),
        )
        return [(row["name"], row["channel"]) for row in rows]

    def product_flow(self, subscription_id: uuid.UUID) -> tuple[str | None, dict[str, Any] | None]:
        """(format, definition) of the flow the subscription's product was imported from; (None, None) when
        it has none."""
        row = self._session.fetch_one("select * from workflow_product_flow(%s)", (subscription_id,))
        return (row["flow_format"], row["flow_definition"]) if row else (None, None)


class RunRepository:
    """`workflow_runs` and `workflow_step_executions` rows (`uow.workflow_runs`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, run_id: uuid.UUID, for_update: bool = False) -> Run:
        """The run of the current tenant; raises NotFound (also for another tenant's id)."""
        row = self._session.fetch_one(
            "select * from workflow_runs where id = %s" + (" for update" if for_update else ""), (run_id,)
        )
        if row is None:
            raise NotFound("run not found")
        return _entity(Run, row)

    def add(self, run: Run) -> Run | None:
        """Insert the run; returns the existing run instead (inserting nothing) when the workflow already has
        a run with the same idempotency key in the same keyspace: keys are unique per trigger type
        (migration 0030), so a manual run's key never finds a webhook delivery's run."""
        try:
            with self._session.savepoint():
                self._session.insert("workflow_runs", _values(run))
        except psycopg.errors.UniqueViolation:
            assert run.idempotency_key is not None
            existing = self.by_key(run.workflow_id, run.trigger_type, run.idempotency_key)
            assert existing is not None
            return existing
        return None

    def by_key(self, workflow_id: uuid.UUID, trigger_type: str, key: str) -> Run | None:
        """The workflow's run of idempotency `key` in `trigger_type`'s keyspace; None when there is none."""
        row = self._session.fetch_one(
            "select * from workflow_runs where workflow_id = %s and trigger_type = %s and idempotency_key = %s",
            (workflow_id, trigger_type, key),
        )
        return _entity(Run, row) if row else None

    def save(self, run: Run) -> None:
        _update(self._session, "workflow_runs", _values(run), touch=False)

    def claim_alerts(self, run: Run) -> bool:
        """Claim the sending of the run's failure alerts; False when they were claimed before (a concurrent
        claim waits for the first to commit or roll back)."""
        row = self._session.fetch_one(
            "insert into workflow_run_alerts (run_id, tenant_id) values (%s, %s)"
            " on conflict (run_id) do nothing returning run_id",
            (run.id, run.tenant_id),
        )
        return row is not None

    def record_alerts(self, run_id: uuid.UUID, results: list[dict[str, Any]]) -> None:
        """What each alert channel answered (`{channel, status, error?}`), on the claimed row."""
        self._session.execute(
            "update workflow_run_alerts set results = %s where run_id = %s", (Jsonb(results), run_id)
        )

    def alerts(self, run_id: uuid.UUID) -> list[dict[str, Any]] | None:
        """The results of the run's failure alerts; None when none were sent."""
        row = self._session.fetch_one("select results from workflow_run_alerts where run_id = %s", (run_id,))
        return list(row["results"]) if row else None

    def page(
        self, workflow_id: uuid.UUID, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Run]:
        """Newest first; `after` is the (created_at, id) of the last run of the previous page."""
        clauses: list[str] = ["workflow_id = %s"]
        params: list[Any] = [workflow_id]
        if status is not None:
            clauses.append("status = %s")
            params.append(status)
        if after is not None:
            clauses.append("(created_at, id) < (%s, %s)")
            params += [after[0], after[1]]
        rows = self._session.fetch_all(
            f"select * from workflow_runs where {' and '.join(clauses)} order by created_at desc, id desc limit %s",
            (*params, limit),
        )
        return [_entity(Run, row) for row in rows]

    def last_finished(self, subscription_id: uuid.UUID) -> Run | None:
        """The subscription's most recently started run that ended in `succeeded` or `failed`, over all its
        workflows (the dashboard's "Last run"); None when there is none. Left out: runs still pending or
        running, cancelled runs (stopped, not an outcome) and runs a `subworkflow` step started (their
        outcome is their parent's). Another tenant's subscription has no runs here (row-level security)."""
        row = self._session.fetch_one(
            "select * from workflow_runs where subscription_id = %s and status in ('succeeded', 'failed')"
            " and parent_run_id is null order by created_at desc, id desc limit 1",
            (subscription_id,),
        )
        return _entity(Run, row) if row else None

    def running_children(self, run_id: uuid.UUID) -> list[Run]:
        """The runs the run's `subworkflow` steps started that have not finished, locked for update."""
        rows = self._session.fetch_all(
            "select * from workflow_runs where parent_run_id = %s"
            " and status not in ('succeeded', 'failed', 'cancelled') order by created_at, id for update",
            (run_id,),
        )
        return [_entity(Run, row) for row in rows]

    def step_by_id(self, step_execution_id: uuid.UUID) -> StepExecution | None:
        row = self._session.fetch_one(
            "select * from workflow_step_executions where id = %s", (step_execution_id,)
        )
        return _entity(StepExecution, row) if row else None

    def step(self, run_id: uuid.UUID, step_id: str, attempt: int) -> StepExecution | None:
        row = self._session.fetch_one(
            "select * from workflow_step_executions where run_id = %s and step_id = %s and attempt = %s"
            " order by started_at desc limit 1",
            (run_id, step_id, attempt),
        )
        return _entity(StepExecution, row) if row else None

    def steps(self, run_id: uuid.UUID) -> list[StepExecution]:
        rows = self._session.fetch_all(
            "select * from workflow_step_executions where run_id = %s order by started_at, created_at",
            (run_id,),
        )
        return [_entity(StepExecution, row) for row in rows]

    def add_step(self, step: StepExecution) -> None:
        self._session.insert("workflow_step_executions", _values(step))

    def save_step(self, step: StepExecution) -> None:
        _update(self._session, "workflow_step_executions", _values(step), touch=False)
