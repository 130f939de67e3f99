"""Compiling definitions to ASL: the callback tasks, Choice rules, loops, parallel branches and error handling,
checked by the offline ASL validator (dev/cmp_dev/devtools/asl_check.py)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from cmp.workflows.compiler import (
    CALLBACK,
    RECORD_FAILURE,
    RECORD_SUCCESS,
    check_compiled,
    compile_definition,
)
from cmp.workflows.definition import parse_definition
from cmp.workflows.expressions import evaluate, render, to_choice_rule
from cmp_dev.devtools.asl_check import check_asl

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/steps"


def compiled(document: dict[str, Any]) -> dict[str, Any]:
    asl = compile_definition(
        parse_definition(document), queue_url=QUEUE, version_id="v-1", step_timeout_seconds=60
    )
    assert check_compiled(asl) == []
    assert check_asl(asl) == []
    return asl


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": list(nodes),
        "edges": [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)],
    }


START = {"id": "start", "type": "manual"}


def test_an_action_is_a_callback_task_inside_the_run_wrapper() -> None:
    asl = compiled(
        chain(
            START,
            {
                "id": "get",
                "type": "http",
                "config": {"url": "https://x"},
                "timeoutSeconds": 20,
                "heartbeatSeconds": 5,
            },
        )
    )
    run = asl["States"]["Run"]
    assert run["Type"] == "Parallel" and run["Next"] == RECORD_SUCCESS
    assert run["Catch"][0]["Next"] == RECORD_FAILURE
    task = run["Branches"][0]["States"]["get"]
    assert task["Resource"] == CALLBACK
    assert task["Parameters"]["MessageBody"]["node"] == "get"
    assert task["Parameters"]["MessageBody"]["task_token.$"] == "$$.Task.Token"
    assert (task["TimeoutSeconds"], task["HeartbeatSeconds"], task["ResultPath"]) == (20, 5, "$.steps.get")
    assert task["End"] is True and task["OutputPath"] == "$.steps"


def test_a_trigger_alone_records_success() -> None:
    assert compiled({"nodes": [START], "edges": []})["StartAt"] == RECORD_SUCCESS


def test_retry_fallback_and_continue() -> None:
    asl = compiled(
        {
            "nodes": [
                START,
                {
                    "id": "a",
                    "type": "transform",
                    "config": {"set": {}},
                    "onError": {
                        "strategy": "retry",
                        "maxRetries": 4,
                        "retryDelaySeconds": 3,
                        "backoffRate": 1.5,
                    },
                },
                {
                    "id": "b",
                    "type": "transform",
                    "config": {"set": {}},
                    "onError": {"strategy": "fallback", "fallback": "c"},
                },
                {"id": "c", "type": "transform", "config": {"set": {}}},
                {"id": "d", "type": "transform", "config": {"set": {}}, "onError": {"strategy": "continue"}},
            ],
            "edges": [
                {"source": "start", "target": "a"},
                {"source": "a", "target": "b"},
                {"source": "b", "target": "d"},
            ],
        }
    )
    states = asl["States"]["Run"]["Branches"][0]["States"]
    assert states["a"]["Retry"] == [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 4, "BackoffRate": 1.5}
    ]
    assert states["b"]["Catch"][0]["Next"] == "c"
    assert states["d"]["Catch"][0] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.steps.d",
        "Next": "d__continue",
    }


def test_conditions_become_choice_rules_and_regex_goes_to_the_worker() -> None:
    native = {"left": "{{ steps.get.status }}", "operator": "greater", "right": 199}
    asl = compiled(
        {
            "nodes": [
                START,
                {"id": "ok", "type": "if", "config": {"condition": native}},
                {
                    "id": "re",
                    "type": "switch",
                    "config": {
                        "cases": [
                            {
                                "name": "eu",
                                "condition": {
                                    "left": "{{ input.region }}",
                                    "operator": "regex",
                                    "right": "^eu-",
                                },
                            }
                        ]
                    },
                },
                {"id": "x", "type": "transform", "config": {"set": {}}},
            ],
            "edges": [
                {"source": "start", "target": "ok"},
                {"source": "ok", "target": "re", "when": "true"},
                {"source": "re", "target": "x", "when": "eu"},
            ],
        }
    )
    states = asl["States"]["Run"]["Branches"][0]["States"]
    assert states["ok"]["Type"] == "Choice"
    assert states["ok"]["Choices"][0]["And"][-1] == {
        "Variable": "$.steps.get.status",
        "NumericGreaterThan": 199,
    }
    assert states["ok"]["Default"] == "ok__done"
    assert states["re"]["Parameters"]["MessageBody"]["kind"] == "branch"
    assert states["re__choose"]["Choices"][0] == {
        "Variable": "$.branches.re.branch",
        "StringEquals": "eu",
        "Next": "x",
    }


def test_a_loop_counts_checks_the_limit_and_maps() -> None:
    body = {"nodes": [{"id": "one", "type": "transform", "config": {"set": {}}}]}
    asl = compiled(
        chain(
            START,
            {
                "id": "each",
                "type": "loop",
                "config": {"items": "{{ steps.get.body }}", "maxIterations": 7, "parallelism": 3},
                "body": body,
            },
        )
    )
    states = asl["States"]["Run"]["Branches"][0]["States"]
    assert states["each"]["Parameters"]["count.$"] == "States.ArrayLength($.steps.get.body)"
    assert states["each__check"]["Choices"][0]["NumericGreaterThan"] == 7
    assert states["each__limit"]["Error"] == "LoopLimitExceeded"
    assert states["each__map"]["MaxConcurrency"] == 3
    assert states["each__map"]["ItemSelector"]["item.$"] == "$$.Map.Item.Value"


def test_a_while_loop_counts_asks_the_worker_and_loops_back() -> None:
    condition = {"left": "{{ loops.again.count }}", "operator": "less", "right": 3}
    body = {"nodes": [{"id": "tick", "type": "transform", "config": {"set": {}}}]}
    loop = {
        "id": "again",
        "type": "loop",
        "config": {"type": "while", "condition": condition, "maxIterations": 5},
    }
    asl = compiled(
        chain(START, {**loop, "body": body}, {"id": "after", "type": "transform", "config": {"set": {}}})
    )
    states = asl["States"]["Run"]["Branches"][0]["States"]
    assert states["again"]["Result"] == {"count": 0}
    assert states["again__test"]["Parameters"]["MessageBody"]["kind"] == "branch"
    exit_rule, limit_rule = states["again__check"]["Choices"]
    assert (exit_rule["StringEquals"], exit_rule["Next"]) == ("false", "again__done")
    assert (limit_rule["NumericGreaterThanEquals"], limit_rule["Next"]) == (5, "again__limit")
    assert states["again__count"]["Parameters"]["count.$"] == "States.MathAdd($.loops.again.count, 1)"
    assert states["again__count"]["Next"] == "again__test" and states["again__done"]["Next"] == "after"


def test_two_hundred_nodes_compile() -> None:
    nodes = [START] + [{"id": f"s{i}", "type": "transform", "config": {"set": {"i": i}}} for i in range(199)]
    asl = compiled(chain(*nodes))
    assert len(asl["States"]["Run"]["Branches"][0]["States"]) == 199


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"left": "{{ input.n }}", "operator": "equals", "right": 3}, {"input": {"n": 3}}, True),
        ({"left": "{{ input.n }}", "operator": "equals", "right": 3}, {"input": {"n": "3"}}, False),
        ({"left": "{{ input.s }}", "operator": "contains", "right": "b*c"}, {"input": {"s": "ab*cd"}}, True),
        ({"left": "{{ input.s }}", "operator": "regex", "right": "^a.c$"}, {"input": {"s": "abc"}}, True),
        ({"left": "{{ input.s }}", "operator": "exists", "right": False}, {"input": {}}, True),
        ({"left": "{{ input.n }}", "operator": "less", "right": 2}, {"input": {}}, False),
        (
            {
                "any": [
                    {"left": "{{ input.a }}", "operator": "equals", "right": True},
                    {"left": "{{ input.b }}", "operator": "greater", "right": "m"},
                ]
            },
            {"input": {"a": False, "b": "z"}},
            True,
        ),
    ],
)
def test_conditions_evaluate_with_the_meaning_of_their_choice_rule(
    condition: dict[str, Any], context: dict[str, Any], expected: bool
) -> None:
    assert evaluate(condition, context) is expected


def test_glob_characters_in_contains_leave_the_decision_to_the_worker() -> None:
    assert to_choice_rule({"left": "{{ input.s }}", "operator": "contains", "right": "a*b"}) is None
    assert to_choice_rule({"left": "{{ input.s }}", "operator": "contains", "right": "ab"}) is not None


def test_templates_render_values_and_text() -> None:
    context = {"steps": {"get": {"body": {"items": [{"id": 7}]}}}, "vars": {"n": 2}}
    assert render("{{ steps.get.body.items[0].id }}", context) == 7
    assert render(
        {"url": "https://x/{{ steps.get.body.items[0].id }}?n={{ vars.n }}&m={{ vars.missing }}"}, context
    ) == {"url": "https://x/7?n=2&m="}


def _callback_bodies(states: dict[str, Any]) -> list[dict[str, Any]]:
    bodies = []
    for state in states.values():
        if state.get("Type") == "Task":
            bodies.append(state["Parameters"]["MessageBody"])
        for branch in state.get("Branches", []):
            bodies += _callback_bodies(branch["States"])
        if "ItemProcessor" in state:
            bodies += _callback_bodies(state["ItemProcessor"]["States"])
    return bodies


def test_every_field_a_callback_message_carries_survives_the_step_workers_message_model() -> None:
    """The step worker's Lambda validates each SQS body with `StepMessage` (extra fields ignored): a field the
    compiler sends that the model lacks is silently lost (a finish's `output` once was, so a parent run got
    `"steps": {}` from its sub-workflow)."""
    from cmp.workflows.messages import StepMessage

    asl = compiled(chain(START, {"id": "get", "type": "http", "config": {"url": "https://x"}}))
    sent = {key.removesuffix(".$") for body in _callback_bodies(asl["States"]) for key in body}
    assert {"output", "error", "context", "status"} <= sent
    assert sent <= set(StepMessage.model_fields), sent - set(StepMessage.model_fields)
    finish = {
        "kind": "finish",
        "run_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
        "tenant_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
        "workflow_version_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
        "task_token": "t",
        "status": "succeeded",
        "output": {"look": {"ok": True}},
    }
    assert StepMessage.model_validate(finish).model_dump()["output"] == {"look": {"ok": True}}
