"""API Gateway's own answers (no route, authorizer refusals, payload too large, function failures), rendered
from the template's `GatewayResponses` exactly as API Gateway would render them, so local answers and AWS
answers have the same status and body."""

from __future__ import annotations

import json

from cmp_dev.local.template import GatewayResponse, LocalTemplate

# API Gateway's status and message for each response type when the template does not override them.
DEFAULTS: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "DEFAULT_5XX": (502, "Internal server error"),
}

Answer = tuple[int, dict[str, str], bytes]


def gateway_response(
    template: LocalTemplate, kind: str, request_id: str, status: int | None = None
) -> Answer:
    """The answer of response type `kind` (a key of DEFAULTS) for request `request_id`.

    `status` overrides the type's default status (API Gateway answers a failed Lambda integration with
    502 under DEFAULT_5XX); a status set in the template wins over both. A type the template does not
    configure falls back to its DEFAULT_4XX / DEFAULT_5XX configuration, then to API Gateway's
    `{"message": ...}` body.
    """
    default_status, message = DEFAULTS[kind]
    status = status or default_status
    fallback = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    configured = template.gateway_responses.get(kind) or template.gateway_responses.get(fallback)
    if configured is None:
        configured = GatewayResponse(None, {}, None)
    if configured.status is not None:
        status = configured.status
    headers = {"Content-Type": "application/json", **configured.headers}
    if configured.body_template is None:
        return status, headers, json.dumps({"message": message}).encode()
    body = (
        configured.body_template.replace("$context.requestId", request_id)
        .replace("$context.error.messageString", json.dumps(message))
        .replace("$context.error.message", message)
        .replace("$context.error.responseType", kind)
    )
    return status, headers, body.encode()
