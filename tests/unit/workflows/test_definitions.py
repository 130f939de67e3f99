"""The flow model and its checks against a subscription's workflow capabilities."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cmp.capabilities.models import ProductCapabilities
from cmp.errors import ValidationFailed
from cmp.workflows.definition import parse_definition
from cmp.workflows.rules import Allowance, check_definition
from tests.subscriptions import capabilities


def flow(*nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    chain = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": chain if edges is None else edges}


START = {"id": "start", "type": "manual"}


def errors_of(document: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as failed:
        parse_definition(document)
    return {e.path: e.message for e in failed.value.errors}


def allowance(**configuration: Any) -> Allowance:
    document = (
        capabilities("automation", "scheduled", configuration=configuration)
        if configuration
        else capabilities("automation", "scheduled")
    )
    return Allowance.from_capabilities(ProductCapabilities.from_document(document))


def test_a_valid_definition_parses_with_its_trigger() -> None:
    definition = parse_definition(
        flow(START, {"id": "t", "type": "transform", "config": {"expression": "@"}})
    )
    assert definition.trigger.id == "start"
    assert [n.id for n in definition.all_nodes()] == ["start", "t"]


@pytest.mark.parametrize(
    ("document", "path", "needle"),
    [
        ([], "", "expected an object"),
        ({"nodes": []}, "nodes", "non-empty"),
        (flow({"id": "Bad Id", "type": "manual"}), "nodes[0].id", "lowercase identifier"),
        (flow({"id": "a__b", "type": "manual"}), "nodes[0].id", "no '__'"),
        (flow(START, {"id": "x", "type": "teleport"}), "nodes[1].type", "expected one of"),
        (
            flow(START, {"id": "x", "type": "transform", "timeoutSeconds": 0}),
            "nodes[1].timeoutSeconds",
            "1 to",
        ),
        (
            flow(START, {"id": "x", "type": "transform", "onError": {"strategy": "fallback"}}),
            "nodes[1].onError.fallback",
            "required",
        ),
        (
            flow({"id": "a", "type": "transform"}, {"id": "b", "type": "transform"}),
            "nodes",
            "exactly one trigger",
        ),
        (flow(START, {"id": "start", "type": "transform"}), "nodes[1].id", "used by another node"),
        (flow(START, {"id": "x", "type": "loop"}), "nodes[1].body", "needs a body"),
        (
            flow(
                START,
                {"id": "x", "type": "parallel", "branches": [{"nodes": [{"id": "y", "type": "transform"}]}]},
            ),
            "nodes[1].branches",
            "at least two",
        ),
    ],
)
def test_structural_problems_are_named_at_their_path(document: object, path: str, needle: str) -> None:
    errors = errors_of(document)
    assert path in errors and needle in errors[path], errors


def test_edges_must_fit_the_graph() -> None:
    a, b, c = ({"id": n, "type": "transform"} for n in "abc")
    assert (
        "no node 'zz'"
        in errors_of(flow(START, a, edges=[{"source": "start", "target": "zz"}]))["edges[0].target"]
    )
    fan_out = errors_of(
        flow(START, a, b, edges=[{"source": "start", "target": "a"}, {"source": "start", "target": "b"}])
    )
    assert fan_out["nodes[0]"] == "a manual node has at most one outgoing edge, without 'when'"
    ai_fan_out = errors_of(
        flow(START, {"id": "ask", "type": "ai"}, a, b, edges=[
            {"source": "start", "target": "ask"}, {"source": "ask", "target": "a"}, {"source": "ask", "target": "b"},
        ])
    )  # fmt: skip
    assert ai_fan_out["nodes[1]"] == "an ai node has at most one outgoing edge, without 'when'"
    cycle = [
        {"source": "start", "target": "a"},
        {"source": "a", "target": "b"},
        {"source": "b", "target": "a"},
    ]
    assert "cycle" in errors_of(flow(START, a, b, edges=cycle))["edges"]
    unreachable = errors_of(
        flow(START, a, c, edges=[{"source": "start", "target": "a"}, {"source": "c", "target": "a"}])
    )
    assert any("not reachable" in m or "without incoming" in m for m in unreachable.values()), unreachable
    branch = {"id": "b", "type": "if", "config": {}}
    bad_label = errors_of(
        flow(
            START,
            branch,
            a,
            edges=[{"source": "start", "target": "b"}, {"source": "b", "target": "a", "when": "maybe"}],
        )
    )
    assert "when='maybe'" in bad_label["nodes[1]"]


def test_the_automation_defaults_allow_the_common_constructs() -> None:
    definition = parse_definition(
        flow(
            {"id": "hook", "type": "webhook", "config": {"method": "POST", "auth": "signature"}},
            {
                "id": "get",
                "type": "http",
                "config": {"url": "https://api.example.com/x", "auth": {"type": "bearer", "token": "t"}},
            },
            {
                "id": "each",
                "type": "loop",
                "config": {"items": "{{ steps.get.body }}"},
                "body": {"nodes": [{"id": "one", "type": "transform", "config": {"set": {}}}]},
            },
        )
    )
    assert check_definition(definition, allowance()) == []


def test_what_the_product_does_not_enable_is_refused_naming_the_capability() -> None:
    allow = allowance(workflowAdvanced={"flow": {"loops": False}, "actions": {"http": False}})
    definition = parse_definition(
        flow(
            START,
            {"id": "get", "type": "http", "config": {"url": "https://api.example.com"}},
            {
                "id": "each",
                "type": "loop",
                "config": {"items": "{{ input.x }}"},
                "body": {"nodes": [{"id": "one", "type": "transform", "config": {"set": {}}}]},
            },
        )
    )
    found = {e.path: e.message for e in check_definition(definition, allow)}
    assert "actions.http is disabled" in found["nodes[1]"]
    assert "flow.loops is disabled" in found["nodes[2]"]


def test_limits_from_the_detail_are_enforced() -> None:
    detail = {
        "flow": {
            "conditionals": {"operators": ["equals"], "nestedConditions": False},
            "loops": {"maxIterations": 5},
            "errorHandling": {"maxRetries": 2, "strategies": ["retry", "fail"]},
        },
        "triggers": {"schedule": {"minInterval": "1h"}},
    }
    allow = allowance(workflowAdvanced={"enabled": True, "detail": detail})
    definition = parse_definition(
        flow(
            {"id": "every", "type": "schedule", "config": {"interval": "15m"}},
            {
                "id": "check",
                "type": "if",
                "config": {
                    "condition": {
                        "all": [
                            {"any": [{"left": "{{ input.a }}", "operator": "equals", "right": 1}]},
                            {"left": "{{ input.b }}", "operator": "regex", "right": "x"},
                        ]
                    }
                },
            },
            {
                "id": "each",
                "type": "loop",
                "config": {"type": "repeat", "times": 9},
                "body": {
                    "nodes": [
                        {
                            "id": "one",
                            "type": "transform",
                            "config": {"set": {}},
                            "onError": {"strategy": "retry", "maxRetries": 3},
                        }
                    ]
                },
            },
            edges=[
                {"source": "every", "target": "check"},
                {"source": "check", "target": "each", "when": "true"},
            ],
        )
    )
    found = {e.path: e.message for e in check_definition(definition, allow)}
    assert "minimum interval of 60 minutes" in found["nodes[0].config.interval"]
    assert "nested AND/OR" in found["nodes[1].config.condition.all[0]"]
    assert "'regex' is not enabled" in found["nodes[1].config.condition.all[1].operator"]
    assert "1 to 5" in found["nodes[2].config.times"]
    assert "at most 2 retries" in found["nodes[2].body.nodes[0].onError.maxRetries"]


def test_code_steps_are_refused_by_name_and_ai_steps_need_a_prompt() -> None:
    definition = parse_definition(
        flow(START, {"id": "ask", "type": "ai", "name": "Ask the model"}, {"id": "js", "type": "code"})
    )
    found = {e.path: e.message for e in check_definition(definition, allowance())}
    assert "cannot guarantee a sandbox" in found["nodes[2]"]
    assert "expected the prompt" in found["nodes[1].config.prompt"]


def test_database_steps_take_values_as_parameters_only() -> None:
    def problems(config: dict[str, Any]) -> dict[str, str]:
        node = {"id": "db", "type": "database", "config": {"connection": "DB", **config}}
        return {e.path: e.message for e in check_definition(parse_definition(flow(START, node)), allowance())}

    assert (
        problems({"operation": "query", "sql": "select * from t where id = %(id)s", "params": {"id": 1}})
        == {}
    )
    assert (
        "templates are not allowed"
        in problems({"operation": "query", "sql": "select * from t where id = '{{ input.id }}'"})[
            "nodes[1].config.sql"
        ]
    )
    assert (
        "one SELECT"
        in problems({"operation": "query", "sql": "select 1; drop table t"})["nodes[1].config.sql"]
    )
    assert "one SELECT" in problems({"operation": "query", "sql": "delete from t"})["nodes[1].config.sql"]
    assert (
        "table name"
        in problems({"operation": "insert", "table": "t; drop", "values": {"a": 1}})["nodes[1].config.table"]
    )
    assert (
        "column name"
        in problems({"operation": "insert", "table": "t", "values": {"a b": 1}})["nodes[1].config.rows"]
    )
    assert (
        "non-empty" in problems({"operation": "delete", "table": "t", "where": {}})["nodes[1].config.where"]
    )
    assert (
        "secret"
        in problems({"operation": "delete", "connection": "{{ input.x }}", "table": "t"})[
            "nodes[1].config.connection"
        ]
    )


def test_a_schedule_needs_a_real_time_zone_and_one_expression() -> None:
    allow = allowance()
    zone = parse_definition(
        flow({"id": "s", "type": "schedule", "config": {"preset": "hourly", "timezone": "Mars/Olympus"}})
    )
    assert "IANA time zone" in check_definition(zone, allow)[0].message
    both = parse_definition(
        flow({"id": "s", "type": "schedule", "config": {"cron": "0 * * * *", "interval": "1h"}})
    )
    assert "exactly one of" in check_definition(both, allow)[0].message


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"expression": "[[[["}, "not valid JMESPath: Invalid jmespath expression: Incomplete expression"),
        ({"expression": "a b"}, "Unexpected token: b: Parse error at column 2"),
        ({"expression": ""}, "cannot be empty"),
        ({"language": "jsonpath", "expression": "$..["}, "not valid JSONPath: Parse error"),
    ],
)
def test_a_transform_expression_that_does_not_parse_is_refused_with_the_parsers_reason(
    config: dict[str, Any], needle: str
) -> None:
    definition = parse_definition(flow(START, {"id": "t", "type": "transform", "config": config}))
    found = {e.path: e.message for e in check_definition(definition, allowance())}
    assert list(found) == ["nodes[1].config.expression"]
    assert needle in found["nodes[1].config.expression"]


def test_transform_expressions_that_parse_are_accepted() -> None:
    definition = parse_definition(
        flow(
            START,
            {"id": "a", "type": "transform", "config": {"expression": "input.orders[?total > `10`].id"}},
            {"id": "b", "type": "transform", "config": {"language": "jsonpath", "expression": "$.input[*]"}},
        )
    )
    assert check_definition(definition, allowance()) == []
