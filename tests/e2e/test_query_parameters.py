"""Through the local runner, as a user calls the API: a query parameter a route does not declare is a 422
naming it and the parameters the route takes; webhooks and the widget script ignore them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.subscriptions import subscribe

from .conftest import Account


def test_a_usage_filter_the_route_does_not_take_is_refused_not_ignored(
    api: httpx.Client, buyer: Account, stack_services: Any
) -> None:
    subscription = subscribe(stack_services.db, buyer.tenant_id)
    usage = f"/v1/subscriptions/{subscription.id}/usage"
    refused = buyer.get(usage, params={"from": "yesterday"})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "validation_failed" and body["request_id"]
    assert body["errors"] == [
        {"path": "query.from", "message": "unknown query parameter; this route accepts: period"}
    ]
    assert buyer.get(usage).status_code == 200
    assert buyer.get(usage, params={"period": ""}).status_code == 200


def test_a_misspelt_search_parameter_names_the_ones_the_search_takes(api: httpx.Client) -> None:
    refused = api.get("/v1/marketplace/products", params={"serch": "agent", "limit": "5"})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["path"] == "query.serch"
    assert error["message"] == (
        "unknown query parameter; this route accepts: category, currency, cursor, limit, max_price, "
        "min_price, min_rating, q, runtime, sort, subcategory, tags"
    )
    assert api.get("/v1/marketplace/products", params={"q": "agent", "limit": "5"}).status_code == 200


def test_third_party_callers_may_append_their_own_parameters(api: httpx.Client) -> None:
    script = api.get("/v1/widget/chat.js", params={"v": "2"})
    assert script.status_code == 200 and "chat widget" in script.text
    # An unknown webhook: the route's own 404, not a 422 about the parameter.
    hook = api.post("/v1/hooks/wh_" + "x" * 24, params={"utm_source": "crm"}, json={"order": "A-9"})
    assert hook.status_code == 404, hook.text
    payment = api.post("/v1/payments/webhooks/stripe", params={"attempt": "2"}, json={})
    assert payment.status_code != 422 and "query.attempt" not in payment.text, payment.text


def test_a_parameter_without_a_name_is_reported_at_query(api: httpx.Client) -> None:
    refused = api.get("/v1/marketplace/products?=agent")
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["path"] == "query"
    assert error["message"].startswith("a query parameter has an empty name (nothing before its '=')")


def test_an_empty_value_is_the_same_as_leaving_the_parameter_out_on_every_route(
    api: httpx.Client, buyer: Account, stack_services: Any
) -> None:
    def ids(answer: httpx.Response, key: str) -> list[str]:
        assert answer.status_code == 200, answer.text
        return [item[key] for item in answer.json()["items"]]

    subscribe(stack_services.db, buyer.tenant_id)
    mine = ids(buyer.get("/v1/subscriptions"), "subscription_id")
    assert mine
    for params in ({"status": ""}, {"category": ""}, {"status": "", "limit": ""}):  # enums (and a pattern)
        assert ids(buyer.get("/v1/subscriptions", params=params), "subscription_id") == mine
    assert buyer.get("/v1/subscriptions", params={"status": "dormant"}).status_code == 422
    products = ids(api.get("/v1/marketplace/products"), "slug")
    for params in ({"q": ""}, {"q": " "}, {"q": "", "sort": ""}):  # free text (and a pattern)
        assert ids(api.get("/v1/marketplace/products", params=params), "slug") == products
