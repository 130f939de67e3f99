"""The local runner's pure parts: template reading, route matching, schedules, OpenAPI merging."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cmp_dev.local.events import route_pattern, route_specificity, sqs_event
from cmp_dev.local.openapi import merge_openapi, requires_sign_in
from cmp_dev.local.schedules import next_fire
from cmp_dev.local.template import ApiRoute, Resolver, read_template

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
