"""Refusals of runtime credentials name the reason, and survive the trip through API Gateway's authorizer
context (strings only) to the route, which raises them with the same status, code, message and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from cmp.errors import DomainError, NotFound
from cmp.gateway.authorization import ROUTE_SCOPES, route_scope
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import (
    CredentialExpired,
    CredentialMissing,
    CredentialRevoked,
    CredentialUnknown,
    OriginRefused,
    Refused,
    SubscriptionNotCallable,
)
from cmp.web.authorizer import runtime_credential

AT = datetime(2026, 11, 30, 8, 0, 5, 123, tzinfo=UTC)


@pytest.mark.parametrize(
    ("error", "status", "code", "words"),
    [
        (CredentialMissing(), 401, "credential_missing", "X-Api-Key"),
        (CredentialUnknown(), 401, "credential_unknown", "unknown API key"),
        (
            CredentialRevoked("api_key", AT),
            401,
            "credential_revoked",
            "API key was revoked at 2026-11-30T08:00:05",
        ),
        (CredentialRevoked("widget_token", AT), 401, "credential_revoked", "widget token was revoked"),
        (CredentialExpired(AT), 401, "credential_expired", "expired at 2026-11-30T08:00:05+00:00"),
        (SubscriptionNotCallable("cancelled"), 403, "subscription_not_callable", "subscription is cancelled"),
        (OriginRefused(None), 403, "origin_not_allowed", "needs the Origin header"),
        (OriginRefused("https://evil.example"), 403, "origin_not_allowed", "Origin https://evil.example"),
        (NotFound("subscription not found"), 404, "not_found", "subscription not found"),
    ],
)
def test_a_refusal_reaches_the_route_as_the_same_error(
    error: DomainError, status: int, code: str, words: str
) -> None:
    assert (error.status, error.code) == (status, code) and words in error.message
    context = Refused.to_authorizer(error)
    assert all(isinstance(v, str) for v in context.values())
    with pytest.raises(Refused) as raised:
        RuntimeContext.from_authorizer(context)
    assert raised.value.to_dict() == error.to_dict()
    assert raised.value.status == status


def test_a_tampered_refusal_is_still_a_refusal() -> None:
    for context in (
        {"refusal": "x", "refusal_status": "200", "refusal_message": "m", "refusal_errors": "[]"},
        {"refusal": "x", "refusal_status": "nope"},
        {"refusal": "x", "refusal_errors": "{"},
    ):
        with pytest.raises(Refused) as raised:
            RuntimeContext.from_authorizer(context)
        assert raised.value.status == 401


def test_a_context_without_refusal_is_read_as_before() -> None:
    assert Refused.from_authorizer({"principal": "api_key"}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Api-Key": "ar_sk_live_k"}, ("ar_sk_live_k", "X-Api-Key")),
        ({"authorization": "Bearer ar_sk_live_k"}, ("ar_sk_live_k", "Authorization")),
        (
            {"x-api-key": "ar_sk_live_a", "Authorization": "Bearer ar_sk_live_b"},
            ("ar_sk_live_a", "X-Api-Key"),
        ),
        ({"Authorization": "Basic dXNlcg=="}, None),
        ({"X-Api-Key": "  "}, None),
    ],
)
def test_the_credential_comes_with_the_header_that_carried_it(
    headers: dict[str, str], expected: tuple[str, str] | None
) -> None:
    assert runtime_credential({"headers": headers}) == expected


def test_a_refused_credential_is_named_by_the_header_it_came_in() -> None:
    for error in (
        CredentialUnknown("Authorization"),
        CredentialRevoked("api_key", AT, "Authorization"),
        CredentialExpired(AT, "Authorization"),
    ):
        assert [e.path for e in error.errors] == ["Authorization"]
    ctx = RuntimeContext(
        "api_key",
        uuid4(),
        uuid4(),
        uuid4(),
        "pro",
        "shared",
        uuid4(),
        ("invoke",),
        credential_header="Authorization",
    )
    assert RuntimeContext.from_authorizer(ctx.to_authorizer()) == ctx
    assert CredentialUnknown().errors[0].path == "X-Api-Key"  # no header said otherwise


def test_every_route_scope_names_a_runtime_route_of_the_template() -> None:
    """`ROUTE_SCOPES` (which the runtime authorizer checks a widget token against before its Origin) names
    only routes behind the runtime authorizer, in API Gateway's spelling."""
    template = (Path(__file__).resolve().parents[3] / "template.yaml").read_text()
    for method, resource in ROUTE_SCOPES:
        line = f'Path: "{resource}", Method: {method.lower()}, Auth: {{Authorizer: RuntimeAuthorizer}}'
        assert line in template, (method, resource)
    assert route_scope("get", "/v1/subscriptions/{subscription_id}/dashboard") == "analytics:read"
    assert route_scope("GET", "/v1/runtime/{subscription_id}/context") is None
    assert route_scope(None, None) is None
