"""Workflow definitions: list (creating the subscription's first workflow), read, save a new version, activate,
pause and resume (`GET`/`POST /v1/subscriptions/{id}/workflows`, `GET`/`PUT /v1/workflows/{id}`, `POST …/activate|
pause|resume`).

Every definition is checked against the subscription's capability snapshot (`cmp.workflows.rules`) and
compiled (`cmp.workflows.compiler`) when saved; the ASL is stored with the version. Activation creates the
version's state machine (Step Functions validates the ASL there; a rejection is a 422) and makes it the one
new runs use. Activating, pausing and resuming keep the workflow's EventBridge Scheduler schedule in step
(`cmp.workflows.schedules`; the next run time of the active version's schedule trigger is shown with the
stats). A subscription to an automation gets its first workflow the first time its workflows are listed:
the product's imported flow (`cmp.workflows.imports`) or, when the product has none, a manual trigger to
build on.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cmp.aws.adapters import InvalidDefinition
from cmp.capabilities.models import ProductCapabilities
from cmp.commerce.model import Subscription
from cmp.errors import Conflict, FieldError, NotFound, ValidationFailed
from cmp.ports import Clock, IdGenerator
from cmp.workflows.compiler import check_compiled, compile_definition
from cmp.workflows.definition import Definition, parse_definition, trigger_of
from cmp.workflows.hooks import signing_key
from cmp.workflows.imports import import_flow
from cmp.workflows.model import Workflow, WorkflowVersion
from cmp.workflows.ports import WorkflowEngine, WorkflowUnitOfWork, WorkflowUnitOfWorkFactory
from cmp.workflows.rules import Allowance, check_definition
from cmp.workflows.schedules import WorkflowSchedules, next_run
from cmp.workflows.subworkflows import SubWorkflowAllowance, check_subworkflows

BLANK_DEFINITION: dict[str, Any] = {
    "nodes": [{"id": "manual", "type": "manual", "name": "Run now"}],
    "edges": [],
}
"""The first workflow of an automation whose product carries no flow: a manual trigger, to be edited."""
LIVE = ("active", "provisioning", "past_due")
MAX_WORKFLOWS = 50
"""Workflows one subscription may hold."""


@dataclass(frozen=True)
class EngineSettings:
    """Where step messages go and the role the state machines run as (`Settings.workflow_*`)."""

    steps_queue_url: Callable[[], str]
    execution_role_arn: Callable[[], str]


@dataclass(frozen=True)
class Compiled:
    definition: dict[str, Any]
    trigger_type: str
    trigger_config: dict[str, Any]
    asl: dict[str, Any] | None
    problems: list[dict[str, str]]


def workflow_view(
    workflow: Workflow, version: WorkflowVersion, now: datetime, schedule: dict[str, Any] | None
) -> dict[str, Any]:
    """The workflow as the API shows it, with the latest version's definition and problems; `next_run_at`
    (in the stats) is the next firing after `now` of `schedule`, the config of the schedule trigger that
    fires (`_firing_schedule`), else None."""
    next_run_at = None
    if schedule is not None and workflow.schedule_since:
        next_run_at = next_run(schedule, workflow.schedule_since, now)
    return {
        "workflow_id": str(workflow.id),
        "subscription_id": str(workflow.subscription_id),
        "name": workflow.name,
        "description": workflow.description,
        "source": workflow.source,
        "status": workflow.status,
        "version": workflow.version,
        "active_version": workflow.active_version,
        "trigger": {"type": workflow.trigger_type, "config": workflow.trigger_config},
        "definition": version.definition,
        "webhook": None,
        "runnable": version.asl is not None,
        "problems": version.problems,
        "stats": {
            "total_runs": workflow.total_runs,
            "successful_runs": workflow.successful_runs,
            "failed_runs": workflow.failed_runs,
            "last_run_at": workflow.last_run_at,
            "next_run_at": next_run_at,
        },
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
    }


class WorkflowDefinitions:
    """The definition side of a subscription's workflows."""

    def __init__(
        self,
        uow: WorkflowUnitOfWorkFactory,
        engine: WorkflowEngine,
        settings: EngineSettings,
        ids: IdGenerator,
        hook_key: Callable[[], str],
        schedules: WorkflowSchedules,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._engine = engine
        self._settings = settings
        self._ids = ids
        self._hook_key = hook_key
        self._schedules = schedules
        self._clock = clock

    def _view(self, uow: WorkflowUnitOfWork, workflow: Workflow, version: WorkflowVersion) -> dict[str, Any]:
        """`workflow_view` of `version` plus, when the trigger that fires (`WorkflowRepository.active_trigger`:
        the active version's) is a webhook, its URL path, the `auth` and the key its callers sign or send:
        what `POST /v1/hooks/{id}` enforces (`cmp.workflows.hooks`), as `next_run_at` is the active
        version's schedule's."""
        trigger_type, trigger_config = uow.workflows.active_trigger(workflow)
        schedule = _firing_schedule(workflow, trigger_type, trigger_config)
        view = workflow_view(workflow, version, self._clock.now(), schedule)
        if trigger_type == "webhook":
            view["webhook"] = {
                "path": f"/v1/hooks/{workflow.webhook_id}",
                "auth": trigger_config.get("auth", "none"),
                "signing_key": signing_key(self._hook_key(), workflow.webhook_id),
            }
        return view

    def list(self, tenant_id: str, subscription_id: uuid.UUID) -> list[dict[str, Any]]:
        """The subscription's workflows (oldest first), creating its first one for an automation; raises
        NotFound for a subscription the tenant does not hold."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            workflows = uow.workflows.for_subscription(subscription_id)
            created = not workflows and subscription.category == "automation" and subscription.status in LIVE
            if created:
                workflows = [self._create_first(uow, subscription)]
            views = [self._view(uow, w, uow.workflows.version(w.id, w.version)) for w in workflows]
            if created:
                uow.commit()
            return views

    def create(self, tenant_id: str, subscription_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        """A new workflow of the subscription (`{"definition", "name", "description"?}`), a draft at version 1
        (a sub-workflow to run from another, or a second automation); raises ValidationFailed (422, every
        problem at its path under `definition`), Conflict (not a live automation, or `MAX_WORKFLOWS`
        already), NotFound."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
            if subscription.category != "automation" or subscription.status not in LIVE:
                raise Conflict("only a live automation subscription has workflows")
            if len(uow.workflows.for_subscription(subscription_id)) >= MAX_WORKFLOWS:
                raise Conflict(f"a subscription has at most {MAX_WORKFLOWS} workflows")
            workflow_id, version_id = self._ids.new_id(), self._ids.new_id()
            compiled = self._compile(uow, subscription, body.get("definition"), version_id, workflow_id)
            if compiled.problems:
                raise ValidationFailed(
                    "The workflow definition cannot run on this subscription",
                    errors=[
                        FieldError(_under("definition", p["path"]), p["message"]) for p in compiled.problems
                    ],
                )
            workflow = Workflow(
                workflow_id,
                subscription.tenant_id,
                subscription.id,
                _text(body, "name", "", 255),
                _text(body, "description", "", 2000),
                compiled.trigger_type,
                compiled.trigger_config,
                "wh_" + secrets.token_urlsafe(18),
                source="custom",
            )
            version = WorkflowVersion(
                version_id, workflow.tenant_id, workflow.id, 1, compiled.definition, compiled.asl
            )
            uow.workflows.add(workflow)
            uow.workflows.add_version(version)
            view = self._view(uow, uow.workflows.get(workflow_id), version)
            uow.commit()
            return view

    def subscription_of(self, tenant_id: str, workflow_id: uuid.UUID) -> uuid.UUID:
        """The subscription the workflow belongs to (what a runtime credential must act for); raises
        NotFound (also for another tenant's)."""
        with self._uow(tenant_id) as uow:
            return uow.workflows.get(workflow_id).subscription_id

    def get(self, tenant_id: str, workflow_id: uuid.UUID) -> dict[str, Any]:
        """One workflow (`workflow_view`); raises NotFound (also for another tenant's)."""
        with self._uow(tenant_id) as uow:
            workflow = uow.workflows.get(workflow_id)
            return self._view(uow, workflow, uow.workflows.version(workflow_id, workflow.version))

    def replace(self, tenant_id: str, workflow_id: uuid.UUID, body: dict[str, Any]) -> dict[str, Any]:
        """Save `body` (`{"definition", "name"?, "description"?}`) as a new version; raises ValidationFailed
        (422, every problem at its path under `definition`) when it is not valid or not allowed, NotFound."""
        with self._uow(tenant_id) as uow:
            workflow = uow.workflows.get(workflow_id, for_update=True)
            subscription = uow.subscriptions.get(workflow.subscription_id)
            version_id = self._ids.new_id()
            compiled = self._compile(uow, subscription, body.get("definition"), version_id, workflow.id)
            if compiled.problems:
                raise ValidationFailed(
                    "The workflow definition cannot run on this subscription",
                    errors=[
                        FieldError(_under("definition", p["path"]), p["message"]) for p in compiled.problems
                    ],
                )
            number = workflow.new_version(compiled.trigger_type, compiled.trigger_config)
            workflow.name = _text(body, "name", workflow.name, 255)
            workflow.description = _text(body, "description", workflow.description, 2000)
            version = WorkflowVersion(
                version_id, workflow.tenant_id, workflow.id, number, compiled.definition, compiled.asl
            )
            uow.workflows.save(workflow)
            uow.workflows.add_version(version)
            view = self._view(uow, uow.workflows.get(workflow_id), version)
            uow.commit()
            return view

    def activate(self, tenant_id: str, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Runs start with the latest version from now on; raises Conflict (409) when that version cannot run
        (its problems listed), ValidationFailed when Step Functions rejects its ASL, NotFound."""
        with self._uow(tenant_id) as uow:
            workflow = uow.workflows.get(workflow_id, for_update=True)
            version = uow.workflows.version(workflow_id, workflow.version)
            if version.asl is None:
                raise Conflict(
                    "this version cannot run; fix the nodes listed and save it again",
                    errors=[
                        FieldError(_under("definition", p["path"]), p["message"]) for p in version.problems
                    ],
                )
            if version.state_machine_arn is None:
                try:
                    version.state_machine_arn = self._engine.create(
                        f"cmp-workflow-{version.id}", version.asl, self._settings.execution_role_arn()
                    )
                except InvalidDefinition as e:
                    raise ValidationFailed(
                        "Step Functions rejected the compiled workflow",
                        errors=[FieldError("definition", str(e))],
                    ) from e
                uow.workflows.save_version(version)
            workflow.activate()
            self._sync_schedule(workflow, version)
            uow.workflows.save(workflow)
            view = self._view(uow, uow.workflows.get(workflow_id), version)
            uow.commit()
            return view

    def pause(self, tenant_id: str, workflow_id: uuid.UUID) -> dict[str, Any]:
        """No new runs until resumed; raises Conflict unless active, NotFound."""
        return self._change(tenant_id, workflow_id, Workflow.pause)

    def resume(self, tenant_id: str, workflow_id: uuid.UUID) -> dict[str, Any]:
        """Back to active with the same version; raises Conflict unless paused, NotFound."""
        return self._change(tenant_id, workflow_id, Workflow.resume)

    def _change(
        self, tenant_id: str, workflow_id: uuid.UUID, change: Callable[[Workflow], None]
    ) -> dict[str, Any]:
        with self._uow(tenant_id) as uow:
            workflow = uow.workflows.get(workflow_id, for_update=True)
            change(workflow)
            self._sync_schedule(workflow, uow.workflows.version(workflow_id, workflow.require_version()))
            uow.workflows.save(workflow)
            view = self._view(
                uow, uow.workflows.get(workflow_id), uow.workflows.version(workflow_id, workflow.version)
            )
            uow.commit()
            return view

    def _sync_schedule(self, workflow: Workflow, active: WorkflowVersion) -> None:
        """Match the workflow's schedule to its active version's trigger and its status (before the commit:
        a Scheduler failure rolls the change back); a (re)created schedule counts from now."""
        trigger_type, trigger_config = trigger_of(active.definition)
        self._schedules.sync(workflow, trigger_type, trigger_config)
        scheduled = trigger_type == "schedule" and workflow.status == "active"
        workflow.schedule_since = self._clock.now() if scheduled else None

    def _create_first(self, uow: WorkflowUnitOfWork, subscription: Subscription) -> Workflow:
        flow_format, flow = uow.workflows.product_flow(subscription.id)
        source, document, problems = "product", BLANK_DEFINITION, []
        if flow_format in ("n8n", "langflow") and flow is not None:
            imported = import_flow(flow_format, flow)
            source, document, problems = flow_format, imported.definition, imported.problems
        version_id = self._ids.new_id()
        compiled = self._compile(uow, subscription, document, version_id, None)
        workflow = Workflow(
            self._ids.new_id(),
            subscription.tenant_id,
            subscription.id,
            subscription.product_name,
            "",
            compiled.trigger_type,
            compiled.trigger_config,
            "wh_" + secrets.token_urlsafe(18),
            source=source,
        )
        version = WorkflowVersion(
            version_id,
            workflow.tenant_id,
            workflow.id,
            1,
            compiled.definition,
            compiled.asl,
            problems + compiled.problems,
        )
        if version.problems:
            version.asl = None
        uow.workflows.add(workflow)
        uow.workflows.add_version(version)
        return workflow

    def _compile(
        self,
        uow: WorkflowUnitOfWork,
        subscription: Subscription,
        document: object,
        version_id: uuid.UUID,
        workflow_id: uuid.UUID | None,
    ) -> Compiled:
        """Parse, check against the subscription's snapshot (and, for `subworkflow` nodes, against the
        subscription's other workflows) and compile; problems instead of ASL when any."""
        try:
            definition: Definition | None = parse_definition(document)
            errors: list[FieldError] = []
        except ValidationFailed as e:
            definition, errors = None, e.errors
        capabilities = ProductCapabilities.from_document(subscription.capabilities)
        allowance = Allowance.from_capabilities(capabilities)
        if definition is not None:
            errors = check_definition(definition, allowance) + check_subworkflows(
                definition,
                SubWorkflowAllowance.from_capabilities(capabilities),
                workflow_id,
                lambda target: _definition_in(uow, subscription.id, target),
            )
        stored = document if isinstance(document, dict) else {}
        if definition is None or errors:
            trigger = trigger_of(stored)
            problems = [e.to_dict() for e in errors]
            return Compiled(stored, trigger[0], trigger[1], None, problems)
        asl = compile_definition(
            definition,
            queue_url=self._settings.steps_queue_url(),
            version_id=str(version_id),
            step_timeout_seconds=allowance.step_timeout_seconds,
            max_iterations=allowance.max_iterations,
        )
        structural = check_compiled(asl)
        if structural:
            raise RuntimeError(f"the compiler produced invalid ASL: {structural}")
        trigger_node = definition.trigger
        return Compiled(stored, trigger_node.type, trigger_node.config, asl, [])


def _definition_in(
    uow: WorkflowUnitOfWork, subscription_id: uuid.UUID, workflow_id: uuid.UUID
) -> Definition | None:
    """The definition of a workflow of the subscription at its active version, else its latest (a version
    that does not parse runs no sub-workflow: the blank definition); None when the subscription has no such
    workflow."""
    try:
        workflow = uow.workflows.get(workflow_id)
    except NotFound:
        return None
    if workflow.subscription_id != subscription_id:
        return None
    version = uow.workflows.version(workflow_id, workflow.active_version or workflow.version)
    try:
        return parse_definition(version.definition)
    except ValidationFailed:
        return parse_definition(BLANK_DEFINITION)


def _firing_schedule(
    workflow: Workflow, trigger_type: str, trigger_config: dict[str, Any]
) -> dict[str, Any] | None:
    """The config of the schedule trigger the workflow's Scheduler schedule fires on: `trigger_config`, the
    active version's trigger (`WorkflowRepository.active_trigger`), while the workflow is active with the
    enabled schedule its last activation or resume created (`schedule_since` set), as
    `WorkflowRepository.schedules` reads it for the dashboard; None otherwise."""
    if workflow.status != "active" or workflow.schedule_since is None or workflow.active_version is None:
        return None
    return trigger_config if trigger_type == "schedule" else None


def _under(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if path else prefix


def _text(body: dict[str, Any], key: str, current: str, limit: int) -> str:
    value = body.get(key, current)
    if not isinstance(value, str) or len(value) > limit or (key == "name" and not value.strip()):
        raise ValidationFailed(
            "The workflow is not valid",
            errors=[FieldError(key, f"expected text of at most {limit} characters")],
        )
    return value
