"""Webhook triggers of workflows: the one public workflow route (its own authentication, docs/automations.md)."""

from __future__ import annotations

import base64

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.api import UNKNOWN_QUERY_PARAMETERS
from cmp.web.deps import ServicesDep
from cmp.web.schemas import answers
from cmp.web.workflow_schemas import RunResult, RunSummary

router = Router()


HOOK_ANSWER = {
    **answers(
        202, "The delivery's run (the first one for a retried delivery)", 401, 403, 404, 409, 422, 429, 503
    ),
    200: {
        "description": "A synchronous webhook's finished run, with its last step's output",
        "content": {"application/json": {"model": RunResult}},
    },
    202: {
        "description": "The delivery's run (the first one for a retried delivery), still running",
        "content": {"application/json": {"model": RunSummary}},
    },
}


@router.post("/v1/hooks/<webhook_id>", responses=HOOK_ANSWER, openapi_extensions=UNKNOWN_QUERY_PARAMETERS)
def deliver(webhook_id: str, services: ServicesDep) -> Response[str]:
    """Start a run of the workflow behind `webhook_id` with the JSON body as its input. Authentication is the
    trigger's (`X-API-Key`, Basic, or `X-CMP-Signature: t=…,v1=…` within 5 minutes); a retried delivery with
    the same `Idempotency-Key` (or `X-Delivery-Id`) answers with its first run and starts nothing. A
    synchronous trigger (`mode: sync`) answers 200 with the finished run and its output, or 202 with the
    run id when it is still going after `waitSeconds`. Admitted by the runtime gateway as a call of the
    workflow's subscription: 429 with `Retry-After` when a rate limit or the `executions` quota refuses it
    (nothing started: retry the delivery), 403 when the subscription is not active; every answer carries
    the `RateLimit-Policy` / `RateLimit` headers. Query parameters are ignored: the sending service may append
    its own."""
    event = router.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {k: v for k, v in (event.headers or {}).items() if isinstance(v, str)}
    delivered = services.workflow_hooks.respond(webhook_id, headers, body)
    if delivered.finished:
        result = RunResult.model_validate(delivered.answer).model_dump_json()
        return Response(200, "application/json", result, delivered.headers)
    summary = RunSummary.model_validate(delivered.answer).model_dump_json()
    return Response(202, "application/json", summary, delivered.headers)
