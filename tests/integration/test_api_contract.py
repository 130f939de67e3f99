"""Bad input a new user or a fuzzer sends, through the real handlers and database: always a 4xx naming the
field in the common error shape, nothing stored; and what the API shows agrees with itself."""

from __future__ import annotations

import json
from typing import Any

from cmp.bootstrap import Services

from .conftest import Platform, api_event, caller_of, unique_email
from .test_catalog import admin_api, call, provider, ready_product, review


def assert_error(body: dict[str, Any], status: int, expected: int, error: str) -> None:
    assert status == expected, body
    assert body["error"] == error and body["request_id"], body
    assert isinstance(body["errors"], list)


def test_a_nul_character_in_a_login_or_signup_is_a_422_naming_the_field(
    platform: Platform, owner_conn: Any
) -> None:
    status, body = call(
        platform, "AuthApiFunction", "POST", "/v1/auth/login", None, {"email": "a@b.c\x00", "password": "x"}
    )
    assert_error(body, status, 422, "validation_failed")
    assert body["errors"][0]["path"] == "email"
    email = unique_email("nul")
    signup = {"email": email, "password": "Correct-Horse-42", "organization_name": "Nul\x00 Org"}
    status, body = call(platform, "AuthApiFunction", "POST", "/v1/auth/signup", None, signup)
    assert_error(body, status, 422, "validation_failed")
    assert body["errors"][0]["path"] == "organization_name"
    assert owner_conn.execute("select count(*) from users where email = %s", (email,)).fetchone()[0] == 0


def test_deeply_nested_and_malformed_bodies_are_422_at_body(platform: Platform) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    status, body = call(
        platform, "CapabilitiesApiFunction", "POST", "/v1/capabilities/validate", None, raw_body=deep
    )
    assert_error(body, status, 422, "validation_failed")
    assert body["errors"][0]["path"] == "body"
    status, body = call(
        platform,
        "CapabilitiesApiFunction",
        "POST",
        "/v1/capabilities/validate",
        None,
        raw_body='{"a": [1, 2,,]}',
    )
    assert_error(body, status, 422, "validation_failed")
    assert body["errors"] == [
        {"path": "body", "message": "not valid JSON: Expecting value at line 1, column 13"}
    ]


def test_invalid_capabilities_keep_valid_false_and_add_the_common_fields(platform: Platform) -> None:
    status, body = call(
        platform, "CapabilitiesApiFunction", "POST", "/v1/capabilities/validate", None, {"category": "robot"}
    )
    assert_error(body, status, 422, "validation_failed")
    assert body["valid"] is False and body["errors"][0]["path"] == "category"


def test_a_huge_price_is_a_422_and_nothing_is_stored(platform: Platform, services: Services) -> None:
    seller = caller_of(services, "Huge Price")
    product_id = ready_product(platform, seller, "huge-price", logo=False)
    for digits in (5000, 900):
        raw = '{"plans": [{"name": "Gold", "tier": "pro", "priceMonthly": ' + "9" * digits + "}]}"
        status, body = provider(platform, "PUT", f"/{product_id}/plans", seller, raw_body=raw)
        assert_error(body, status, 422, "validation_failed")
    status, product = provider(platform, "GET", f"/{product_id}", seller)
    assert [p["name"] for p in product["plans"]] == ["Starter", "Pro"]


def test_a_json_body_sent_as_text_is_a_415(platform: Platform) -> None:
    event = api_event("POST", "/v1/auth/login", {"email": "a@b.c", "password": "x"})
    event["headers"] = {"content-type": "text/plain"}
    response = platform.invoke("AuthApiFunction", event)
    body = json.loads(response["body"])
    assert_error(body, response["statusCode"], 415, "unsupported_media_type")


def test_a_repeated_query_parameter_says_it_was_given_twice(platform: Platform) -> None:
    event = api_event("GET", "/v1/marketplace/products")
    event["queryStringParameters"] = {"category": "app"}
    event["multiValueQueryStringParameters"] = {"category": ["agent", "app"]}
    response = platform.invoke("MarketplaceApiFunction", event)
    body = json.loads(response["body"])
    assert_error(body, response["statusCode"], 422, "validation_failed")
    assert body["errors"] == [{"path": "query.category", "message": "was given 2 times; give it once"}]


def test_a_published_product_is_found_by_its_percent_encoded_slug_and_review_status_agrees(
    platform: Platform, services: Services
) -> None:
    seller, admin = caller_of(services, "Encoded"), caller_of(services, admin=True)
    product_id = ready_product(platform, seller, "enc-slug")
    assert provider(platform, "POST", f"/{product_id}/submit", seller)[0] == 202
    review(platform)
    status, listed = provider(platform, "GET", "", seller)
    status, detail = provider(platform, "GET", f"/{product_id}", seller)
    summary = next(p for p in listed["items"] if p["id"] == product_id)
    assert summary["review_status"] == detail["review_status"] == "checks_passed"
    status, body = admin_api(platform, "PUT", f"/products/{product_id}/featured", admin, {"featured": "yes"})
    assert_error(body, status, 422, "validation_failed")
    assert body["errors"][0]["path"] == "featured"
    assert admin_api(platform, "POST", f"/products/{product_id}/approve", admin)[0] == 200
    slug = detail["slug"]
    encoded = slug.replace("-", "%2D")
    status, page = call(
        platform, "MarketplaceApiFunction", "GET", f"/v1/marketplace/products/{encoded}", None
    )
    assert status == 200 and page["id"] == product_id, page
