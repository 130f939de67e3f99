"""The isolation walker over every operation of the merged OpenAPI document (see `isolation_walker`), and
the proof that it fails when a route without isolation is added."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

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
    victims = Victims(
        {
            v["tenant_id"]: {sv, order["order_id"], str(key["id"]), str(widget["id"]), v["tenant_id"]},
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
        # Rows the victim does not have in this world (no conversation, document, Q&A pair or workflow yet):
        # these routes are walked with unknown ids, so the walk proves no 2xx and no change, not ownership.
        "message_id": str(uuid.uuid4()),
        "document_id": str(uuid.uuid4()),
        "pair_id": str(uuid.uuid4()),
        "source_id": str(uuid.uuid4()),
        "workflow_id": str(uuid.uuid4()),
        "run_id": str(uuid.uuid4()),
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
    return World(parameters, owners, victims, credentials)


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
