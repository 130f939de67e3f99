"""The ASL validator: valid machines pass, each broken rule is reported at its JSON path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cmp_dev.devtools.asl_check import check_asl

pytestmark = pytest.mark.unit


def jsonpath_machine() -> dict[str, Any]:
    """Every state type, Retry/Catch, Choice nesting, Parallel and Map, in JSONPath."""
    return {
        "Comment": "order flow",
        "StartAt": "Validate",
        "TimeoutSeconds": 3600,
        "States": {
            "Validate": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${ValidateArn}", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": "$.validation",
                "TimeoutSeconds": 30,
                "Retry": [
                    {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "BackoffRate": 2.0},
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "JitterStrategy": "FULL"},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.validation.body.ok", "BooleanEquals": True, "Next": "Pause"},
                    {
                        "And": [
                            {"Variable": "$.total", "NumericGreaterThan": 100},
                            {"Not": {"Variable": "$.vip", "IsPresent": True}},
                        ],
                        "Next": "Failed",
                    },
                ],
                "Default": "Failed",
            },
            "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Fanout"},
            "Fanout": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Notify",
                        "States": {"Notify": {"Type": "Pass", "Result": {"a": 1}, "End": True}},
                    },
                    {
                        "StartAt": "Callback",
                        "States": {
                            "Callback": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                "Parameters": {
                                    "QueueUrl": "${QueueUrl}",
                                    "MessageBody": {"token.$": "$$.Task.Token"},
                                },
                                "HeartbeatSeconds": 300,
                                "End": True,
                            }
                        },
                    },
                ],
                "Next": "EachItem",
            },
            "EachItem": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Handle",
                    "States": {"Handle": {"Type": "Pass", "End": True}},
                },
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "Error": "OrderFailed", "Cause": "validation failed"},
        },
    }


def jsonata_machine() -> dict[str, Any]:
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Arguments": {
                    "FunctionName": "${ChargeArn}",
                    "Payload": {"token": "{% $states.context.Task.Token %}"},
                },
                "TimeoutSeconds": "{% $timeout %}",
                "Output": "{% $states.result %}",
                "Assign": {"charged": "{% true %}"},
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Failed"}
                ],
                "Next": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $charged %}", "Next": "Done"}],
                "Default": "Failed",
            },
            "Done": {"Type": "Succeed", "Output": {"ok": True}},
            "Failed": {"Type": "Fail", "Error": "ChargeFailed"},
        },
    }


def test_valid_jsonpath_machine_has_no_problems() -> None:
    assert check_asl(jsonpath_machine()) == []


def test_valid_jsonata_machine_has_no_problems() -> None:
    assert check_asl(jsonata_machine()) == []


def test_state_level_query_language_switches_field_rules() -> None:
    machine = jsonpath_machine()
    machine["States"]["Pause"] = {
        "Type": "Wait",
        "QueryLanguage": "JSONata",
        "Seconds": "{% 5 %}",
        "Next": "Fanout",
    }
    assert check_asl(machine) == []


Mutation = Callable[[dict[str, Any]], None]


DELETE = object()


def _set(path: str, value: Any) -> Mutation:
    """Mutation that sets a '/'-separated path (`States/Validate/Next`); DELETE removes the key."""

    def mutate(machine: dict[str, Any]) -> None:
        *parents, leaf = path.split("/")
        node: Any = machine
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        index: Any = int(leaf) if isinstance(node, list) else leaf
        if value is DELETE:
            del node[index]
        else:
            node[index] = copy.deepcopy(value)

    return mutate


CASES: list[tuple[str, Mutation, str]] = [
    ("missing StartAt target", _set("StartAt", "Nope"), "StartAt: 'Nope' is not a state in States"),
    ("missing StartAt", _set("StartAt", DELETE), "StartAt: is required and must name a state"),
    ("empty States", _set("States", {}), "States: must be a non-empty object of states"),
    (
        "dangling Next",
        _set("States/Pause/Next", "Nowhere"),
        "States.Pause.Next: 'Nowhere' is not a state in the same States block",
    ),
    ("invalid Type", _set("States/Pause/Type", "Sleep"), "States.Pause.Type: must be one of"),
    ("Next and End", _set("States/Pause/End", True), "States.Pause: has both Next and End"),
    ("neither Next nor End", _set("States/Pause/Next", DELETE), "States.Pause: needs Next or End: true"),
    (
        "End false",
        _set("States/Done", {"Type": "Pass", "End": False}),
        "States.Done.End: must be true when present",
    ),
    (
        "Succeed with Next",
        _set("States/Done/Next", "Failed"),
        "States.Done.Next: a Succeed state cannot have Next",
    ),
    ("unknown field", _set("States/Pause/Secs", 3), "States.Pause.Secs: is not a field of a Wait state"),
    (
        "Choice without comparison",
        _set("States/Route/Choices/0", {"Variable": "$.ok", "Next": "Pause"}),
        "States.Route.Choices[0]: needs Variable with exactly one comparison operator, "
        "or And/Or/Not (found none)",
    ),
    (
        "Choice with two comparisons",
        _set("States/Route/Choices/0/StringEquals", "yes"),
        "(found BooleanEquals, StringEquals)",
    ),
    (
        "Choice rule without Variable",
        _set("States/Route/Choices/0/Variable", DELETE),
        "States.Route.Choices[0].Variable: is required",
    ),
    (
        "Choice rule without Next",
        _set("States/Route/Choices/0/Next", DELETE),
        "States.Route.Choices[0]: needs Next",
    ),
    (
        "Choice nested rule with Next",
        _set("States/Route/Choices/1/And/0/Next", "Pause"),
        "States.Route.Choices[1].And[0].Next: only top-level Choice rules can have Next",
    ),
    (
        "Choice empty And",
        _set("States/Route/Choices/1/And", []),
        "States.Route.Choices[1].And: must be a non-empty",
    ),
    (
        "Choice operand type",
        _set("States/Route/Choices/1/And/0/NumericGreaterThan", "100"),
        "States.Route.Choices[1].And[0].NumericGreaterThan: must be a number",
    ),
    (
        "Choice dangling Default",
        _set("States/Route/Default", "Gone"),
        "States.Route.Default: 'Gone' is not a state",
    ),
    ("Choice without Choices", _set("States/Route/Choices", []), "States.Route.Choices: is required"),
    (
        "unreachable state",
        _set("States/Orphan", {"Type": "Pass", "End": True}),
        "States.Orphan: is unreachable from StartAt",
    ),
    (
        "no terminal state",
        _set("States", {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
        "States: has no terminal state",
    ),
    (
        "Wait with two durations",
        _set("States/Pause/Timestamp", "2030-01-01T00:00:00Z"),
        "needs exactly one of",
    ),
    (
        "Wait negative",
        _set("States/Pause/Seconds", -1),
        "States.Pause.Seconds: must be a non-negative integer",
    ),
    (
        "Task without Resource",
        _set("States/Validate/Resource", DELETE),
        "States.Validate.Resource: is required",
    ),
    (
        "Task timeout zero",
        _set("States/Validate/TimeoutSeconds", 0),
        "States.Validate.TimeoutSeconds: must be a positive integer",
    ),
    (
        "heartbeat not below timeout",
        _set("States/Validate/HeartbeatSeconds", 30),
        "States.Validate.HeartbeatSeconds: must be smaller than TimeoutSeconds",
    ),
    ("machine timeout", _set("TimeoutSeconds", -5), "TimeoutSeconds: must be a positive integer"),
    (
        "Retry empty ErrorEquals",
        _set("States/Validate/Retry/0/ErrorEquals", []),
        "States.Validate.Retry[0].ErrorEquals: is required and must be a non-empty list",
    ),
    (
        "Retry States.ALL not last",
        _set("States/Validate/Retry/0/ErrorEquals", ["States.ALL"]),
        "States.Validate.Retry[0].ErrorEquals: States.ALL must be in the last entry",
    ),
    (
        "Retry States.ALL not alone",
        _set("States/Validate/Retry/1/ErrorEquals", ["States.ALL", "States.Timeout"]),
        "States.Validate.Retry[1].ErrorEquals: States.ALL must appear alone",
    ),
    (
        "Retry misspelt error",
        _set("States/Validate/Retry/0/ErrorEquals", ["States.Timout"]),
        "'States.Timout' is not a Step Functions error name",
    ),
    (
        "Retry bad BackoffRate",
        _set("States/Validate/Retry/0/BackoffRate", 0.5),
        "States.Validate.Retry[0].BackoffRate: must be a number >= 1.0",
    ),
    (
        "Retry bad MaxAttempts",
        _set("States/Validate/Retry/1/MaxAttempts", -1),
        "States.Validate.Retry[1].MaxAttempts: must be a non-negative integer",
    ),
    (
        "Retry not a list",
        _set("States/Validate/Retry", {"ErrorEquals": ["X"]}),
        "States.Validate.Retry: must be a list",
    ),
    (
        "Catch dangling Next",
        _set("States/Validate/Catch/0/Next", "Gone"),
        "States.Validate.Catch[0].Next: 'Gone' is not a state",
    ),
    (
        "Catch without Next",
        _set("States/Validate/Catch/0/Next", DELETE),
        "States.Validate.Catch[0]: needs Next",
    ),
    (
        "Parallel branch dangling Next",
        _set("States/Fanout/Branches/0/States/Notify", {"Type": "Pass", "Next": "Done"}),
        "States.Fanout.Branches[0].States.Notify.Next: 'Done' is not a state in the same States block",
    ),
    ("Parallel without branches", _set("States/Fanout/Branches", []), "States.Fanout.Branches: is required"),
    (
        "Map processor missing StartAt target",
        _set("States/EachItem/ItemProcessor/StartAt", "Nope"),
        "States.EachItem.ItemProcessor.StartAt: 'Nope' is not a state in "
        "States.EachItem.ItemProcessor.States",
    ),
    (
        "Map without processor",
        _set("States/EachItem/ItemProcessor", DELETE),
        "needs exactly one of ItemProcessor",
    ),
    (
        "duplicate state name across scopes",
        _set(
            "States/EachItem/ItemProcessor",
            {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}},
        ),
        "States.Done: state name 'Done' is also used at States.EachItem.ItemProcessor.States.Done",
    ),
    (
        "waitForTaskToken without token",
        _set("States/Fanout/Branches/1/States/Callback/Parameters/MessageBody", {"id.$": "$.id"}),
        ".waitForTaskToken task must pass $$.Task.Token",
    ),
    (
        "waitForTaskToken with the token as a literal",
        _set("States/Fanout/Branches/1/States/Callback/Parameters/MessageBody", {"token": "$$.Task.Token"}),
        ".waitForTaskToken task must pass $$.Task.Token",
    ),
    (
        "waitForTaskToken without timeout",
        _set("States/Fanout/Branches/1/States/Callback/HeartbeatSeconds", DELETE),
        "needs TimeoutSeconds or HeartbeatSeconds to bound the wait",
    ),
    (
        "payload path key with a literal",
        _set("States/Validate/Parameters/Payload.$", "input"),
        "States.Validate.Parameters.Payload.$: must be a path",
    ),
    (
        "JSONata field in a JSONPath state",
        _set("States/Validate/Arguments", {"a": 1}),
        "States.Validate.Arguments: is JSONata-only",
    ),
    (
        "bad ResultPath",
        _set("States/Validate/ResultPath", "validation"),
        "States.Validate.ResultPath: must be a path",
    ),
    ("bad QueryLanguage", _set("QueryLanguage", "XPath"), "QueryLanguage: must be one of"),
    ("unknown top-level field", _set("Startat", "Validate"), "Startat: unknown field"),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in CASES], ids=[c[0] for c in CASES])
def test_broken_jsonpath_machine_is_reported(mutate: Mutation, expected: str) -> None:
    machine = jsonpath_machine()
    mutate(machine)
    problems = check_asl(machine)
    assert any(expected in problem for problem in problems), problems


JSONATA_CASES: list[tuple[str, Mutation, str]] = [
    (
        "JSONPath field in a JSONata state",
        _set("States/Charge/Parameters", {"a": 1}),
        "States.Charge.Parameters: is JSONPath-only; with QueryLanguage JSONata use Arguments/Output",
    ),
    ("ResultSelector in JSONata", _set("States/Charge/ResultSelector", {"a": 1}), "is JSONPath-only"),
    (
        "Choice rule without Condition",
        _set("States/Decide/Choices/0", {"Variable": "$.x", "BooleanEquals": True, "Next": "Done"}),
        "States.Decide.Choices[0].Condition: is required and must be a JSONata expression",
    ),
    (
        "Catch ResultPath in JSONata",
        _set("States/Charge/Catch/0/ResultPath", "$.error"),
        "States.Charge.Catch[0].ResultPath: is JSONPath-only",
    ),
    (
        "waitForTaskToken without token",
        _set("States/Charge/Arguments/Payload", {}),
        "States.Charge.Arguments: .waitForTaskToken task must pass $states.context.Task.Token",
    ),
    (
        "non-expression timeout",
        _set("States/Charge/TimeoutSeconds", "soon"),
        "States.Charge.TimeoutSeconds: must be a positive integer",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in JSONATA_CASES], ids=[c[0] for c in JSONATA_CASES]
)
def test_broken_jsonata_machine_is_reported(mutate: Mutation, expected: str) -> None:
    machine = jsonata_machine()
    mutate(machine)
    problems = check_asl(machine)
    assert any(expected in problem for problem in problems), problems


def test_task_token_inside_an_intrinsic_counts_as_passed() -> None:
    machine = jsonpath_machine()
    callback = machine["States"]["Fanout"]["Branches"][1]["States"]["Callback"]
    callback["Parameters"]["MessageBody"] = {"body.$": "States.Format('{}', $$.Task.Token)"}
    assert check_asl(machine) == []


def test_missing_start_at_target_does_not_also_flag_every_state_unreachable() -> None:
    machine = jsonpath_machine()
    machine["StartAt"] = "Nope"
    assert check_asl(machine) == ["StartAt: 'Nope' is not a state in States"]


def test_definition_that_is_not_an_object_is_reported() -> None:
    assert check_asl([]) == ["definition: must be an object with StartAt and States"]  # type: ignore[arg-type]
