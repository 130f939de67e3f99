"""Payment provider webhooks (no authorizer: the provider's signature over the raw body authenticates)."""

from __future__ import annotations

import base64

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field

from cmp.web.api import UNKNOWN_QUERY_PARAMETERS
from cmp.web.deps import ServicesDep
from cmp.web.schemas import ApiModel, answers

router = Router()
SIGNATURE_HEADER = "stripe-signature"
"""Both providers sign with Stripe's scheme, in Stripe's header (`Stripe-Signature: t=…,v1=…`)."""


class WebhookReceipt(ApiModel):
    """The delivery was verified: `applied` False for a duplicate, replay, stale or ignored event, or one
    about no order of ours (all answered 200, so the provider stops retrying)."""

    received: bool = True
    applied: bool
    outcome: str = Field(examples=["applied", "duplicate", "stale", "ignored", "unknown", "refused"])


@router.post(
    "/v1/payments/webhooks/<provider>",
    responses=answers(200, "Verified and applied (or already applied)", 400, 401, 404),
    openapi_extensions=UNKNOWN_QUERY_PARAMETERS,
)
def webhook(provider: str, services: ServicesDep) -> WebhookReceipt:
    """A provider's event, signed over the raw body (`Stripe-Signature`); query parameters are ignored (the
    provider's to add)."""
    event = router.current_event
    body = event.body or ""
    payload = base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8", "surrogateescape")
    applied = services.webhooks.receive(provider, payload, event.headers.get(SIGNATURE_HEADER))
    return WebhookReceipt(applied=applied.applied, outcome=applied.outcome)
