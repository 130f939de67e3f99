"""API Gateway REQUEST authorizer events and IAM policy answers, as plain dicts.

The shapes are API Gateway's (Lambda authorizer input, "REQUEST" type; output: principalId, policyDocument,
context — https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html).
Built by hand rather than with Powertools' data classes, which cost ~70 ms of import on every cold start of
the authorizer (docs/performance.md).
"""

from __future__ import annotations

from typing import Any


def bearer_token(event: dict[str, Any]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (header names are case-insensitive); None
    when the header is missing or uses another scheme."""
    headers = event.get("headers") or {}
    header = next((str(v) for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def is_api_key(token: str) -> bool:
    """Whether `token` has an API key's prefix (`cmp.tenancy.credentials.KEY_PREFIXES`, imported on the
    first call: the portal authorizer asks only about a token it rejected)."""
    from cmp.tenancy.credentials import KEY_PREFIXES

    return token.startswith(tuple(KEY_PREFIXES.values()))


def header(event: dict[str, Any], name: str) -> str | None:
    """The value of header `name` (compared without regard to case), or None when absent or blank."""
    headers = event.get("headers") or {}
    value = next((str(v) for k, v in headers.items() if k.lower() == name.lower()), "").strip()
    return value or None


def runtime_credential(event: dict[str, Any]) -> tuple[str, str] | None:
    """The credential of a runtime call and the header that carried it, as refusals name it in
    `errors[].path`: (the `X-Api-Key` header, "X-Api-Key"), else (the `Authorization: Bearer` token,
    "Authorization"); None when there is neither."""
    key = header(event, "x-api-key")
    if key:
        return key, "X-Api-Key"
    token = bearer_token(event)
    return (token, "Authorization") if token else None


def allow_all(event: dict[str, Any], principal_id: str, context: dict[str, str]) -> dict[str, Any]:
    """A policy allowing every method and path of the calling API stage, with `context` passed on to the
    integration (`requestContext.authorizer`). Every route is allowed because API Gateway caches the answer
    per token (`ReauthorizeEvery`), not per route; routes check roles themselves."""
    arn = str(event.get("methodArn", ""))
    # arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}/{resource path}
    prefix, _, path = arn.partition("/")
    stage = path.split("/", 1)[0]
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [f"{prefix}/{stage}/*/*"]}
            ],
        },
        "context": context,
    }
