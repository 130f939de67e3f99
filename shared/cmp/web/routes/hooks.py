"""Webhook triggers of workflows: the one public workflow route (its own authentication, docs/automations.md)."""

from __future__ import annotations

import base64

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.deps import ServicesDep
from cmp.web.schemas import answers
from cmp.web.workflow_schemas import RunSummary

router = Router()


@router.post(
    "/v1/hooks/<webhook_id>",
    responses=answers(202, "The delivery's run (the first one for a retried delivery)", 401, 404, 409, 422),
)
def deliver(webhook_id: str, services: ServicesDep) -> tuple[RunSummary, int]:
    """Start a run of the workflow behind `webhook_id` with the JSON body as its input. Authentication is the
    trigger's (`X-API-Key`, Basic, or `X-CMP-Signature: t=…,v1=…` within 5 minutes); a retried delivery with
    the same `Idempotency-Key` (or `X-Delivery-Id`) answers with its first run and starts nothing."""
    event = router.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    headers = {k: v for k, v in (event.headers or {}).items() if isinstance(v, str)}
    return RunSummary.model_validate(services.workflow_hooks.deliver(webhook_id, headers, body)), 202
