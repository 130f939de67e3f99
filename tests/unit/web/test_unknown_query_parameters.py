"""A query parameter a route does not declare is a 422 at `query.<name>` naming the ones the route takes
(`cmp.web.validation.unknown_query_parameters`), on every route of every API function, except the routes
whose OpenAPI operation says `x-unknown-query-parameters: ignored` (webhooks, the widget script)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Literal

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from cmp.web.api import UNKNOWN_QUERY_PARAMETERS, make_resolver
from cmp.web.schemas import RequestModel
from cmp_dev.local.functions import load_handler
from cmp_dev.local.template import read_template

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
REQUEST_ID = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
PROBE = "cmp_probe"

router = Router()


class Note(RequestModel):
    text: str


@router.get("/v1/things")
def things(
    limit: Annotated[str | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from")] = None,
) -> dict[str, Any]:
    return {"limit": limit, "from": from_}


@router.get("/v1/orders")
def orders(
    status: Annotated[Literal["open", "shipped"] | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    return {"status": status, "q": q}


@router.get("/v1/labels")
def labels(order: Annotated[str, Query()]) -> dict[str, Any]:
    return {"order": order}


@router.post("/v1/things")
def add_thing(note: Note) -> dict[str, Any]:
    return {"text": note.text}


@router.post("/v1/hooks/<name>", openapi_extensions=UNKNOWN_QUERY_PARAMETERS)
def hook(name: str) -> dict[str, Any]:
    return {"name": name}


def event(
    method: str, path: str, query: dict[str, list[str]] | None, body: str | None = None
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as `dev/cmp_dev/local/events.rest_event` builds it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"content-type": ["application/json"]},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query,
        "pathParameters": None,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": REQUEST_ID, "httpMethod": method, "path": f"/dev{path}"},
    }


def send(
    method: str, path: str, query: dict[str, list[str]] | None = None, body: str | None = None
) -> tuple[int, Any]:
    app = make_resolver(Logger(service="query-test"))
    app.include_router(router)
    answer = app.resolve(event(method, path, query, body), SimpleNamespace())  # type: ignore[arg-type]
    return answer["statusCode"], json.loads(answer["body"])


def test_declared_parameters_pass_by_their_query_string_names() -> None:
    assert send("GET", "/v1/things", {"limit": ["5"], "from": ["2026-11-01"]}) == (
        200,
        {"limit": "5", "from": "2026-11-01"},
    )


def test_each_undeclared_parameter_is_a_422_naming_it_and_the_accepted_ones() -> None:
    status, body = send("GET", "/v1/things", {"limit": ["5"], "from_": ["x"], "sort": ["name", "id"]})
    assert status == 422
    assert body == {
        "error": "validation_failed",
        "message": "the request has query parameters this route does not take",
        "errors": [
            {"path": "query.from_", "message": "unknown query parameter; this route accepts: from, limit"},
            {"path": "query.sort", "message": "unknown query parameter; this route accepts: from, limit"},
        ],
        "request_id": REQUEST_ID,
    }


def test_a_route_without_query_parameters_says_it_takes_none_and_the_body_is_not_read() -> None:
    status, body = send("POST", "/v1/things", {"dry_run": ["1"]}, body="{not json")
    assert status == 422
    assert body["errors"] == [
        {"path": "query.dry_run", "message": "unknown query parameter; this route accepts none"}
    ]
    assert send("POST", "/v1/things", None, body='{"text": "a"}') == (200, {"text": "a"})


def test_a_parameter_without_a_name_is_reported_at_query_saying_so() -> None:
    status, body = send("GET", "/v1/things", {"": ["1"], "limit": ["5"]})
    assert (status, body["errors"]) == (
        422,
        [
            {
                "path": "query",
                "message": "a query parameter has an empty name (nothing before its '='); this route accepts: from, limit",
            }
        ],
    )


@pytest.mark.parametrize(
    "query",
    [
        {"status": [""]},
        {"q": [""]},
        {"status": ["  "], "q": [""]},
        {"": [""]},
        {"status": [""], "limit": [""]},
    ],
)
def test_an_empty_value_is_the_same_as_leaving_the_parameter_out(query: dict[str, list[str]]) -> None:
    assert send("GET", "/v1/orders", query) == send("GET", "/v1/orders") == (200, {"status": None, "q": None})


def test_an_empty_value_given_with_another_counts_once_and_a_required_one_is_missing() -> None:
    assert send("GET", "/v1/orders", {"status": ["", "open"]}) == (200, {"status": "open", "q": None})
    assert send("GET", "/v1/orders", {"status": ["open", ""]}) == (200, {"status": "open", "q": None})
    assert send("GET", "/v1/orders", {"status": ["open", "shipped"]})[0] == 422
    assert send("GET", "/v1/orders", {"status": ["closed"]})[0] == 422  # a value is still checked
    status, body = send("GET", "/v1/labels", {"order": [""]})
    assert (status, body) == send("GET", "/v1/labels")
    assert status == 422 and [e["path"] for e in body["errors"]] == ["query.order"]


def test_a_route_marked_for_third_party_callers_ignores_them() -> None:
    assert send("POST", "/v1/hooks/a", {"utm_source": ["crm"]}) == (200, {"name": "a"})


# ---------------------------------------------------------------------------------------------- every route
def api_functions() -> dict[str, Any]:
    """Every API function's resolver, loaded as `cmp openapi` loads them."""
    template = read_template(REPO / "template.yaml")
    apps = {}
    for name in sorted({r.function for r in template.routes}):
        fn = template.functions[name]
        apps[name] = load_handler(fn.code_dir, fn.module, "", f"cmp_query_test_{name}").app
    return apps


def test_every_operation_refuses_an_undeclared_parameter_unless_its_document_says_it_ignores_them() -> None:
    walked = ignoring = 0
    for name, app in api_functions().items():
        document = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
        for template_path, operations in document["paths"].items():
            path = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000001", template_path)
            for method, operation in operations.items():
                answer = app.resolve(event(method.upper(), path, {PROBE: ["1"]}), SimpleNamespace())
                where = f"{name}: {method.upper()} {template_path} answered {answer['statusCode']} {answer['body']}"
                walked += 1
                if operation.get("x-unknown-query-parameters") == "ignored":
                    ignoring += 1
                    assert f"query.{PROBE}" not in (answer["body"] or ""), where
                    continue
                declared = sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query")
                accepted = (
                    f"this route accepts: {', '.join(declared)}" if declared else "this route accepts none"
                )
                assert answer["statusCode"] == 422, where
                assert json.loads(answer["body"])["errors"] == [
                    {"path": f"query.{PROBE}", "message": f"unknown query parameter; {accepted}"}
                ], where
                assert "422" in operation["responses"], where
    assert walked > 100 and ignoring == 3, (walked, ignoring)
