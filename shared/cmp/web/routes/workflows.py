"""A subscription's workflows and their runs (spec Part 7; docs/automations.md).

Runtime routes (issue 11): the runtime authorizer admits the owning buyer's portal token (every scope) or
an API key of the subscription; reading and changing workflows needs `workflows:manage`, runs need
`workflows:run` (403 naming the scope otherwise), and a workflow or run of any other subscription is a 404
whatever the credential. The organization comes only from the authorizer's context.

A run start (`POST /v1/workflows/{id}/runs`, `POST /v1/runs/{id}/rerun`) is the runtime call: the gateway
admits it (`cmp.workflows.admission`) against the plan's rate limits, concurrency cap and `executions` quota
(429 naming the limit or the quota, with `Retry-After`) and its answer carries the `RateLimit-Policy` /
`RateLimit` headers. The other routes (definitions, activation, history, a run's status, cancel, export) are
the control plane: not counted against the plan's rate limits or `apiCalls` quota, so polling a run never
spends what its runs need; the API stage's throttle (template.yaml `MethodSettings`) bounds them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from cmp.catalog.paging import ProductPage
from cmp.errors import FieldError, NotFound, ValidationFailed
from cmp.gateway.authorization import WORKFLOWS_MANAGE, WORKFLOWS_RUN
from cmp.gateway.context import RuntimeContext
from cmp.web.deps import Runtime, ServicesDep
from cmp.web.schemas import PageCursor, PageLimit, answers
from cmp.web.workflow_schemas import (
    NewWorkflowBody,
    RunBody,
    RunDetail,
    RunExport,
    RunList,
    RunSummary,
    Workflow,
    WorkflowBody,
    WorkflowList,
)
from cmp.workflows.admission import EXECUTIONS, start_admitted

if TYPE_CHECKING:
    from cmp.bootstrap import Services

router = Router()
JSON = content_types.APPLICATION_JSON
GATE = (429, 503)
"""The gateway's refusals of a run start: a rate limit or quota (429), a dedicated runtime not provisioned
yet (503)."""
ONE = "/v1/workflows/<workflow_id>"
RUN = "/v1/runs/<run_id>"
MANAGE, RUNS = WORKFLOWS_MANAGE, WORKFLOWS_RUN

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="A retried request with the same key returns the first run and starts nothing",
    ),
]


def on_workflow(ctx: RuntimeContext, workflow_id: UUID, scope: str, services: Services) -> str:
    """The caller's tenant id, once the workflow is one of the credential's subscription (NotFound, 404,
    otherwise: another subscription's workflow is not revealed) and the credential holds `scope`
    (Forbidden, 403, naming it)."""
    tenant_id = str(ctx.tenant_id)
    if services.workflows.subscription_of(tenant_id, workflow_id) != ctx.subscription_id:
        raise NotFound("workflow not found")
    ctx.require_scope(scope)
    return tenant_id


def on_run(ctx: RuntimeContext, run_id: UUID, services: Services) -> str:
    """The caller's tenant id, once the run is one of the credential's subscription (404 otherwise) and the
    credential holds `workflows:run` (403)."""
    tenant_id = str(ctx.tenant_id)
    if services.workflow_runs.subscription_of(tenant_id, run_id) != ctx.subscription_id:
        raise NotFound("run not found")
    ctx.require_scope(RUNS)
    return tenant_id


@router.get(
    "/v1/subscriptions/<subscription_id>/workflows",
    responses=answers(200, "The subscription's workflows, oldest first", 401, 403, 404),
)
def list_workflows(subscription_id: UUID, ctx: Runtime, services: ServicesDep) -> WorkflowList:
    """The subscription's workflows (with `workflows:manage` or `workflows:run`, so a key that runs a
    workflow can find its id). An automation's first workflow is created on the first call: the product's
    imported flow, or a manual trigger to build on."""
    ctx.require_subscription(subscription_id)
    if RUNS not in ctx.scopes:
        ctx.require_scope(MANAGE)
    items = services.workflows.list(str(ctx.tenant_id), subscription_id)
    return WorkflowList.model_validate({"items": items})


@router.post(
    "/v1/subscriptions/<subscription_id>/workflows",
    responses=answers(201, "Created, as a draft", 401, 403, 404, 409, 422),
)
def create_workflow(
    subscription_id: UUID, body: NewWorkflowBody, ctx: Runtime, services: ServicesDep
) -> tuple[Workflow, int]:
    """A new workflow of the subscription (for instance one another workflow runs as a sub-workflow); a
    draft until activated. 422 lists every problem of the definition at its path; 409 when the
    subscription is not a live automation or already has 50 workflows."""
    ctx.require_subscription(subscription_id)
    ctx.require_scope(MANAGE)
    values = body.model_dump(exclude_none=True)
    return Workflow.model_validate(
        services.workflows.create(str(ctx.tenant_id), subscription_id, values)
    ), 201


@router.get(ONE, responses=answers(200, "The workflow and its latest definition", 401, 403, 404))
def get_workflow(workflow_id: UUID, ctx: Runtime, services: ServicesDep) -> Workflow:
    """One workflow of the subscription (another subscription's id is a 404)."""
    tenant_id = on_workflow(ctx, workflow_id, MANAGE, services)
    return Workflow.model_validate(services.workflows.get(tenant_id, workflow_id))


@router.put(ONE, responses=answers(200, "Saved as a new version", 401, 403, 404, 422))
def put_workflow(workflow_id: UUID, body: WorkflowBody, ctx: Runtime, services: ServicesDep) -> Workflow:
    """Save a new version. A definition that is not valid, or uses what the product does not enable, is a 422
    listing every problem at its path (`definition.nodes[2].config.method`). Runs keep the version they
    started with; new runs use the new version once it is activated."""
    tenant_id = on_workflow(ctx, workflow_id, MANAGE, services)
    values = body.model_dump(exclude_none=True)
    return Workflow.model_validate(services.workflows.replace(tenant_id, workflow_id, values))


@router.post(
    f"{ONE}/activate", responses=answers(200, "Active with the latest version", 401, 403, 404, 409, 422)
)
def activate(workflow_id: UUID, ctx: Runtime, services: ServicesDep) -> Workflow:
    """New runs use the latest version from now on; 409 when that version cannot run (its problems listed)."""
    tenant_id = on_workflow(ctx, workflow_id, MANAGE, services)
    return Workflow.model_validate(services.workflows.activate(tenant_id, workflow_id))


@router.post(f"{ONE}/pause", responses=answers(200, "Paused", 401, 403, 404, 409))
def pause(workflow_id: UUID, ctx: Runtime, services: ServicesDep) -> Workflow:
    """No new runs until resumed (runs in flight finish); 409 unless active."""
    tenant_id = on_workflow(ctx, workflow_id, MANAGE, services)
    return Workflow.model_validate(services.workflows.pause(tenant_id, workflow_id))


@router.post(f"{ONE}/resume", responses=answers(200, "Active again", 401, 403, 404, 409))
def resume(workflow_id: UUID, ctx: Runtime, services: ServicesDep) -> Workflow:
    """Back to active with the same version; 409 unless paused."""
    tenant_id = on_workflow(ctx, workflow_id, MANAGE, services)
    return Workflow.model_validate(services.workflows.resume(tenant_id, workflow_id))


@router.post(
    f"{ONE}/runs",
    responses=answers(202, "Started (or the run of this Idempotency-Key)", 401, 403, 404, 409, 422, *GATE),
)
def start_run(
    workflow_id: UUID,
    body: RunBody,
    ctx: Runtime,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response[RunSummary]:
    """Start a run of the active version with `input`; poll `GET /v1/runs/{run_id}` for its outcome. 409
    when the workflow is not active; 422 when the Idempotency-Key was used before with another input; 429
    `quota_exceeded` when the plan's `executions` are used up (a retry of a run already started is
    answered with it)."""
    on_workflow(ctx, workflow_id, RUNS, services)
    started, headers = start_admitted(
        services.gateway.admit,
        ctx,
        services.workflow_runs,
        workflow_id,
        body.input,
        trigger_type="manual",
        idempotency_key=idempotency_key,
        key_header="Idempotency-Key",
    )
    return Response(202, JSON, RunSummary.model_validate(started), headers)


@router.get(f"{ONE}/runs", responses=answers(200, "One page of runs, newest first", 401, 403, 404, 422))
def list_runs(
    workflow_id: UUID,
    ctx: Runtime,
    services: ServicesDep,
    status: Annotated[
        Literal["pending", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only this status"),
    ] = None,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> RunList:
    """The workflow's run history."""
    tenant_id = on_workflow(ctx, workflow_id, RUNS, services)
    page = ProductPage.from_query(limit, cursor)
    return RunList.model_validate(services.workflow_runs.page(tenant_id, workflow_id, status, page))


@router.get(RUN, responses=answers(200, "The run with every step", 401, 403, 404))
def get_run(run_id: UUID, ctx: Runtime, services: ServicesDep) -> RunDetail:
    """Status, timing, input and every step execution (input, output, error, attempt), credentials masked."""
    tenant_id = on_run(ctx, run_id, services)
    return RunDetail.model_validate(services.workflow_runs.detail(tenant_id, run_id))


@router.post(f"{RUN}/cancel", responses=answers(200, "Cancelled", 401, 403, 404, 409))
def cancel_run(run_id: UUID, ctx: Runtime, services: ServicesDep) -> RunSummary:
    """Stop the run's execution; 409 when it already finished."""
    tenant_id = on_run(ctx, run_id, services)
    return RunSummary.model_validate(services.workflow_runs.cancel(tenant_id, run_id))


@router.post(
    f"{RUN}/rerun", responses=answers(202, "A new run with the same input", 401, 403, 404, 409, 422, *GATE)
)
def rerun(run_id: UUID, ctx: Runtime, services: ServicesDep) -> Response[RunSummary]:
    """A new run of the workflow's active version with this run's input (`rerun_of` names this run); 429
    `quota_exceeded` when the plan's `executions` are used up. It takes no body (none, or `{}`): a body
    with anything in it is a 422 naming `body`, never ignored, so a caller who meant another input is told
    to start a run with it instead of getting the old input's run."""
    refuse_a_body()
    tenant_id = on_run(ctx, run_id, services)
    with services.gateway.admit(ctx, EXECUTIONS) as admission:
        started = services.workflow_runs.rerun(tenant_id, run_id)
    return Response(202, JSON, RunSummary.model_validate(started), admission.headers)


def refuse_a_body() -> None:
    """Raises ValidationFailed (path `body`) unless the request's body is absent, blank or `{}`."""
    event = router.current_event
    raw = event.body or ""
    sent = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    if sent.strip() not in (b"", b"{}"):
        raise ValidationFailed(
            "a rerun takes no body",
            errors=[
                FieldError(
                    "body",
                    "must be empty: a rerun uses the first run's input; to run with another input,"
                    " POST /v1/workflows/{workflow_id}/runs with it",
                )
            ],
        )


EXPORT_ANSWER = {
    **answers(200, "The runs, as JSON or CSV", 401, 403, 404, 422),
    200: {
        "description": "The runs (newest first, input masked), as JSON or CSV",
        "content": {
            "application/json": {"model": RunExport},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
}


@router.get(f"{ONE}/runs/export", responses=EXPORT_ANSWER)
def export_runs(
    workflow_id: UUID,
    ctx: Runtime,
    services: ServicesDep,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    status: Annotated[
        Literal["pending", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only this status"),
    ] = None,
) -> Response[str]:
    """The workflow's newest 10,000 runs with their masked input, for a spreadsheet or an archive."""
    from cmp.workflows.runs import runs_csv

    tenant_id = on_workflow(ctx, workflow_id, RUNS, services)
    exported = services.workflow_runs.export(tenant_id, workflow_id, status)
    filename = f"workflow-{workflow_id}-runs.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        body = runs_csv(exported["items"])
        return Response(200, "text/csv; charset=utf-8", body, headers)
    body = RunExport.model_validate(exported).model_dump_json()
    return Response(200, "application/json", body, headers)
