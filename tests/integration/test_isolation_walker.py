"""The isolation walker over every operation of the merged OpenAPI document (see `isolation_walker`), and
the proof that it fails when a route without isolation is added."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from cmp.gateway.authorization import READ_ONLY_ROUTES, route_scope
from cmp_dev.local.template import ApiRoute

from .commerce_support import buy, call, plan, publish
from .conftest import Platform
from .isolation_walker import (
    Credential,
    InProcessFunction,
    UnknownParameter,
    Victims,
    Walker,
    in_process_runner,
)
from .workflow_support import automation

PASSWORD = "Correct-Horse-42"


@dataclass
class World:
    """Victim seller A (a published product with a customer, and a draft), victim buyer V (a subscription
    to A's product with an order, an API key and a widget token), attacker X (both roles, its own
    subscription and API key)."""

    parameters: dict[str, str]
    owners: dict[str, str]
    victims: Victims
    credentials: list[Credential]
    victim: dict[str, str]
    """The victim buyer's authorizer context (to act as it in set-up)."""


def sign_up(platform: Platform, organization: str, account_type: str) -> tuple[str, dict[str, str]]:
    """(access token, authorizer context) of a new organization's owner."""
    tenancy = platform.function("AuthApiFunction").services.tenancy
    email = f"walker-{uuid.uuid4().hex[:10]}@example.com"
    token = tenancy.signup(email, PASSWORD, organization, account_type).access_token
    claims = tenancy.authenticate(token)
    context = {
        "tenant_id": claims.tenant_id,
        "user_id": claims.user_id,
        "roles": ",".join(claims.roles),
        "session_id": claims.session_id,
    }
    return token, context


def integrate(platform: Platform, who: dict[str, str], subscription_id: str, path: str, body: Any) -> Any:
    status, created = call(
        platform,
        "POST",
        f"/v1/subscriptions/{subscription_id}/{path}",
        who,
        body,
        function="IntegrationApiFunction",
    )
    assert status == 201, created
    return created


WORKFLOW = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "copy", "type": "transform", "config": {"expression": "input"}},
    ],
    "edges": [{"source": "start", "target": "copy"}],
}


@pytest.fixture
def world(platform: Platform) -> World:
    db = platform.function("CommerceApiFunction").services.db
    a_token, a = sign_up(platform, "Victim Seller", "seller")
    v_token, v = sign_up(platform, "Victim Buyer", "buyer")
    x_token, x = sign_up(platform, "Attacker", "both")
    offer = publish(db, a["tenant_id"], [plan("Pro", "pro", "10.00")])
    with db.session(a["tenant_id"]) as session:
        draft = session.fetch_one(
            "insert into products (tenant_id, category, subcategory, name) values (%s, 'agent', 'single', 'Secret')"
            " returning id",
            (a["tenant_id"],),
        )
    assert draft
    status, order = buy(platform, v, offer)
    assert status == 201, order
    sv = order["subscription_id"]
    key = integrate(platform, v, sv, "api-keys", {"name": "Victim key"})
    widget = integrate(platform, v, sv, "widget/tokens", {"allowed_origins": ["https://victim.example.com"]})
    status, x_order = buy(platform, x, offer)
    assert status == 201, x_order
    x_key = integrate(platform, x, x_order["subscription_id"], "api-keys", {"name": "Attacker key"})
    # The victim's automation, with a workflow and a run: the workflow routes are walked on real rows.
    flows = platform.function("WorkflowsApiFunction").services
    sa = automation(db, v["tenant_id"])
    wf = uuid.UUID(flows.workflows.list(v["tenant_id"], sa.id)[0]["workflow_id"])
    flows.workflows.replace(v["tenant_id"], wf, {"definition": WORKFLOW})
    flows.workflows.activate(v["tenant_id"], wf)
    run = flows.workflow_runs.start(v["tenant_id"], wf, {"n": 1})["run_id"]
    victims = Victims(
        {
            v["tenant_id"]: {
                sv,
                order["order_id"],
                str(key["id"]),
                str(widget["id"]),
                v["tenant_id"],
                str(sa.id),
                str(wf),
                run,
            },
            a["tenant_id"]: {str(draft["id"]), a["tenant_id"]},
        },
        visible_to={a["tenant_id"]: {sv, order["order_id"], v["tenant_id"]}},
    )
    parameters = {
        "subscription_id": sv,
        "product_id": offer["id"],
        "order_id": order["order_id"],
        "key_id": str(key["id"]),
        "token_id": str(widget["id"]),
        "section": "persona",
        "asset_id": str(uuid.uuid4()),
        "slug_or_id": offer["id"],
        "provider": "local",
        "workflow_id": str(wf),
        "run_id": run,
        # Rows the victim does not have in this world (no conversation, document or Q&A pair yet): these
        # routes are walked with unknown ids, so the walk proves no 2xx and no change, not ownership.
        "message_id": str(uuid.uuid4()),
        "document_id": str(uuid.uuid4()),
        "pair_id": str(uuid.uuid4()),
        "source_id": str(uuid.uuid4()),
        "webhook_id": str(uuid.uuid4()),
        "name": "SHOP_KEY",
    }
    owners = {
        "subscription_id": v["tenant_id"],
        "order_id": v["tenant_id"],
        "key_id": v["tenant_id"],
        "token_id": v["tenant_id"],
        "product_id": a["tenant_id"],
        "asset_id": a["tenant_id"],
        "workflow_id": v["tenant_id"],
        "run_id": v["tenant_id"],
    }
    credentials = [
        Credential("another organization", {"authorization": f"Bearer {x_token}"}, x["tenant_id"]),
        Credential(
            "the victim seller (a seller's token on buyer routes)",
            {"authorization": f"Bearer {a_token}"},
            a["tenant_id"],
        ),
        Credential(
            "the victim buyer (a buyer's token on seller routes)",
            {"authorization": f"Bearer {v_token}"},
            v["tenant_id"],
        ),
        Credential(
            "another subscription's API key", {"authorization": f"Bearer {x_key['secret']}"}, x["tenant_id"]
        ),
        Credential("no credentials", {}, None),
    ]
    return World(parameters, owners, victims, credentials, v)


def walker(platform: Platform, world: World, owner_conn: psycopg.Connection[Any], **options: Any) -> Walker:
    runner = in_process_runner(platform.template, platform.function, platform.invoke)
    return Walker(
        runner, runner.openapi(), world.parameters, world.victims, owner_conn, world.owners, **options
    )


def test_no_operation_returns_or_changes_another_organizations_data(
    platform: Platform, world: World, owner_conn: psycopg.Connection[Any]
) -> None:
    walk = walker(platform, world, owner_conn)
    operations = walk.operations()
    assert len(operations) >= 50
    walked = [op[:2] for op in operations]
    assert ("get", "/v1/subscriptions/{subscription_id}/usage") in walked
    assert ("get", "/v1/runtime/{subscription_id}/context") in walked  # a runtime route (its own authorizer)
    findings = walk.walk(world.credentials)
    assert not findings, "\n".join(str(f) for f in findings)
    assert walk.calls >= 3 * len(operations)
    calls = walk.calls
    findings = walk.walk_websocket(world.credentials)
    assert not findings, "\n".join(str(f) for f in findings)
    assert walk.calls - calls == 2 * len(world.credentials)


def test_the_walker_reports_a_route_added_without_isolation(
    platform: Platform, world: World, owner_conn: psycopg.Connection[Any], postgres: Any
) -> None:
    """A route that reads the subscription by id without the caller's tenant (a connection that bypasses
    row-level security, as a careless repository would) must be reported for a caller of another organization."""
    module = platform.function("CommerceApiFunction")

    @module.app.get("/v1/subscriptions/<subscription_id>/leak")
    def leak(subscription_id: uuid.UUID) -> dict[str, Any]:
        with psycopg.connect(postgres.owner_url) as conn:
            row = conn.execute(
                "select id, tenant_id from subscriptions where id = %s", (subscription_id,)
            ).fetchone()
        return {"subscription_id": str(row[0]), "organization": str(row[1])} if row else {}

    platform.template.routes.append(
        ApiRoute("CommerceApiFunction", "/v1/subscriptions/{subscription_id}/leak", "GET", True)
    )
    walk = walker(platform, world, owner_conn, only=lambda path: path.endswith("/leak"))
    assert [op[:2] for op in walk.operations()] == [("get", "/v1/subscriptions/{subscription_id}/leak")]
    findings = walk.walk(world.credentials)
    # The victim seller may see the subscription's and its organization's ids (its customer's); the API key
    # and the missing credentials are refused by the authorizer.
    assert {f.credential for f in findings} == {"another organization"}
    assert all("returned" in f.reason for f in findings), [str(f) for f in findings]


def test_a_route_with_an_undeclared_path_parameter_fails_the_walk(
    platform: Platform, world: World, owner_conn: psycopg.Connection[Any]
) -> None:
    walk = walker(platform, world, owner_conn)
    walk.document = {"paths": {"/v1/widgets/{widget_id}": {"get": {}}}}
    with pytest.raises(UnknownParameter, match="widget_id"):
        walk.walk(world.credentials)


def test_in_process_functions_report_handler_failures_as_lambda_does() -> None:
    from cmp_dev.local.functions import FunctionError

    def fail(_: dict[str, Any]) -> Any:
        raise Exception("Unauthorized")

    with pytest.raises(FunctionError) as raised:
        InProcessFunction(lambda: None, fail).invoke({})
    assert raised.value.message == "Unauthorized"


def runtime_operations(walk: Walker) -> set[str]:
    """The document's paths whose route API Gateway sends through the runtime authorizer (template.yaml)."""
    template = walk.runner.template
    paths = set()
    for method, path, _ in walk.operations():
        decision = walk.runner.routes.resolve(method.upper(), walk.fill(path))
        auth = template.route_authorizer(decision.route) if hasattr(decision, "route") else None
        if auth is not None and auth.function == "RuntimeAuthorizerFunction":
            paths.add(path)
    return paths


def test_every_runtime_route_refuses_before_its_body_naming_the_reason(
    platform: Platform, world: World, owner_conn: psycopg.Connection[Any]
) -> None:
    """Defect report #9 and #10: each refused credential gets the same status, code and message on every
    runtime route (the route's `runtime_context` dependency raises the authorizer's refusal before the body
    runs; no victim row changes), and another organization's subscription is a 404 whatever the credential."""
    sv, v = world.parameters["subscription_id"], world.victim
    keys = [integrate(platform, v, sv, "api-keys", {"name": f"Refused {i}"}) for i in range(3)]
    widget = integrate(platform, v, sv, "widget/tokens", {"allowed_origins": ["https://victim.example.com"]})
    owner_conn.execute(
        "update api_keys set revoked_at = now() - interval '1 hour' where id = %s", (keys[0]["id"],)
    )
    owner_conn.execute(
        "update api_keys set expires_at = now() - interval '1 minute' where id = %s", (keys[1]["id"],)
    )
    bearer = lambda secret: {"authorization": f"Bearer {secret}"}  # noqa: E731
    refused = [
        (Credential("unknown key", bearer("ar_sk_live_" + "x" * 40), None), 401, "credential_unknown"),
        (Credential("revoked key", {"x-api-key": keys[0]["secret"]}, None), 401, "credential_revoked"),
        (Credential("expired key", bearer(keys[1]["secret"]), None), 401, "credential_expired"),
        (Credential("widget token, no Origin", bearer(widget["token"]), None), 403, "origin_not_allowed"),
        (
            Credential(
                "widget token, wrong Origin", {**bearer(widget["token"]), "origin": "https://x.example"}, None
            ),
            403,
            "origin_not_allowed",
        ),
        *[(c, 404, "not_found") for c in world.credentials if c.tenant_id not in (None, v["tenant_id"])],
        (next(c for c in world.credentials if c.tenant_id is None), 401, "credential_missing"),
    ]
    walk = walker(platform, world, owner_conn)
    runtime = runtime_operations(walk)
    assert "/v1/runtime/{subscription_id}/context" in runtime and "/v1/mcp/{subscription_id}" in runtime
    assert len(runtime) >= 10
    walk = walker(platform, world, owner_conn, only=lambda path: path in runtime)
    findings = walk.walk([c for c, _, _ in refused])
    assert not findings, "\n".join(str(f) for f in findings)
    owner_conn.execute("update subscriptions set status = 'cancelled' where id = %s", (sv,))
    cancelled = Credential("key of a cancelled subscription", bearer(keys[2]["secret"]), None)
    # A cancelled subscription's history stays readable (the read-only routes, test_analytics_read.py);
    # every other runtime route refuses its key.
    history = {resource for _, resource in READ_ONLY_ROUTES}
    calls = walker(platform, world, owner_conn, only=lambda path: path in runtime and path not in history)
    assert len(calls.operations()) == len(walk.operations()) - len(history)
    assert not calls.walk([cancelled])
    expected = {
        c.name: (status, code)
        for c, status, code in [*refused, (cancelled, 403, "subscription_not_callable")]
    }
    # a widget token (scope invoke) on a route needing another scope: the scope, whatever its Origin
    scoped = {(a.credential, a.method, a.path) for a in walk.answers if route_scope(a.method, a.path)}
    scoped = {answer for answer in scoped if answer[0].startswith("widget token")}
    assert len(scoped) >= 2 * 10
    wrong = []
    answers = [*walk.answers, *calls.answers]
    for answer in answers:
        body = json.loads(answer.body)
        wanted = expected[answer.credential]
        if (answer.credential, answer.method, answer.path) in scoped:
            wanted = (403, "forbidden")
        if (answer.status, body.get("error")) != wanted or not body.get("message"):
            wrong.append(
                f"{answer.method.upper()} {answer.path} as {answer.credential}: {answer.status} {body}"
            )
    assert not wrong, "\n".join(wrong)
    assert len(walk.answers) == len(refused) * len(walk.operations())
    assert len(calls.answers) == len(calls.operations())
    messages = {
        a.credential: json.loads(a.body)["message"]
        for a in answers
        if (a.credential, a.method, a.path) not in scoped
    }
    assert "expired at" in messages["expired key"] and "revoked at" in messages["revoked key"]
    assert "Origin header" in messages["widget token, no Origin"]
    assert "https://x.example" in messages["widget token, wrong Origin"]
    assert "victim.example.com" not in messages["widget token, wrong Origin"]
    assert "cancelled" in messages["key of a cancelled subscription"]
