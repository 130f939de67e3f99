"""`make_resolver(..., validated=False)`: the resolver of functions whose routes read their input by hand (the
widget script, the payment webhooks). The same first steps and error shape as a validating resolver, without
Powertools' validation middleware."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.errors import NotFound
from cmp.gateway.errors import CredentialRevoked, Refused
from cmp.web.api import make_resolver
from cmp.web.deps import ServicesDep
from cmp.web.routes.payments import WebhookReceipt

pytestmark = pytest.mark.unit
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

router = Router()


@router.post("/v1/things/<name>")
def thing(name: str, services: ServicesDep) -> WebhookReceipt:
    if name not in services.known:
        raise NotFound(f"no thing {name}")
    return WebhookReceipt(applied=True, outcome=name)


def send(path: str, authorizer: dict[str, Any] | None = None) -> tuple[int, Any]:
    app = make_resolver(Logger(service="unvalidated-test"), SimpleNamespace(known={"a b"}), validated=False)  # type: ignore[arg-type]
    app.include_router(router)
    event = {
        "resource": "/v1/things/{name}",
        "path": path,
        "httpMethod": "POST",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"name": path.rsplit("/", 1)[-1]},
        "body": "not json, read by hand",
        "isBase64Encoded": False,
        "requestContext": {"requestId": REQUEST_ID, "httpMethod": "POST", "authorizer": authorizer},
    }
    answer = app.resolve(event, SimpleNamespace())  # type: ignore[arg-type]
    return answer["statusCode"], json.loads(answer["body"])


def test_path_parameters_are_decoded_services_injected_and_the_model_serialized() -> None:
    assert send("/v1/things/a%20b") == (200, {"received": True, "applied": True, "outcome": "a b"})


def test_domain_errors_have_the_one_error_shape() -> None:
    status, body = send("/v1/things/c")
    assert status == 404
    assert body == {"error": "not_found", "message": "no thing c", "errors": [], "request_id": REQUEST_ID}


def test_the_authorizers_refusal_comes_before_the_route() -> None:
    refusal = Refused.to_authorizer(CredentialRevoked("api_key", datetime(2026, 11, 30, tzinfo=UTC)))
    status, body = send("/v1/things/a%20b", refusal)
    assert status == 401 and body["error"] == CredentialRevoked.code


def test_the_validation_middleware_is_not_built() -> None:
    app = make_resolver(Logger(service="unvalidated-test"), validated=False)
    assert not hasattr(app, "_request_validation_middleware")
