"""The web layer without a database: routers resolved through `make_resolver` with fake services injected,
so request checks, the error shape and the declared contract are tested as API Gateway would drive them."""

from __future__ import annotations

import io
import json
import logging
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from cmp.catalog.search import MAX_TAGS
from cmp.errors import NotFound, ValidationFailed
from cmp.flows.safety import MAX_INTEGER_DIGITS, MAX_NESTING_DEPTH
from cmp.web.api import (
    MAX_BODY_BYTES,
    error_path,
    make_resolver,
    nesting_depth,
    parse_json_body,
    problem_message,
)
from cmp.web.query import QUERY_DOCS, search_from_query
from cmp.web.routes import admin, auth, capabilities, marketplace, provider, ratings, sales
from cmp.web.schemas import OPTIONAL_DAY_PATTERN

TENANT = "00000000-0000-4000-8000-0000000000aa"
USER = "00000000-0000-4000-8000-0000000000bb"
PRODUCT = "6d1f5184-86a1-4dc5-af2c-b2e2ba71bc82"
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"


class FakeReviews:
    def __init__(self) -> None:
        self.featured: list[tuple[str, bool]] = []

    def set_featured(self, product_id: str, featured: bool) -> dict[str, Any]:
        self.featured.append((product_id, featured))
        return {"product_id": product_id, "featured": featured}


class FakeTenancy:
    def login(self, email: str, password: str, organization_id: str | None) -> Any:
        return SimpleNamespace(access_token="t", expires_in=3600)


class FakeProfiles:
    def profile(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        raise RuntimeError("the profile store is broken")


def product_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": PRODUCT,
        "name": "Bot",
        "slug": "bot",
        "category": "agent",
        "subcategory": "single",
        "status": "pending_review",
        "live_version": None,
        "has_unpublished_changes": False,
        "published_at": None,
        "review_status": None,
        "review_reasons": [],
        "wizard": {"completed": ["category"], "next": "source"},
        "updated_at": "2026-11-29T21:00:00+00:00",
        "capabilities": {},
        "flow": None,
        "template": None,
        "listing": {},
        "plans": [],
        "assets": [],
        "reviews": [
            {
                "id": "r2",
                "status": "checks_passed",
                "checks": [],
                "reasons": [],
                "created_at": "2026-11-29T21:00:00+00:00",
                "updated_at": "2026-11-29T21:00:00+00:00",
            }
        ],
    }
    return {**row, **overrides}


class FakeProductViews:
    def get(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        return product_row()


class FakeWizard:
    def __init__(self) -> None:
        self.plans: list[Any] = []

    def set_plans(self, tenant_id: str, product_id: str, plans: list[Any]) -> dict[str, Any]:
        self.plans = plans
        return product_row()


class FakeLifecycle:
    def submit(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        return {"product_id": product_id, "status": "pending_review", "review_run_id": "run-1"}


class FakeMarketplace:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def product(self, slug_or_id: str) -> dict[str, Any]:
        self.asked.append(slug_or_id)
        raise NotFound(f"product '{slug_or_id}' not found")


@pytest.fixture
def services() -> SimpleNamespace:
    return SimpleNamespace(
        reviews=FakeReviews(),
        tenancy=FakeTenancy(),
        profiles=FakeProfiles(),
        wizard=FakeWizard(),
        product_views=FakeProductViews(),
        marketplace=FakeMarketplace(),
        lifecycle=FakeLifecycle(),
    )


@pytest.fixture
def log() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def call(services: SimpleNamespace, log: io.StringIO) -> Any:
    # A fresh service name per test: Powertools shares one logging.Logger (and its handler) per name.
    logger = Logger(service=f"web-test-{uuid.uuid4().hex}", logger_handler=logging.StreamHandler(log))
    app = make_resolver(logger, services)  # type: ignore[arg-type]
    for module in (admin, auth, capabilities, marketplace, provider):
        app.include_router(module.router)

    def send(
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: str | None = None,
        content_type: str | None = "application/json",
        query: dict[str, list[str]] | None = None,
        roles: str | None = "owner,seller,admin",
    ) -> tuple[int, Any]:
        event = {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": {"content-type": content_type} if content_type is not None else {},
            "multiValueHeaders": {"content-type": [content_type]} if content_type is not None else {},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
            "multiValueQueryStringParameters": query,
            "pathParameters": None,
            "body": raw if raw is not None else (json.dumps(body) if body is not None else None),
            "isBase64Encoded": False,
            "requestContext": {
                "path": f"/dev{path}",
                "stage": "dev",
                "requestId": REQUEST_ID,
                "httpMethod": method,
                "authorizer": {"tenant_id": TENANT, "user_id": USER, "roles": roles} if roles else None,
            },
        }
        response = app.resolve(event, SimpleNamespace())  # type: ignore[arg-type]
        text = response["body"]
        return response["statusCode"], json.loads(text) if text else None

    return send


def assert_error_shape(body: dict[str, Any]) -> None:
    assert set(body) >= {"error", "message", "errors", "request_id"}, body
    assert body["request_id"] == REQUEST_ID
    assert all(set(e) == {"path", "message"} for e in body["errors"])


# ---------------------------------------------------------------------------------------------- injection
def test_the_role_is_injected_and_enforced(call: Any, services: SimpleNamespace) -> None:
    status, body = call("PUT", f"/v1/admin/products/{PRODUCT}/featured", {"featured": True}, roles="owner")
    assert status == 403 and body["error"] == "forbidden"
    assert_error_shape(body)
    status, body = call("PUT", f"/v1/admin/products/{PRODUCT}/featured", {"featured": True}, roles=None)
    assert status == 401 and body["error"] == "unauthorized"
    assert services.reviews.featured == []
    status, body = call("PUT", f"/v1/admin/products/{PRODUCT}/featured", {"featured": True})
    assert status == 200 and body == {"product_id": PRODUCT, "featured": True}


def test_a_resolver_without_services_says_so() -> None:
    app = make_resolver(Logger(service="web-test"))
    app.include_router(marketplace.router)
    event = {
        "path": "/v1/marketplace/categories",
        "httpMethod": "GET",
        "headers": {},
        "requestContext": {"requestId": REQUEST_ID, "path": "/dev/v1/marketplace/categories"},
    }
    response = app.resolve(event, SimpleNamespace())  # type: ignore[arg-type]
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["request_id"] == REQUEST_ID


# ---------------------------------------------------------------------------------------------- bodies
def test_booleans_are_strict(call: Any, services: SimpleNamespace) -> None:
    for value in ("yes", "true", 1, None):
        status, body = call("PUT", f"/v1/admin/products/{PRODUCT}/featured", {"featured": value})
        assert status == 422 and body["errors"][0]["path"] == "featured", (value, body)
    assert services.reviews.featured == []


def test_a_nul_character_in_any_body_string_is_a_422_naming_the_field(call: Any) -> None:
    status, body = call("POST", "/v1/auth/login", {"email": "a@b.c\u0000", "password": "x"})
    assert status == 422 and body["errors"] == [
        {"path": "email", "message": "contains a NUL character, which cannot be stored"}
    ]
    assert_error_shape(body)
    status, body = call("PUT", f"/v1/provider/products/{PRODUCT}/plans", {"plans": [{"name": "a\u0000"}]})
    assert status == 422 and body["errors"][0]["path"] == "plans[0].name"


def test_every_string_holding_a_nul_character_is_listed_in_document_order() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json_body(
            '{"pairs": [{"question": "a\\u0000", "answer": "b\\u0000"}, {"question": "c\\ud800"}],'
            ' "csv": "\\u0000"}'
        )
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("pairs[0].question", "contains a NUL character, which cannot be stored"),
        ("pairs[0].answer", "contains a NUL character, which cannot be stored"),
        ("pairs[1].question", "contains an unpaired UTF-16 surrogate (a broken \\u escape)"),
        ("csv", "contains a NUL character, which cannot be stored"),
    ]


def test_deep_nesting_is_refused_before_parsing(call: Any) -> None:
    status, body = call("POST", "/v1/capabilities/validate", raw="[" * 100_000 + "]" * 100_000)
    assert status == 422 and body["errors"] == [
        {"path": "body", "message": f"nested deeper than {MAX_NESTING_DEPTH} levels"}
    ]
    assert_error_shape(body)


def test_numbers_no_field_can_hold_are_422(call: Any) -> None:
    status, body = call("POST", "/v1/capabilities/validate", raw='{"price": ' + "9" * 5000 + "}")
    assert status == 422 and body["errors"][0]["path"] == "body"
    assert f"more than {MAX_INTEGER_DIGITS} digits" in body["errors"][0]["message"]
    status, body = call("POST", "/v1/capabilities/validate", raw='{"price": 1e999}')
    assert status == 422 and "out of range" in body["errors"][0]["message"]
    big = {"kind": "logo", "content_type": "image/png", "size_bytes": 10**30}
    status, body = call("POST", f"/v1/provider/products/{PRODUCT}/assets", big)
    assert status == 422 and body["errors"][0]["path"] == "size_bytes"


def test_malformed_json_names_the_body_with_line_and_column(call: Any) -> None:
    status, body = call("POST", "/v1/auth/login", raw='{\n  "email": "a@b.c",\n  oops\n}')
    assert status == 422
    assert body["errors"] == [
        {
            "path": "body",
            "message": "not valid JSON: Expecting property name enclosed in double quotes "
            "at line 3, column 3",
        }
    ]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_declared_json_is_a_415(call: Any, content_type: str) -> None:
    status, body = call(
        "POST", "/v1/auth/login", {"email": "a@b.c", "password": "x"}, content_type=content_type
    )
    assert status == 415 and body["error"] == "unsupported_media_type"
    assert body["errors"][0]["path"] == "header.content-type"
    assert_error_shape(body)


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "application/json; charset=UTF-8", "Application/Json;Charset=utf8"]
)
def test_the_json_media_type_is_matched_without_regard_to_case(call: Any, content_type: str) -> None:
    status, body = call(
        "PUT", f"/v1/admin/products/{PRODUCT}/featured", {"featured": True}, content_type=content_type
    )
    assert status == 200, body


def test_a_charset_other_than_utf8_is_a_415_saying_so(call: Any) -> None:
    status, body = call(
        "POST",
        "/v1/auth/login",
        {"email": "a@b.c", "password": "x"},
        content_type="application/json; charset=latin-1",
    )
    assert status == 415 and body["errors"] == [
        {"path": "header.content-type", "message": "declares charset latin-1; the body must be UTF-8"}
    ]
    assert_error_shape(body)


def test_a_body_without_a_content_type_is_a_415_but_no_body_needs_none(call: Any) -> None:
    status, body = call("POST", "/v1/auth/login", {"email": "a@b.c", "password": "x"}, content_type=None)
    assert status == 415 and body["errors"][0]["path"] == "header.content-type"
    assert "missing" in body["errors"][0]["message"]
    status, body = call("POST", f"/v1/provider/products/{PRODUCT}/submit", content_type=None)
    assert status == 202 and body["status"] == "pending_review"


def test_bytes_that_are_not_utf8_are_named_with_their_offset(call: Any) -> None:
    raw = b'{"email": "\xff\xfe"}'.decode("utf-8", "surrogateescape")
    status, body = call("POST", "/v1/auth/login", raw=raw)
    assert status == 422 and body["errors"] == [{"path": "body", "message": "not valid UTF-8 at byte 11"}]


def test_a_leading_byte_order_mark_is_ignored(call: Any) -> None:
    status, body = call(
        "PUT", f"/v1/admin/products/{PRODUCT}/featured", raw="\ufeff" + json.dumps({"featured": True})
    )
    assert status == 200, body


def test_a_key_given_twice_is_a_422_at_its_path(call: Any, services: SimpleNamespace) -> None:
    status, body = call(
        "PUT", f"/v1/admin/products/{PRODUCT}/featured", raw='{"featured": true, "featured": false}'
    )
    assert status == 422 and body["errors"] == [
        {"path": "featured", "message": "is given more than once in its object; give 'featured' once"}
    ]
    raw = '{"plans": [{"name": "a"}, {"name": "b", "name": "c"}]}'
    status, body = call("PUT", f"/v1/provider/products/{PRODUCT}/plans", raw=raw)
    assert status == 422 and body["errors"][0]["path"] == "plans[1].name"
    assert services.reviews.featured == [] and services.wizard.plans == []


def test_a_nul_in_a_field_named_content_is_reported_at_content() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json_body('{"content": "a\\u0000b"}')
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("content", "contains a NUL character, which cannot be stored")
    ]
    with pytest.raises(ValidationFailed) as caught:
        parse_json_body('"\\u0000"')
    assert caught.value.errors[0].path == "body"


def test_plans_need_their_envelope(call: Any, services: SimpleNamespace) -> None:
    status, body = call("PUT", f"/v1/provider/products/{PRODUCT}/plans", {})
    assert status == 422 and body["errors"][0]["path"] == "plans"
    status, _ = call("PUT", f"/v1/provider/products/{PRODUCT}/plans", {"plans": [{"name": "Free"}]})
    assert status == 200 and services.wizard.plans == [{"name": "Free"}]


def test_parse_json_body_limits() -> None:
    assert parse_json_body('{"a": [1, {"b": "c"}]}') == {"a": [1, {"b": "c"}]}
    assert nesting_depth('{"a": "[[[[", "b": [[1]]}') == 3
    with pytest.raises(ValidationFailed):
        parse_json_body("NaN")
    oversized = '"' + "a" * MAX_BODY_BYTES + '"'
    with pytest.raises(Exception, match="too large"):
        parse_json_body(oversized)


# ---------------------------------------------------------------------------------------------- parameters
def test_a_repeated_query_parameter_is_named_and_explained(call: Any) -> None:
    status, body = call("GET", "/v1/marketplace/products", query={"category": ["agent", "app"]})
    assert status == 422
    assert body["errors"] == [{"path": "query.category", "message": "was given 2 times; give it once"}]


def test_a_nul_character_in_a_query_parameter_is_a_422(call: Any) -> None:
    status, body = call("GET", "/v1/marketplace/products", query={"q": ["bot\u0000"]})
    assert status == 422 and body["errors"][0]["path"] == "query.q"


def test_percent_encoded_path_parameters_are_decoded(call: Any, services: SimpleNamespace) -> None:
    status, body = call("GET", "/v1/marketplace/products/acme%2Dfaq%2Dbot")
    assert status == 404 and body["error"] == "not_found"
    assert services.marketplace.asked == ["acme-faq-bot"]


@pytest.mark.parametrize("prefix", ["/v1/provider/products/{}", "/v1/admin/products/{}/featured"])
def test_percent_encoded_ids_are_decoded_before_validation(call: Any, prefix: str) -> None:
    encoded = "%" + format(ord(PRODUCT[0]), "x") + PRODUCT[1:].replace("-", "%2D")
    method, body = ("GET", None) if prefix.endswith("}") else ("PUT", {"featured": True})
    status, answer = call(method, prefix.format(encoded), body)
    assert status == 200, answer


def test_tags_empty_mean_no_filter_repeats_count_once_and_too_many_distinct_are_a_422() -> None:
    assert search_from_query({"tags": ""}).tags == ()
    assert "Empty (`?tags=`) means no tag filter" in QUERY_DOCS["tags"]
    assert search_from_query({"tags": ",".join(["a"] * 200)}).tags == ("a",)
    assert search_from_query({"tags": "Rag, rag,support"}).tags == ("rag", "support")
    too_many = ",".join(f"t{i}" for i in range(MAX_TAGS + 1))
    with pytest.raises(ValidationFailed) as caught:
        search_from_query({"tags": too_many + "," + too_many})
    assert [(e.path, e.message) for e in caught.value.errors] == [
        ("query.tags", f"at most {MAX_TAGS} distinct tags (got {MAX_TAGS + 1})")
    ]


def test_error_paths() -> None:
    assert error_path(("body", "plans", 1, "name")) == "plans[1].name"
    assert error_path(("query", "limit")) == "query.limit"
    assert error_path(("path", "product_id")) == "product_id"
    assert error_path(("body",)) == "body"


# ---------------------------------------------------------------------------------------------- responses
def test_review_status_of_a_product_is_its_latest_runs(call: Any) -> None:
    status, body = call("GET", f"/v1/provider/products/{PRODUCT}")
    assert status == 200 and body["review_status"] == "checks_passed"


def test_a_500_carries_the_request_id_that_its_log_line_carries(call: Any, log: io.StringIO) -> None:
    status, body = call("GET", "/v1/me")
    assert status == 500 and body["error"] == "internal"
    assert_error_shape(body)
    logged = [json.loads(line) for line in log.getvalue().splitlines()]
    assert any(entry.get("request_id") == REQUEST_ID and "unhandled" in entry["message"] for entry in logged)


CREATE_OR_REPLACE = {("put", "/v1/subscriptions/{subscription_id}/review")}
"""Operations answering 201 when they create and 200 when they replace."""


def test_every_operation_declares_its_statuses_with_the_error_body(call: Any) -> None:
    app = make_resolver(Logger(service="web-test"))
    for module in (admin, auth, capabilities, marketplace, provider, ratings, sales):
        app.include_router(module.router)
    document = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            if (method, path) in CREATE_OR_REPLACE:
                assert sorted(success) == ["200", "201"], (method, path, responses)
            else:
                assert len(success) == 1, (method, path, responses)
            assert {"413", "415", "422"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code.startswith("2"):
                    continue
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith(("/ErrorBody", "/InvalidCapabilities")), (method, path, code, ref)
            if "{product_id}" in path or "{subscription_id}" in path:
                assert "404" in responses, (method, path)
            if path.startswith(("/v1/provider", "/v1/admin")):
                assert {"401", "403"} <= set(responses), (method, path)
    product_page = document["paths"]["/v1/marketplace/products/{slug_or_id}"]["get"]["responses"]
    assert product_page["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProductDetails")
    assert product_page["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    plans_body = document["paths"]["/v1/provider/products/{product_id}/plans"]["put"]["requestBody"]
    assert plans_body["content"]["application/json"]["schema"]["$ref"].endswith("/PlansRequest")


def test_validator_messages_name_the_format_and_lose_pydantics_prefix() -> None:
    mismatch = {"type": "string_pattern_mismatch", "msg": "String should match pattern '^...'"}
    assert problem_message({**mismatch, "ctx": {"pattern": OPTIONAL_DAY_PATTERN}}).startswith(
        "must be YYYY-MM-DD"
    )
    assert problem_message({**mismatch, "ctx": {"pattern": "^x$"}}) == "does not have the expected format"
    assert problem_message({"type": "value_error", "msg": "Value error, give either pairs or csv"}) == (
        "give either pairs or csv"
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "must not be empty"),
        ("x" * 257, "String should have at most 256 characters"),
    ],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/auth/login", {"email": "ada@example.com"}),
        ("/v1/auth/signup", {"email": "ada@example.com", "organization_name": "Analytical Engines Ltd"}),
    ],
)
def test_a_password_of_the_wrong_length_is_counted_in_characters(
    call: Any, path: str, body: dict[str, str], password: str, message: str
) -> None:
    """A password is a secret (pydantic's `SecretStr`), whose own message counts "items"."""
    status, answer = call("POST", path, {**body, "password": password})
    assert status == 422 and answer["errors"] == [{"path": "password", "message": message}], answer
    assert_error_shape(answer)


def test_a_text_too_short_only_once_stripped_says_so() -> None:
    short = {"type": "string_too_short", "msg": "String should have at least 1 character"}
    assert problem_message({**short, "input": "   ", "ctx": {"min_length": 1}}) == (
        "must not be blank (it is only whitespace)"
    )
    for least in (1, 3):  # empty: whatever the minimum, the same words as blank's
        assert problem_message({**short, "input": "", "ctx": {"min_length": least}}) == "must not be empty"
    assert problem_message({**short, "input": "  ab  ", "ctx": {"min_length": 3}}) == (
        "String should have at least 3 characters besides leading and trailing whitespace"
    )
    assert problem_message({**short, "input": "ab", "ctx": {"min_length": 3}}) == (
        "String should have at least 3 characters"
    )
    too_few = {"type": "too_short", "msg": "List should have at least 1 item after validation, not 0"}
    assert problem_message({**too_few, "input": [], "ctx": {"min_length": 1}}) == too_few["msg"]


def test_an_empty_email_is_empty_not_too_short(call: Any) -> None:
    """The login email's minimum is 3 characters; sent empty, it says so rather than counting."""
    status, answer = call("POST", "/v1/auth/login", {"email": "", "password": "Correct-Horse-42"})
    assert status == 422 and answer["errors"] == [{"path": "email", "message": "must not be empty"}], answer
    status, answer = call("POST", "/v1/auth/login", {"email": "a@", "password": "Correct-Horse-42"})
    assert status == 422 and answer["errors"] == [
        {"path": "email", "message": "String should have at least 3 characters"}
    ], answer
