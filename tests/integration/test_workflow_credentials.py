"""Workflow routes on API keys (issue 11; defect report #4), through the local runner's gateway (the
template's runtime authorizer, real API Gateway events) with the functions in-process: a key with
`workflows:manage` reads and saves workflows and secrets, one with `workflows:run` starts, lists, reads,
cancels and re-runs runs; each is refused the other's routes with a 403 naming the scope; a key of another
subscription gets 404 on every workflow, run and secret of this one; the owning buyer's portal token keeps
every route; no credential is a 401."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database
from cmp.errors import NotFound, Unauthorized
from cmp.gateway.authorization import owned_in_path
from cmp.tenancy.credentials import SCOPES, ApiKeyRequest

from .conftest import Platform, unique_email
from .isolation_walker import in_process_runner
from .workflow_support import automation

pytestmark = pytest.mark.integration
DEFINITION = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}},
    ],
    "edges": [{"source": "start", "target": "total"}],
}


def _buyer(platform: Platform, db: Database, name: str) -> tuple[str, Any, uuid.UUID]:
    """(portal token signed with the platform's key, its claims, automation subscription id) of a new
    buyer organization."""
    tenancy = platform.function("AuthApiFunction").services.tenancy
    token = tenancy.signup(unique_email("wf-keys"), "Correct-Horse-42", name, "buyer").access_token
    claims = tenancy.authenticate(token)
    return token, claims, automation(db, claims.tenant_id).id


def _key(services: Services, claims: Any, subscription_id: uuid.UUID, *scopes: str) -> str:
    issued = services.integration.create_api_key(
        claims.tenant_id, claims.user_id, subscription_id, ApiKeyRequest("wf", list(scopes))
    )
    return str(issued.secret)


def test_workflow_routes_take_api_keys_by_scope_and_only_for_their_subscription(
    platform: Platform, db: Database, services: Services
) -> None:
    runner = in_process_runner(platform.template, platform.function, platform.invoke)

    def api(
        method: str, path: str, credential: str | None, body: Any = None, **headers: str
    ) -> tuple[int, Any]:
        sent = {"content-type": "application/json", **headers}
        if credential is not None:
            sent["x-api-key" if credential.startswith("ar_") else "authorization"] = (
                credential if credential.startswith("ar_") else f"Bearer {credential}"
            )
        payload = json.dumps(body).encode() if body is not None else b""
        status, _, raw = runner.dispatch(method, path, sent, payload, "127.0.0.1")
        return status, json.loads(raw) if raw else None

    portal, claims, subscription = _buyer(platform, db, "Keys Buyer")
    manage = _key(services, claims, subscription, "workflows:manage")
    run = _key(services, claims, subscription, "workflows:run")
    other_portal, other_claims, other_subscription = _buyer(platform, db, "Other Buyer")
    other = _key(services, other_claims, other_subscription, "workflows:run", "workflows:manage")

    status, listed = api("GET", f"/v1/subscriptions/{subscription}/workflows", run)
    assert status == 200, listed
    one = f"/v1/workflows/{listed['items'][0]['workflow_id']}"
    bad = {"definition": {**DEFINITION, "nodes": [DEFINITION["nodes"][0], {**DEFINITION["nodes"][1],
           "config": {"expression": "[[[["}}]}}  # fmt: skip
    status, refused = api("PUT", one, manage, bad)
    assert status == 422 and refused["errors"][0]["path"] == "definition.nodes[1].config.expression", refused
    assert "Incomplete expression" in refused["errors"][0]["message"]
    assert api("PUT", one, manage, {"definition": DEFINITION})[0] == 200
    assert api("POST", f"{one}/activate", manage)[0] == 200
    assert api("GET", one, manage)[1]["status"] == "active"
    assert api("GET", f"/v1/subscriptions/{subscription}/secrets", manage)[0] == 200

    for method, path, body in (
        ("GET", one, None),
        ("PUT", one, {"definition": DEFINITION}),
        ("POST", f"{one}/pause", None),
        ("GET", f"/v1/subscriptions/{subscription}/secrets", None),
    ):
        status, denied = api(method, path, run, body)
        assert status == 403 and "workflows:manage" in denied["message"], (path, denied)
    status, denied = api("POST", f"{one}/runs", manage, {"input": {}})
    assert status == 403 and "workflows:run" in denied["message"], denied

    key = {"Idempotency-Key": "nightly-1"}
    status, started = api("POST", f"{one}/runs", run, {"input": {"amounts": [1, 2]}}, **key)
    assert (status, started["status"]) == (202, "running"), started
    run_path = f"/v1/runs/{started['run_id']}"
    status, again = api("POST", f"{one}/runs", run, {"input": {"amounts": [1, 2]}}, **key)
    assert (status, again["run_id"]) == (202, started["run_id"])
    status, differs = api("POST", f"{one}/runs", run, {"input": {"amounts": [9]}}, **key)
    assert status == 422 and differs["errors"][0]["path"] == "header.idempotency-key", differs
    assert "Idempotency-Key" in differs["message"]
    assert [r["run_id"] for r in api("GET", f"{one}/runs", run)[1]["items"]] == [started["run_id"]]
    assert api("GET", run_path, run)[1]["input"] == {"amounts": [1, 2]}
    assert api("POST", f"{run_path}/cancel", run)[1]["status"] == "cancelled"
    status, rerun = api("POST", f"{run_path}/rerun", run)
    assert status == 202 and rerun["rerun_of"] == started["run_id"], rerun
    assert api("GET", f"{one}/runs/export", run)[0] == 200

    for method, path, body in (
        ("GET", f"/v1/subscriptions/{subscription}/workflows", None),
        ("GET", one, None),
        ("PUT", one, {"definition": DEFINITION}),
        ("POST", f"{one}/pause", None),
        ("POST", f"{one}/runs", {"input": {}}),
        ("GET", f"{one}/runs", None),
        ("GET", run_path, None),
        ("POST", f"{run_path}/cancel", None),
        ("POST", f"{run_path}/rerun", None),
        ("GET", f"/v1/subscriptions/{subscription}/secrets", None),
    ):
        assert api(method, path, other, body)[0] == 404, path
        assert api(method, path, None, body)[0] == 401, path

    assert api("GET", run_path, portal)[0] == 200
    assert api("POST", f"{one}/runs", portal, {"input": {"amounts": [3]}})[0] == 202
    assert api("POST", f"{one}/pause", portal)[1]["status"] == "paused"
    assert api("GET", one, other_portal)[0] == 404, "another organization: as if it did not exist"


def test_a_portal_token_on_a_workflow_path_acts_for_the_subscription_owning_it(
    services: Services, db: Database
) -> None:
    tenancy = services.tenancy
    token = tenancy.signup(unique_email("wf-owner"), "Correct-Horse-42", "Owner", "buyer").access_token
    claims = tenancy.authenticate(token)
    subscription = automation(db, claims.tenant_id)
    workflow_id = services.workflows.list(claims.tenant_id, subscription.id)[0]["workflow_id"]
    stranger = tenancy.signup(
        unique_email("wf-stranger"), "Correct-Horse-42", "Stranger", "buyer"
    ).access_token
    authorizer = services.runtime_authorizer
    path = {"workflow_id": workflow_id}
    assert owned_in_path(path) == ("workflow_id", workflow_id)
    assert owned_in_path({"subscription_id": str(subscription.id)}) is None

    context = authorizer.authorize(token, None, None, owned_in_path(path))
    assert (context.principal, context.subscription_id, context.scopes) == ("portal", subscription.id, SCOPES)
    with pytest.raises(NotFound, match="workflow not found"):
        authorizer.authorize(stranger, None, None, owned_in_path(path))
    with pytest.raises(NotFound, match="run not found"):
        authorizer.authorize(token, None, None, ("run_id", str(uuid.uuid4())))
    with pytest.raises(NotFound, match="workflow not found"):
        authorizer.authorize(token, None, None, ("workflow_id", "not-an-id"))
    with pytest.raises(Unauthorized):
        authorizer.authorize(token, None, None)
