"""Offline Amazon States Language validator.

Step Functions only validates a definition at deploy time, minutes into a CloudFormation update, and
cfn-lint cannot see definitions that SAM loads from `DefinitionUri`. This checks the structure
(states, transitions, Choice rules, Retry/Catch, nested Parallel/Map machines, reachability) and the
field set of both query languages: JSONPath (`Parameters`, `ResultSelector`, `ResultPath`, ...) and
JSONata (`Arguments`, `Output`, `Condition`, `{% ... %}` expressions).

Policy choices beyond the specification, both because the failure is silent at run time:
- a `.waitForTaskToken` Task must pass the task token (`$$.Task.Token` in Parameters, or
  `$states.context.Task.Token` in Arguments) and must bound the wait with TimeoutSeconds or
  HeartbeatSeconds (or their *Path forms); otherwise a lost callback parks the execution for up to a year;
- an error name starting with `States.` that Step Functions does not define is a typo that never matches.
Messages start with the JSON path of the offending field, e.g. `States.Notify.Next: ...`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

JSONPATH = "JSONPath"
JSONATA = "JSONata"
QUERY_LANGUAGES = frozenset({JSONPATH, JSONATA})

STATE_TYPES = frozenset({"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
_TERMINAL_TYPES = frozenset({"Succeed", "Fail"})
_NO_TRANSITION_TYPES = _TERMINAL_TYPES | {"Choice"}
_MAX_STATE_NAME_LENGTH = 80
_MAX_TIMEOUT_SECONDS = 99_999_999

_ROOT_FIELDS = frozenset({"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"})
_BRANCH_FIELDS = frozenset({"Comment", "StartAt", "States"})
_ITEM_PROCESSOR_FIELDS = _BRANCH_FIELDS | {"ProcessorConfig"}

_COMMON_FIELDS = frozenset({"Type", "Comment", "QueryLanguage"})
_IO_FIELDS = frozenset({"InputPath", "OutputPath", "Output", "Assign"})
_RESULT_FIELDS = frozenset({"Parameters", "Arguments", "ResultPath", "ResultSelector", "Retry", "Catch"})
_FIELDS_BY_TYPE: dict[str, frozenset[str]] = {
    "Task": _IO_FIELDS
    | _RESULT_FIELDS
    | {
        "Resource",
        "Credentials",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
    },
    "Pass": _IO_FIELDS | {"Parameters", "Result", "ResultPath"},
    "Choice": _IO_FIELDS | {"Choices", "Default"},
    "Wait": _IO_FIELDS | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
    "Succeed": frozenset({"InputPath", "OutputPath", "Output"}),
    "Fail": frozenset({"Error", "Cause", "ErrorPath", "CausePath"}),
    "Parallel": _IO_FIELDS | _RESULT_FIELDS | {"Branches"},
    "Map": _IO_FIELDS
    | _RESULT_FIELDS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemReader",
        "ItemSelector",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
    },
}

_JSONPATH_ONLY_FIELDS = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultPath",
        "ResultSelector",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "ErrorPath",
        "CausePath",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCountPath",
    }
)
_JSONATA_ONLY_FIELDS = frozenset({"Arguments", "Output", "Items"})
_PATH_FIELDS = frozenset({"InputPath", "OutputPath", "ResultPath", "ItemsPath"})
_PAYLOAD_TEMPLATE_FIELDS = ("Parameters", "ResultSelector", "ItemSelector")

_WAIT_DURATION_FIELDS = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")

_COMPARISON_OPERATORS = frozenset(
    {
        *(
            f"{kind}{relation}{suffix}"
            for kind in ("String", "Numeric", "Timestamp")
            for relation in ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
            for suffix in ("", "Path")
        ),
        "StringMatches",
        "BooleanEquals",
        "BooleanEqualsPath",
        "IsNull",
        "IsPresent",
        "IsNumeric",
        "IsString",
        "IsBoolean",
        "IsTimestamp",
    }
)
_BOOLEAN_CONNECTIVES = ("And", "Or", "Not")

_STATES_ERROR_NAMES = frozenset(
    {
        "States.ALL",
        "States.BranchFailed",
        "States.DataLimitExceeded",
        "States.ExceedToleratedFailureThreshold",
        "States.HeartbeatTimeout",
        "States.Http.Socket",
        "States.IntrinsicFailure",
        "States.ItemReaderFailed",
        "States.NoChoiceMatched",
        "States.ParameterPathFailure",
        "States.Permissions",
        "States.QueryEvaluationError",
        "States.ResultPathMatchFailure",
        "States.ResultWriterFailed",
        "States.Runtime",
        "States.TaskFailed",
        "States.Timeout",
    }
)
_RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"})

_TASK_TOKEN_JSONPATH = "$$.Task.Token"
_TASK_TOKEN_JSONATA = "$states.context.Task.Token"


def check_asl(definition: dict[str, Any]) -> list[str]:
    """Every problem found in a state machine definition; empty means it is valid."""
    checker = _AslChecker()
    checker.check_machine(definition, "", _ROOT_FIELDS, JSONPATH)
    return checker.problems


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_jsonata_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def _evaluated_strings(value: Any, query_language: str) -> Iterator[str]:
    """Strings Step Functions evaluates in a payload: every string for JSONata, `.$` values for JSONPath."""
    if isinstance(value, str) and query_language == JSONATA:
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if query_language == JSONPATH and key.endswith(".$") and isinstance(item, str):
                yield item
            else:
                yield from _evaluated_strings(item, query_language)
    elif isinstance(value, list):
        for item in value:
            yield from _evaluated_strings(item, query_language)


def _transition_targets(state: dict[str, Any]) -> Iterator[Any]:
    """Names this state can move to within its own scope: Next, Choice rules and Default, Catch."""
    yield state.get("Next")
    yield state.get("Default")
    for rules_key in ("Choices", "Catch"):
        rules = state.get(rules_key)
        if isinstance(rules, list):
            for rule in rules:
                if isinstance(rule, dict):
                    yield rule.get("Next")


class _AslChecker:
    """Walks one definition, nested machines included, collecting problems and the names seen so far."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._state_paths: dict[str, str] = {}

    def _problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}" if path else message)

    def check_machine(
        self, machine: Any, prefix: str, allowed_fields: frozenset[str], query_language: str
    ) -> None:
        """Check one scope: the root definition, a Parallel branch or a Map item processor."""
        where = prefix or "definition"
        if not isinstance(machine, dict):
            self._problem(where, "must be an object with StartAt and States")
            return
        for field in machine:
            if field not in allowed_fields:
                self._problem(_join(prefix, field), "unknown field")
        if "QueryLanguage" in machine:
            query_language = self._check_query_language(
                machine["QueryLanguage"], _join(prefix, "QueryLanguage")
            )
        if "TimeoutSeconds" in machine:
            self._check_timeout(machine["TimeoutSeconds"], _join(prefix, "TimeoutSeconds"), JSONPATH)

        states = machine.get("States")
        states_path = _join(prefix, "States")
        if not isinstance(states, dict) or not states:
            self._problem(states_path, "must be a non-empty object of states")
            return
        start_at = machine.get("StartAt")
        if not isinstance(start_at, str):
            self._problem(_join(prefix, "StartAt"), "is required and must name a state")
        elif start_at not in states:
            self._problem(_join(prefix, "StartAt"), f"'{start_at}' is not a state in {states_path}")

        for name, state in states.items():
            self._check_state(name, state, f"{states_path}.{name}", states, query_language)
        if isinstance(start_at, str) and start_at in states:
            self._check_reachability(start_at, states, states_path)
        if not any(
            isinstance(state, dict) and (state.get("End") is True or state.get("Type") in _TERMINAL_TYPES)
            for state in states.values()
        ):
            self._problem(
                states_path, "has no terminal state (End: true, Succeed or Fail), so it can never finish"
            )

    def _check_query_language(self, value: Any, path: str) -> str:
        if value not in QUERY_LANGUAGES:
            self._problem(path, f"must be one of {sorted(QUERY_LANGUAGES)}, got {value!r}")
            return JSONPATH
        return str(value)

    def _check_reachability(self, start_at: str, states: dict[str, Any], states_path: str) -> None:
        reachable: set[str] = set()
        pending = [start_at]
        while pending:
            name = pending.pop()
            if name in reachable:
                continue
            reachable.add(name)
            state = states[name]
            if isinstance(state, dict):
                pending.extend(
                    target
                    for target in _transition_targets(state)
                    if isinstance(target, str) and target in states
                )
        for name in states:
            if name not in reachable:
                self._problem(f"{states_path}.{name}", "is unreachable from StartAt")

    def _check_state(
        self, name: str, state: Any, path: str, scope: dict[str, Any], inherited_language: str
    ) -> None:
        if name in self._state_paths:
            self._problem(
                path, f"state name '{name}' is also used at {self._state_paths[name]}; names must be unique"
            )
        else:
            self._state_paths[name] = path
        if len(name) > _MAX_STATE_NAME_LENGTH:
            self._problem(path, f"state name is longer than {_MAX_STATE_NAME_LENGTH} characters")
        if not isinstance(state, dict):
            self._problem(path, "must be an object")
            return
        state_type = state.get("Type")
        if state_type not in STATE_TYPES:
            self._problem(f"{path}.Type", f"must be one of {sorted(STATE_TYPES)}, got {state_type!r}")
            return
        query_language = inherited_language
        if "QueryLanguage" in state:
            query_language = self._check_query_language(state["QueryLanguage"], f"{path}.QueryLanguage")

        self._check_fields(state, state_type, path, query_language)
        self._check_transition(state, state_type, path, scope)
        if state_type == "Task":
            self._check_task(state, path, query_language)
        elif state_type == "Choice":
            self._check_choice(state, path, scope, query_language)
        elif state_type == "Wait":
            self._check_wait(state, path, query_language)
        elif state_type == "Fail":
            self._check_fail(state, path)
        elif state_type == "Parallel":
            self._check_parallel(state, path, query_language)
        elif state_type == "Map":
            self._check_map(state, path, query_language)
        if "Retry" in state:
            self._check_retry(state["Retry"], f"{path}.Retry")
        if "Catch" in state:
            self._check_catch(state["Catch"], f"{path}.Catch", scope, query_language)

    def _check_fields(self, state: dict[str, Any], state_type: str, path: str, query_language: str) -> None:
        allowed = _COMMON_FIELDS | _FIELDS_BY_TYPE[state_type]
        for field, value in state.items():
            field_path = f"{path}.{field}"
            if field in ("Next", "End"):
                continue
            if field not in allowed:
                self._problem(field_path, f"is not a field of a {state_type} state")
            elif query_language == JSONATA and field in _JSONPATH_ONLY_FIELDS:
                self._problem(field_path, "is JSONPath-only; with QueryLanguage JSONata use Arguments/Output")
            elif query_language == JSONPATH and field in _JSONATA_ONLY_FIELDS:
                self._problem(
                    field_path, "is JSONata-only; set QueryLanguage to JSONata or use the JSONPath fields"
                )
            elif field in _PATH_FIELDS and not (
                (value is None and field != "ItemsPath") or (isinstance(value, str) and value.startswith("$"))
            ):
                self._problem(field_path, f"must be a path starting with '$', got {value!r}")
        if query_language == JSONPATH:
            for field in _PAYLOAD_TEMPLATE_FIELDS:
                if field in state:
                    self._check_payload_template(state[field], f"{path}.{field}")

    def _check_payload_template(self, template: Any, path: str) -> None:
        """In JSONPath payload templates a key ending in `.$` must hold a path or an intrinsic function."""
        if isinstance(template, list):
            for index, item in enumerate(template):
                self._check_payload_template(item, f"{path}[{index}]")
            return
        if not isinstance(template, dict):
            return
        for key, value in template.items():
            if key.endswith(".$"):
                if not (isinstance(value, str) and (value.startswith("$") or value.startswith("States."))):
                    self._problem(
                        f"{path}.{key}", f"must be a path ('$...') or intrinsic ('States....'), got {value!r}"
                    )
            else:
                self._check_payload_template(value, f"{path}.{key}")

    def _check_transition(
        self, state: dict[str, Any], state_type: str, path: str, scope: dict[str, Any]
    ) -> None:
        has_next = "Next" in state
        has_end = "End" in state
        if state_type in _NO_TRANSITION_TYPES:
            for field in ("Next", "End"):
                if field in state:
                    self._problem(f"{path}.{field}", f"a {state_type} state cannot have {field}")
            return
        if has_end and state["End"] is not True:
            self._problem(f"{path}.End", f"must be true when present, got {state['End']!r}")
        if has_next and has_end:
            self._problem(path, "has both Next and End; a state either moves on or ends")
        elif not has_next and not has_end:
            self._problem(path, "needs Next or End: true")
        if has_next:
            self._check_target(state["Next"], f"{path}.Next", scope)

    def _check_target(self, target: Any, path: str, scope: dict[str, Any]) -> None:
        if not isinstance(target, str):
            self._problem(path, f"must be a state name, got {target!r}")
        elif target not in scope:
            self._problem(path, f"'{target}' is not a state in the same States block")

    def _check_timeout(self, value: Any, path: str, query_language: str) -> None:
        if query_language == JSONATA and _is_jsonata_expression(value):
            return
        if not _is_int(value) or not 0 < value <= _MAX_TIMEOUT_SECONDS:
            self._problem(path, f"must be a positive integer up to {_MAX_TIMEOUT_SECONDS}, got {value!r}")

    def _check_task(self, state: dict[str, Any], path: str, query_language: str) -> None:
        resource = state.get("Resource")
        if not isinstance(resource, str) or not resource:
            self._problem(f"{path}.Resource", "is required for a Task state and must be a string")
        for seconds_field in ("TimeoutSeconds", "HeartbeatSeconds"):
            if seconds_field in state:
                self._check_timeout(state[seconds_field], f"{path}.{seconds_field}", query_language)
            if seconds_field in state and f"{seconds_field}Path" in state:
                self._problem(path, f"has both {seconds_field} and {seconds_field}Path; use one")
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        if _is_int(timeout) and _is_int(heartbeat) and heartbeat >= timeout:
            self._problem(f"{path}.HeartbeatSeconds", "must be smaller than TimeoutSeconds")
        if isinstance(resource, str) and resource.endswith(".waitForTaskToken"):
            self._check_callback_task(state, path, query_language)

    def _check_callback_task(self, state: dict[str, Any], path: str, query_language: str) -> None:
        if query_language == JSONATA:
            payload_field, token = "Arguments", _TASK_TOKEN_JSONATA
        else:
            payload_field, token = "Parameters", _TASK_TOKEN_JSONPATH
        if not any(token in text for text in _evaluated_strings(state.get(payload_field), query_language)):
            self._problem(
                f"{path}.{payload_field}",
                f".waitForTaskToken task must pass {token} so the worker can call back",
            )
        bounds = ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath")
        if not any(field in state for field in bounds):
            self._problem(
                path, ".waitForTaskToken task needs TimeoutSeconds or HeartbeatSeconds to bound the wait"
            )

    def _check_choice(
        self, state: dict[str, Any], path: str, scope: dict[str, Any], query_language: str
    ) -> None:
        choices = state.get("Choices")
        if not isinstance(choices, list) or not choices:
            self._problem(f"{path}.Choices", "is required for a Choice state and must be a non-empty list")
        else:
            for index, rule in enumerate(choices):
                rule_path = f"{path}.Choices[{index}]"
                if query_language == JSONATA:
                    self._check_jsonata_choice_rule(rule, rule_path, scope)
                else:
                    self._check_choice_rule(rule, rule_path, scope, top_level=True)
        if "Default" in state:
            self._check_target(state["Default"], f"{path}.Default", scope)

    def _check_jsonata_choice_rule(self, rule: Any, path: str, scope: dict[str, Any]) -> None:
        if not isinstance(rule, dict):
            self._problem(path, "must be an object")
            return
        for field in rule:
            if field not in ("Condition", "Next", "Comment", "Assign", "Output"):
                self._problem(f"{path}.{field}", "is not a field of a JSONata Choice rule (use Condition)")
        if not _is_jsonata_expression(rule.get("Condition")):
            self._problem(f"{path}.Condition", "is required and must be a JSONata expression '{% ... %}'")
        if "Next" not in rule:
            self._problem(path, "needs Next")
        else:
            self._check_target(rule["Next"], f"{path}.Next", scope)

    def _check_choice_rule(self, rule: Any, path: str, scope: dict[str, Any], *, top_level: bool) -> None:
        if not isinstance(rule, dict):
            self._problem(path, "must be an object")
            return
        if top_level:
            if "Next" not in rule:
                self._problem(path, "needs Next")
            else:
                self._check_target(rule["Next"], f"{path}.Next", scope)
        elif "Next" in rule:
            self._problem(f"{path}.Next", "only top-level Choice rules can have Next")

        connectives = [key for key in _BOOLEAN_CONNECTIVES if key in rule]
        operators = sorted(key for key in rule if key in _COMPARISON_OPERATORS)
        allowed = _COMPARISON_OPERATORS | set(_BOOLEAN_CONNECTIVES) | {"Variable", "Comment"}
        if top_level:
            allowed |= {"Next", "Assign"}
        for field in rule:
            if field not in allowed:
                self._problem(f"{path}.{field}", "is not a Choice rule field or comparison operator")

        if connectives:
            if len(connectives) > 1 or operators or "Variable" in rule:
                self._problem(
                    path, "combine rules with exactly one of And/Or/Not and no Variable or comparison"
                )
            self._check_connective(rule, connectives[0], f"{path}.{connectives[0]}", scope)
            return
        if len(operators) != 1:
            found = f"found {', '.join(operators)}" if operators else "found none"
            self._problem(
                path, f"needs Variable with exactly one comparison operator, or And/Or/Not ({found})"
            )
        variable = rule.get("Variable")
        if not (isinstance(variable, str) and variable.startswith("$")):
            self._problem(
                f"{path}.Variable", f"is required and must be a path starting with '$', got {variable!r}"
            )
        for operator in operators:
            self._check_operand(operator, rule[operator], f"{path}.{operator}")

    def _check_connective(
        self, rule: dict[str, Any], connective: str, path: str, scope: dict[str, Any]
    ) -> None:
        operand = rule[connective]
        if connective == "Not":
            self._check_choice_rule(operand, path, scope, top_level=False)
        elif not isinstance(operand, list) or not operand:
            self._problem(path, "must be a non-empty list of rules")
        else:
            for index, nested in enumerate(operand):
                self._check_choice_rule(nested, f"{path}[{index}]", scope, top_level=False)

    def _check_operand(self, operator: str, value: Any, path: str) -> None:
        if operator.endswith("Path"):
            valid, expected = isinstance(value, str) and value.startswith("$"), "a path starting with '$'"
        elif operator.startswith("Is") or operator == "BooleanEquals":
            valid, expected = isinstance(value, bool), "a boolean"
        elif operator.startswith("Numeric"):
            valid, expected = _is_number(value), "a number"
        else:
            valid, expected = isinstance(value, str), "a string"
        if not valid:
            self._problem(path, f"must be {expected}, got {value!r}")

    def _check_wait(self, state: dict[str, Any], path: str, query_language: str) -> None:
        given = [field for field in _WAIT_DURATION_FIELDS if field in state]
        if len(given) != 1:
            self._problem(path, f"a Wait state needs exactly one of {', '.join(_WAIT_DURATION_FIELDS)}")
        seconds = state.get("Seconds")
        if "Seconds" in state and not (
            (query_language == JSONATA and _is_jsonata_expression(seconds))
            or (_is_int(seconds) and seconds >= 0)
        ):
            self._problem(f"{path}.Seconds", f"must be a non-negative integer, got {seconds!r}")

    def _check_fail(self, state: dict[str, Any], path: str) -> None:
        for field in ("Error", "Cause"):
            if field in state and f"{field}Path" in state:
                self._problem(path, f"has both {field} and {field}Path; use one")

    def _check_parallel(self, state: dict[str, Any], path: str, query_language: str) -> None:
        branches = state.get("Branches")
        if not isinstance(branches, list) or not branches:
            self._problem(f"{path}.Branches", "is required for a Parallel state and must be a non-empty list")
            return
        for index, branch in enumerate(branches):
            self.check_machine(branch, f"{path}.Branches[{index}]", _BRANCH_FIELDS, query_language)

    def _check_map(self, state: dict[str, Any], path: str, query_language: str) -> None:
        processors = [field for field in ("ItemProcessor", "Iterator") if field in state]
        if len(processors) != 1:
            self._problem(path, "a Map state needs exactly one of ItemProcessor or Iterator")
        for field in processors:
            self.check_machine(state[field], f"{path}.{field}", _ITEM_PROCESSOR_FIELDS, query_language)
        concurrency = state.get("MaxConcurrency")
        if "MaxConcurrency" in state and not (
            (query_language == JSONATA and _is_jsonata_expression(concurrency))
            or (_is_int(concurrency) and concurrency >= 0)
        ):
            self._problem(f"{path}.MaxConcurrency", f"must be a non-negative integer, got {concurrency!r}")

    def _check_error_equals(self, handler: dict[str, Any], path: str, *, is_last: bool) -> None:
        errors = handler.get("ErrorEquals")
        if not isinstance(errors, list) or not errors or not all(isinstance(error, str) for error in errors):
            self._problem(f"{path}.ErrorEquals", "is required and must be a non-empty list of error names")
            return
        for error in errors:
            if error.startswith("States.") and error not in _STATES_ERROR_NAMES:
                self._problem(f"{path}.ErrorEquals", f"'{error}' is not a Step Functions error name")
        if "States.ALL" in errors:
            if len(errors) > 1:
                self._problem(f"{path}.ErrorEquals", "States.ALL must appear alone")
            if not is_last:
                self._problem(f"{path}.ErrorEquals", "States.ALL must be in the last entry")

    def _check_retry(self, retriers: Any, path: str) -> None:
        if not isinstance(retriers, list):
            self._problem(path, "must be a list of retriers")
            return
        for index, retrier in enumerate(retriers):
            retrier_path = f"{path}[{index}]"
            if not isinstance(retrier, dict):
                self._problem(retrier_path, "must be an object")
                continue
            for field in retrier:
                if field not in _RETRIER_FIELDS:
                    self._problem(f"{retrier_path}.{field}", "is not a Retry field")
            self._check_error_equals(retrier, retrier_path, is_last=index == len(retriers) - 1)
            self._check_retrier_numbers(retrier, retrier_path)

    def _check_retrier_numbers(self, retrier: dict[str, Any], path: str) -> None:
        for field in ("IntervalSeconds", "MaxDelaySeconds"):
            value = retrier.get(field)
            if field in retrier and not (_is_int(value) and value > 0):
                self._problem(f"{path}.{field}", f"must be a positive integer, got {value!r}")
        attempts = retrier.get("MaxAttempts")
        if "MaxAttempts" in retrier and not (_is_int(attempts) and attempts >= 0):
            self._problem(f"{path}.MaxAttempts", f"must be a non-negative integer, got {attempts!r}")
        backoff = retrier.get("BackoffRate")
        if "BackoffRate" in retrier and not (_is_number(backoff) and backoff >= 1):
            self._problem(f"{path}.BackoffRate", f"must be a number >= 1.0, got {backoff!r}")
        if "JitterStrategy" in retrier and retrier["JitterStrategy"] not in ("FULL", "NONE"):
            self._problem(f"{path}.JitterStrategy", "must be FULL or NONE")

    def _check_catch(self, catchers: Any, path: str, scope: dict[str, Any], query_language: str) -> None:
        if not isinstance(catchers, list):
            self._problem(path, "must be a list of catchers")
            return
        for index, catcher in enumerate(catchers):
            catcher_path = f"{path}[{index}]"
            if not isinstance(catcher, dict):
                self._problem(catcher_path, "must be an object")
                continue
            for field in catcher:
                if field not in _CATCHER_FIELDS:
                    self._problem(f"{catcher_path}.{field}", "is not a Catch field")
                elif query_language == JSONATA and field == "ResultPath":
                    self._problem(f"{catcher_path}.{field}", "is JSONPath-only; with JSONata use Output")
                elif query_language == JSONPATH and field == "Output":
                    self._problem(f"{catcher_path}.{field}", "is JSONata-only; with JSONPath use ResultPath")
            self._check_error_equals(catcher, catcher_path, is_last=index == len(catchers) - 1)
            if "Next" not in catcher:
                self._problem(catcher_path, "needs Next")
            else:
                self._check_target(catcher["Next"], f"{catcher_path}.Next", scope)
