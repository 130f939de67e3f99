"""The local runner's pure parts: template reading, route matching and method decisions, gateway responses,
schedules, OpenAPI merging."""

from __future__ import annotations

import http.client
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cmp_dev.local.events import route_pattern, route_specificity, sqs_event, websocket_event
from cmp_dev.local.gateway import gateway_response
from cmp_dev.local.openapi import merge_openapi, requires_sign_in
from cmp_dev.local.routing import Invoke, NoRoute, NotAllowed, Operations, Preflight, RouteTable
from cmp_dev.local.runner import LocalRunner, read_chunked
from cmp_dev.local.schedules import next_fire
from cmp_dev.local.template import ApiRoute, Resolver, read_template
from cmp_dev.local.websocket import WebSocketGateway

REPO = Path(__file__).resolve().parents[2]


def test_template_yields_every_function_route_queue_and_schedule() -> None:
    tpl = read_template(REPO / "template.yaml")
    assert "AuthApiFunction" in tpl.functions and tpl.authorizer_function == "AuthorizerFunction"
    signup = next(r for r in tpl.routes if r.path == "/v1/auth/signup")
    assert signup.method == "POST" and signup.authorized is False
    me = next(r for r in tpl.routes if r.path == "/v1/me")
    assert me.authorized is True
    assert {s.queue for s in tpl.sqs_sources} >= {"OnboardingQueue", "ReviewQueue"}
    assert any(s.expression.startswith("rate(") for s in tpl.schedules)
    assert "TenantOnboardingStateMachine" in tpl.state_machines


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/v1/me", "/v1/me", {}),
        ("/v1/provider/products/{proxy+}", "/v1/provider/products/abc/plans", {"proxy": "abc/plans"}),
        ("/v1/things/{id}", "/v1/things/42", {"id": "42"}),
    ],
)
def test_route_patterns_capture_parameters(template: str, path: str, params: dict[str, str]) -> None:
    matched = route_pattern(template).match(path)
    assert matched is not None and matched.groupdict() == params


def test_a_variable_segment_does_not_span_slashes() -> None:
    assert route_pattern("/v1/things/{id}").match("/v1/things/4/2") is None


def test_literal_routes_win_over_greedy_ones() -> None:
    literal = ApiRoute("F", "/v1/provider/products", "GET", True)
    greedy = ApiRoute("F", "/v1/provider/{proxy+}", "GET", True)
    assert route_specificity(literal) > route_specificity(greedy)


def test_rate_and_cron_schedules() -> None:
    start = datetime(2026, 11, 26, 12, 0, 30, tzinfo=UTC)
    assert next_fire("rate(5 minutes)", start) == datetime(2026, 11, 26, 12, 5, 30, tzinfo=UTC)
    assert next_fire("rate(1 hour)", start).hour == 13
    assert next_fire("cron(0 3 * * ? *)", start) == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="six fields"):
        next_fire("cron(0 3 * * ?)", start)
    with pytest.raises(ValueError):
        next_fire("every day", start)


def test_sqs_event_has_the_lambda_record_shape() -> None:
    event = sqs_event(
        [
            {
                "MessageId": "m1",
                "ReceiptHandle": "r1",
                "Body": "{}",
                "Attributes": {"ApproximateReceiveCount": "2"},
                "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}},
            }
        ],
        "arn:q",
    )
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == "arn:q"
    assert record["messageAttributes"]["a"]["stringValue"] == "v"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"


def test_resolver_handles_ref_getatt_sub_and_pseudo_parameters() -> None:
    physical = {"Queue": {"Ref": "https://q", "Arn": "arn:q"}}
    resolver = Resolver(physical, {"Stage": "dev"}, "eu-west-1")
    assert resolver.resolve({"Ref": "Queue"}) == "https://q"
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:q"
    assert resolver.resolve({"Fn::Sub": "${Stage}-${AWS::Region}-${Queue.Arn}"}) == "dev-eu-west-1-arn:q"


def test_openapi_marks_operations_behind_the_authorizer() -> None:
    tpl = read_template(REPO / "template.yaml")
    assert requires_sign_in(tpl, "AuthApiFunction", "/v1/me", "get") is True
    assert requires_sign_in(tpl, "AuthApiFunction", "/v1/auth/login", "post") is False
    merged = merge_openapi(
        tpl,
        {
            "AuthApiFunction": {
                "paths": {"/v1/me": {"get": {"responses": {}}}, "/v1/auth/login": {"post": {"responses": {}}}}
            }
        },
    )
    assert merged["paths"]["/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in merged["paths"]["/v1/auth/login"]["post"]
    assert merged["openapi"] == "3.1.0"


def test_run_schedule_fires_on_each_due_time_and_stops() -> None:
    import threading
    from datetime import timedelta

    from cmp_dev.local.schedules import run_schedule

    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    fired: list[datetime] = []

    class InstantStop(threading.Event):
        """Advances the fake clock instead of sleeping; stops after three firings."""

        def wait(self, timeout: float | None = None) -> bool:
            clock[0] += timedelta(seconds=timeout or 0)
            return len(fired) >= 3

    run_schedule("rate(1 hour)", lambda: fired.append(clock[0]), InstantStop(), now=lambda: clock[0])
    assert [f.hour for f in fired] == [1, 2, 3]


ME = ApiRoute("Auth", "/v1/me", "GET", True)
LOGIN = ApiRoute("Auth", "/v1/auth/login", "POST", False)
PROVIDER_ROOT = ApiRoute("Provider", "/v1/provider/products", "ANY", True)
PROVIDER = ApiRoute("Provider", "/v1/provider/products/{proxy+}", "ANY", True)
PROVIDER_OPERATIONS: Operations = [
    ("/v1/provider/products", frozenset({"GET", "POST"})),
    ("/v1/provider/products/{product_id}", frozenset({"GET", "DELETE"})),
    ("/v1/provider/products/{product_id}/plans", frozenset({"PUT"})),
]


def table() -> RouteTable:
    return RouteTable(
        [ME, LOGIN, PROVIDER_ROOT, PROVIDER], lambda f: PROVIDER_OPERATIONS if f == "Provider" else []
    )


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "PUT", "BREW", "trace"])
def test_a_method_the_path_does_not_answer_is_not_allowed_with_the_methods_it_does(method: str) -> None:
    assert table().resolve(method, "/v1/me") == NotAllowed(("GET", "HEAD", "OPTIONS"))
    assert table().resolve(method, "/v1/auth/login") == NotAllowed(("OPTIONS", "POST"))


def test_an_any_route_allows_only_what_its_function_routes_on_that_path() -> None:
    assert table().resolve("PATCH", "/v1/provider/products/p1") == NotAllowed(
        ("DELETE", "GET", "HEAD", "OPTIONS")
    )
    assert table().resolve("POST", "/v1/provider/products/p1/plans") == NotAllowed(("OPTIONS", "PUT"))
    assert table().resolve("PUT", "/v1/provider/products/p1/plans") == Invoke(
        PROVIDER, {"proxy": "p1/plans"}, "PUT"
    )
    assert table().resolve("POST", "/v1/provider/products") == Invoke(PROVIDER_ROOT, {}, "POST")


def test_a_path_the_function_does_not_describe_still_reaches_it() -> None:
    """Its own 404 then names the path; the runner does not guess."""
    decision = table().resolve("PATCH", "/v1/provider/products/p1/unknown/deeper")
    assert decision == Invoke(PROVIDER, {"proxy": "p1/unknown/deeper"}, "PATCH")


def test_head_is_answered_by_the_get_route_without_a_body() -> None:
    assert table().resolve("HEAD", "/v1/me") == Invoke(ME, {}, "GET", head=True)
    assert table().resolve("HEAD", "/v1/provider/products/p1") == Invoke(
        PROVIDER, {"proxy": "p1"}, "GET", head=True
    )
    assert table().resolve("HEAD", "/v1/auth/login") == NotAllowed(("OPTIONS", "POST"))


def test_options_is_a_preflight_and_an_unknown_path_is_no_route() -> None:
    assert table().resolve("OPTIONS", "/v1/provider/products") == Preflight(
        ("GET", "HEAD", "OPTIONS", "POST")
    )
    assert table().resolve("GET", "/v1/nowhere") == NoRoute()
    assert table().resolve("TRACE", "/v1/nowhere") == NoRoute()


def test_gateway_responses_render_the_templates_error_shape() -> None:
    tpl = read_template(REPO / "template.yaml")
    status, headers, body = gateway_response(tpl, "UNAUTHORIZED", "req-1")
    assert status == 401 and headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(body) == {
        "error": "unauthorized",
        "message": "sign in first: send Authorization: Bearer <access token>",
        "errors": [],
        "request_id": "req-1",
    }
    status, _, body = gateway_response(tpl, "MISSING_AUTHENTICATION_TOKEN", "req-2")
    assert status == 404 and json.loads(body)["error"] == "not_found"
    status, _, body = gateway_response(tpl, "DEFAULT_5XX", "req-3", status=502)
    assert status == 502
    assert json.loads(body) == {
        "error": "internal",
        "message": "Internal server error",
        "errors": [],
        "request_id": "req-3",
    }
    for kind in ("ACCESS_DENIED", "REQUEST_TOO_LARGE", "AUTHORIZER_FAILURE"):
        _, _, body = gateway_response(tpl, kind, "req-4")
        assert set(json.loads(body)) == {"error", "message", "errors", "request_id"}, kind


def test_without_gateway_responses_the_runner_answers_like_api_gateway() -> None:
    tpl = read_template(REPO / "template.yaml")
    tpl.gateway_responses = {}
    assert gateway_response(tpl, "MISSING_AUTHENTICATION_TOKEN", "r") == (
        403,
        {"Content-Type": "application/json"},
        b'{"message": "Missing Authentication Token"}',
    )


def test_a_chunked_body_is_read_whole_as_api_gateway_hands_it_on() -> None:
    body = b'{"category": "agent", "subcategory": "single"}'
    wire = b"a\r\n" + body[:10] + b"\r\n" + b"%x;ext=1\r\n" % (len(body) - 10) + body[10:] + b"\r\n"
    stream = io.BytesIO(wire + b"0\r\nX-Trailer: 1\r\n\r\nNEXT")
    assert read_chunked(stream, 1024) == body
    assert stream.read() == b"NEXT"


def test_a_chunked_body_past_the_limit_is_refused() -> None:
    wire = b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
    assert read_chunked(io.BytesIO(wire), 16) == b"12345678" * 2
    assert read_chunked(io.BytesIO(wire), 15) is None


@pytest.mark.parametrize(
    "wire", [b"zz\r\nab\r\n0\r\n\r\n", b"5\r\nab", b"-1\r\n", b"2\r\nabc\r\n0\r\n\r\n", b""]
)
def test_malformed_chunking_is_refused(wire: bytes) -> None:
    with pytest.raises(ValueError):
        read_chunked(io.BytesIO(wire), 1024)


def test_the_runner_hands_a_chunked_request_body_to_the_function() -> None:
    seen: list[tuple[dict[str, str], bytes]] = []

    def dispatch(method: str, path: str, headers: dict[str, str], body: bytes, ip: str) -> Any:
        seen.append((headers, body))
        return 200, {}, b"{}"

    fake = SimpleNamespace(
        dispatch=dispatch, template=None, websocket=WebSocketGateway({}, lambda n, e: None)
    )
    handler_class = LocalRunner._handler_class(fake)  # type: ignore[arg-type]
    # Driven without a socket (unit tests do no I/O): the request line and headers are already parsed.
    handler = handler_class.__new__(handler_class)
    handler.rfile = io.BytesIO(b'd\r\n{"category": \r\n8\r\n"agent"}\r\n0\r\n\r\n')
    handler.wfile = io.BytesIO()
    handler.headers = http.client.parse_headers(io.BytesIO(b"Transfer-Encoding: chunked\r\n\r\n"))
    handler.command, handler.path, handler.request_version = "POST", "/v1/provider/products", "HTTP/1.1"
    handler.requestline, handler.client_address = "POST /v1/provider/products HTTP/1.1", ("127.0.0.1", 0)
    handler._serve()
    assert handler.wfile.getvalue().startswith(b"HTTP/1.1 200")
    assert seen[0][1] == b'{"category": "agent"}'
    assert "transfer-encoding" not in seen[0][0]


def test_the_websocket_gateway_routes_by_action_and_answers_gone_for_unknown_connections() -> None:
    routes = {"$connect": "Ws", "$disconnect": "Ws", "$default": "Ws", "chat": "Ws"}
    gateway = WebSocketGateway(routes, lambda name, event: None)
    assert gateway._route('{"action": "chat", "message": "hi"}') == "chat"
    for body in ('{"action": "dance"}', '{"action": "$connect"}', "not json", "[1]", '{"action": 3}'):
        assert gateway._route(body) == "$default", body
    assert gateway.is_upgrade("GET", "/ws?api_key=x", {"upgrade": "websocket"})
    assert not gateway.is_upgrade("POST", "/ws", {"upgrade": "websocket"})
    assert not gateway.is_upgrade("GET", "/ws", {})
    assert not WebSocketGateway({}, lambda n, e: None).is_upgrade("GET", "/ws", {"upgrade": "websocket"})
    status, headers, _ = gateway.manage("POST", "unknown=", b"{}")
    assert (status, headers["x-amzn-ErrorType"]) == (410, "GoneException")


def test_websocket_events_have_api_gateways_shape() -> None:
    connect = websocket_event(
        "$connect", "id=", "host:1", headers={"Origin": "https://a.example"}, query="a=1&b=2"
    )
    context = connect["requestContext"]
    assert (context["eventType"], context["routeKey"], context["connectionId"]) == (
        "CONNECT",
        "$connect",
        "id=",
    )
    assert connect["queryStringParameters"] == {"a": "1", "b": "2"} and connect["headers"]["Origin"]
    message = websocket_event("chat", "id=", "host:1", body='{"action": "chat"}')
    assert message["requestContext"]["eventType"] == "MESSAGE" and message["body"] == '{"action": "chat"}'
    assert "headers" not in message and message["requestContext"]["messageId"]
    gone = websocket_event("$disconnect", "id=", "host:1")
    assert gone["requestContext"]["eventType"] == "DISCONNECT" and "body" not in gone
