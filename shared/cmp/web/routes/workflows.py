"""A subscription's workflows and their runs (spec Part 7; docs/automations.md)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from cmp.catalog.paging import ProductPage
from cmp.web.deps import Buyer, ServicesDep
from cmp.web.schemas import PageCursor, PageLimit, answers
from cmp.web.workflow_schemas import (
    RunBody,
    RunDetail,
    RunExport,
    RunList,
    RunSummary,
    Workflow,
    WorkflowBody,
    WorkflowList,
)

router = Router()
ONE = "/v1/workflows/<workflow_id>"
RUN = "/v1/runs/<run_id>"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="A retried request with the same key returns the first run and starts nothing",
    ),
]


@router.get(
    "/v1/subscriptions/<subscription_id>/workflows",
    responses=answers(200, "The subscription's workflows, oldest first", 401, 403, 404),
)
def list_workflows(subscription_id: UUID, buyer: Buyer, services: ServicesDep) -> WorkflowList:
    """The subscription's workflows. An automation's first workflow is created on the first call: the
    product's imported flow, or a manual trigger to build on."""
    return WorkflowList.model_validate({"items": services.workflows.list(buyer.tenant_id, subscription_id)})


@router.get(ONE, responses=answers(200, "The workflow and its latest definition", 401, 403, 404))
def get_workflow(workflow_id: UUID, buyer: Buyer, services: ServicesDep) -> Workflow:
    """One workflow of the organization (another organization's id is a 404)."""
    return Workflow.model_validate(services.workflows.get(buyer.tenant_id, workflow_id))


@router.put(ONE, responses=answers(200, "Saved as a new version", 401, 403, 404, 422))
def put_workflow(workflow_id: UUID, body: WorkflowBody, buyer: Buyer, services: ServicesDep) -> Workflow:
    """Save a new version. A definition that is not valid, or uses what the product does not enable, is a 422
    listing every problem at its path (`definition.nodes[2].config.method`). Runs keep the version they
    started with; new runs use the new version once it is activated."""
    values = body.model_dump(exclude_none=True)
    return Workflow.model_validate(services.workflows.replace(buyer.tenant_id, workflow_id, values))


@router.post(
    f"{ONE}/activate", responses=answers(200, "Active with the latest version", 401, 403, 404, 409, 422)
)
def activate(workflow_id: UUID, buyer: Buyer, services: ServicesDep) -> Workflow:
    """New runs use the latest version from now on; 409 when that version cannot run (its problems listed)."""
    return Workflow.model_validate(services.workflows.activate(buyer.tenant_id, workflow_id))


@router.post(f"{ONE}/pause", responses=answers(200, "Paused", 401, 403, 404, 409))
def pause(workflow_id: UUID, buyer: Buyer, services: ServicesDep) -> Workflow:
    """No new runs until resumed (runs in flight finish); 409 unless active."""
    return Workflow.model_validate(services.workflows.pause(buyer.tenant_id, workflow_id))


@router.post(f"{ONE}/resume", responses=answers(200, "Active again", 401, 403, 404, 409))
def resume(workflow_id: UUID, buyer: Buyer, services: ServicesDep) -> Workflow:
    """Back to active with the same version; 409 unless paused."""
    return Workflow.model_validate(services.workflows.resume(buyer.tenant_id, workflow_id))


@router.post(
    f"{ONE}/runs",
    responses=answers(202, "Started (or the run of this Idempotency-Key)", 401, 403, 404, 409, 422),
)
def start_run(
    workflow_id: UUID,
    body: RunBody,
    buyer: Buyer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> tuple[RunSummary, int]:
    """Start a run of the active version with `input`; poll `GET /v1/runs/{run_id}` for its outcome. 409
    when the workflow is not active."""
    started = services.workflow_runs.start(
        buyer.tenant_id, workflow_id, body.input, trigger_type="manual", idempotency_key=idempotency_key
    )
    return RunSummary.model_validate(started), 202


@router.get(f"{ONE}/runs", responses=answers(200, "One page of runs, newest first", 401, 403, 404, 422))
def list_runs(
    workflow_id: UUID,
    buyer: Buyer,
    services: ServicesDep,
    status: Annotated[
        Literal["pending", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only this status"),
    ] = None,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> RunList:
    """The workflow's run history."""
    page = ProductPage.from_query(limit, cursor)
    return RunList.model_validate(services.workflow_runs.page(buyer.tenant_id, workflow_id, status, page))


@router.get(RUN, responses=answers(200, "The run with every step", 401, 403, 404))
def get_run(run_id: UUID, buyer: Buyer, services: ServicesDep) -> RunDetail:
    """Status, timing, input and every step execution (input, output, error, attempt), credentials masked."""
    return RunDetail.model_validate(services.workflow_runs.detail(buyer.tenant_id, run_id))


@router.post(f"{RUN}/cancel", responses=answers(200, "Cancelled", 401, 403, 404, 409))
def cancel_run(run_id: UUID, buyer: Buyer, services: ServicesDep) -> RunSummary:
    """Stop the run's execution; 409 when it already finished."""
    return RunSummary.model_validate(services.workflow_runs.cancel(buyer.tenant_id, run_id))


@router.post(f"{RUN}/rerun", responses=answers(202, "A new run with the same input", 401, 403, 404, 409))
def rerun(run_id: UUID, buyer: Buyer, services: ServicesDep) -> tuple[RunSummary, int]:
    """A new run of the workflow's active version with this run's input (`rerun_of` names this run)."""
    return RunSummary.model_validate(services.workflow_runs.rerun(buyer.tenant_id, run_id)), 202


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
    buyer: Buyer,
    services: ServicesDep,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
    status: Annotated[
        Literal["pending", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only this status"),
    ] = None,
) -> Response[str]:
    """The workflow's newest 10,000 runs with their masked input, for a spreadsheet or an archive."""
    from cmp.workflows.runs import runs_csv

    exported = services.workflow_runs.export(buyer.tenant_id, workflow_id, status)
    filename = f"workflow-{workflow_id}-runs.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if format == "csv":
        body = runs_csv(exported["items"])
        return Response(200, "text/csv; charset=utf-8", body, headers)
    body = RunExport.model_validate(exported).model_dump_json()
    return Response(200, "application/json", body, headers)
