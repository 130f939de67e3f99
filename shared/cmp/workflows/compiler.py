"""Compile a checked flow definition to an Amazon States Language state machine (Standard workflow).

Every action node becomes a callback Task (`arn:aws:states:::sqs:sendMessage.waitForTaskToken`) that sends
the step worker `{"kind": "step", "run_id", "tenant_id", "workflow_version_id", "node", "context",
"task_token"}` and stores the worker's answer at `$.steps.<node id>` (DESIGN §4: the same ASL runs in AWS, in
moto and against a dedicated tenant's own queue). The state input is the run context (see
`cmp.workflows.expressions`): `{"run": {"id", "tenant_id", "workflow_id", "version"}, "input", "vars",
"steps": {}}`.

- `if`/`switch` → Choice (rules from `expressions.to_choice_rule`); a condition ASL cannot state (regex) is
  first decided by the worker (`kind: "branch"`, answer `{"branch": name}` at `$.branches.<id>`).
- `loop` → Map (`MaxConcurrency` = parallelism) over the referenced array (`for_each`) or
  `States.ArrayRange(1, times, 1)` (`repeat`); a Pass counts the items first and a Choice fails the run with
  `LoopLimitExceeded` above `maxIterations`. Each iteration sees the context plus `item` and `index` and
  returns its `steps`; the loop's output is the array of them. A `while` loop is a counter at
  `$.loops.<id>.count` (a Pass sets 0), the worker deciding its `condition` before each iteration
  (`kind: "branch"`, `true`/`false`, the condition seeing the whole context, `loops` included), a Choice
  that leaves on `false` and fails the run with `LoopLimitExceeded` once `maxIterations` iterations ran,
  the body as a one-branch Parallel (the last iteration's `steps` at `$.steps.<id>.steps`) and a Pass adding
  one with `States.MathAdd`.
- `parallel` → Parallel; its output is the array of each branch's `steps`.
- `onError`: `retry` → Retry (`IntervalSeconds`, `MaxAttempts`, `BackoffRate`) then fail; `fallback` → Catch
  to the fallback node; `continue` → Catch storing the error as the step's output and going on; `fail` →
  the run fails.
- The flow runs inside one Parallel state `Run` (its single branch), so a failure anywhere, including a
  state that cannot catch (a Pass whose intrinsic fails, a loop over a value that is not an array), ends in
  `RecordFailure` (worker `kind: "finish"`, status failed) then `RunFailed`; the end of the flow is
  `RecordSuccess` (`kind: "finish"`, status succeeded, `output` the `steps` of the run, which the run keeps
  and a sub-workflow run hands to its parent).
- `subworkflow` → a callback Task like an action, its message also carrying `timeout_seconds` (the
  state's `TimeoutSeconds`, after which the child run is cancelled); the worker starts the child run and
  the child's finish answers it (`cmp.workflows.subworkflows`).
- Each callback Task has `TimeoutSeconds` (the node's, else the product's step timeout) and, when given,
  `HeartbeatSeconds`.

`compile_definition` returns the ASL as a dict; `check_compiled` applies the structural checks that must
hold before it is stored (unique state names ≤ 80 characters, every `Next`/`Default`/Catch target defined).
"""

from __future__ import annotations

from typing import Any

from cmp.workflows.definition import SUBWORKFLOW, TRIGGER_TYPES, Definition, Flow, Node
from cmp.workflows.expressions import json_path, reference, to_choice_rule

CALLBACK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
RUN = "Run"
RECORD_SUCCESS = "RecordSuccess"
RECORD_FAILURE = "RecordFailure"
RUN_FAILED = "RunFailed"
FINISH_TIMEOUT_SECONDS = 300


class Compiler:
    """One compilation: the queue the worker reads, the version's id and the default step timeout."""

    def __init__(
        self, queue_url: str, version_id: str, step_timeout_seconds: int, max_iterations: int
    ) -> None:
        self.queue_url = queue_url
        self.version_id = version_id
        self.step_timeout = step_timeout_seconds
        self.max_iterations = max_iterations

    def compile(self, definition: Definition) -> dict[str, Any]:
        flow = definition.flow
        first = flow.outgoing(definition.trigger.id)
        steps = {"StartAt": first[0].target, "States": self._flow_states(flow)} if first else None
        states: dict[str, Any] = {}
        if steps is not None:
            states[RUN] = {
                "Type": "Parallel",
                "Branches": [self._ending_with_steps(steps)],
                "ResultPath": "$.result",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": RECORD_FAILURE}],
                "Next": RECORD_SUCCESS,
            }
        success: dict[str, Any] = {"kind": "finish", "status": "succeeded"}
        if steps is not None:
            success["output.$"] = "$.result[0]"
        states[RECORD_SUCCESS] = self._callback(success, FINISH_TIMEOUT_SECONDS) | {
            "ResultPath": None,
            "End": True,
        }
        if steps is not None:
            states[RECORD_FAILURE] = self._callback(
                {"kind": "finish", "status": "failed", "error.$": "$.error"}, FINISH_TIMEOUT_SECONDS
            ) | {"ResultPath": None, "Next": RUN_FAILED}
            states[RUN_FAILED] = {
                "Type": "Fail",
                "Error": "WorkflowRunFailed",
                "Cause": "A step failed; see the run's steps.",
            }
        return {
            "Comment": f"CMP workflow version {self.version_id}",
            "StartAt": RUN if steps is not None else RECORD_SUCCESS,
            "States": states,
        }

    def _flow_states(self, flow: Flow) -> dict[str, Any]:
        states: dict[str, Any] = {}
        for node in flow.nodes:
            if node.type in TRIGGER_TYPES:
                continue
            out = flow.outgoing(node.id)
            after = out[0].target if out and node.type not in ("if", "switch") else None
            states.update(self._node_states(node, flow, after))
        return states

    def _node_states(self, node: Node, flow: Flow, after: str | None) -> dict[str, Any]:
        if node.type in ("if", "switch"):
            return self._choice(node, flow)
        if node.type == "loop" and node.config.get("type") == "while":
            states = self._while(node)
            self._error_handling(states[f"{node.id}__body"], node, after)
            if node.on_error.strategy == "continue" and after is None:
                states[f"{node.id}__continue"] = {"Type": "Pass", "End": True}
            _transition(states[f"{node.id}__done"], after)
            return states
        if node.type == "loop":
            states = self._loop(node)
            main = f"{node.id}__map"
        elif node.type == "parallel":
            states = {node.id: self._parallel(node)}
            main = node.id
        else:
            states = {node.id: self._action(node)}
            main = node.id
        self._error_handling(states[main], node, after)
        if node.on_error.strategy == "continue" and after is None:
            states[f"{node.id}__continue"] = {"Type": "Pass", "End": True}
        _transition(states[main], after)
        return states

    def _callback(self, body: dict[str, Any], timeout: int) -> dict[str, Any]:
        message = {
            **body,
            "run_id.$": "$.run.id",
            "tenant_id.$": "$.run.tenant_id",
            "workflow_version_id": self.version_id,
            "task_token.$": "$$.Task.Token",
        }
        return {
            "Type": "Task",
            "Resource": CALLBACK,
            "Parameters": {"QueueUrl": self.queue_url, "MessageBody": message},
            "TimeoutSeconds": timeout,
        }

    def _action(self, node: Node) -> dict[str, Any]:
        timeout = node.timeout_seconds or self.step_timeout
        body: dict[str, Any] = {
            "kind": "step",
            "node": node.id,
            "attempt.$": "$$.State.RetryCount",
            "context.$": "$",
        }
        if node.type == SUBWORKFLOW:
            body["timeout_seconds"] = timeout
        state = self._callback(body, timeout)
        if node.heartbeat_seconds is not None:
            state["HeartbeatSeconds"] = node.heartbeat_seconds
        state["ResultPath"] = f"$.steps.{node.id}"
        return state

    def _error_handling(self, state: dict[str, Any], node: Node, after: str | None) -> None:
        handling = node.on_error
        if handling.max_retries > 0:
            state["Retry"] = [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": handling.retry_delay_seconds,
                    "MaxAttempts": handling.max_retries,
                    "BackoffRate": handling.backoff_rate,
                }
            ]
        catch: dict[str, Any] | None = None
        if handling.strategy == "fallback":
            catch = {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": f"$.errors.{node.id}",
                "Next": handling.fallback,
            }
        elif handling.strategy == "continue":
            target = after or f"{node.id}__continue"
            catch = {"ErrorEquals": ["States.ALL"], "ResultPath": f"$.steps.{node.id}", "Next": target}
        if catch is not None:
            state["Catch"] = [catch]

    def _choice(self, node: Node, flow: Flow) -> dict[str, Any]:
        targets = {edge.when: edge.target for edge in flow.outgoing(node.id)}
        if node.type == "if":
            cases = [("true", node.config["condition"])]
            default = targets.get("false")
        else:
            cases = [(case["name"], case["condition"]) for case in node.config["cases"]]
            default = targets.get("default")
        rules = [to_choice_rule(condition) for _, condition in cases]
        states: dict[str, Any] = {}
        if any(rule is None for rule in rules):
            variable = f"$.branches.{node.id}.branch"
            rules = [{"Variable": variable, "StringEquals": name} for name, _ in cases]
            evaluate = self._callback(
                {"kind": "branch", "node": node.id, "context.$": "$"}, self.step_timeout
            )
            evaluate |= {"ResultPath": f"$.branches.{node.id}", "Next": f"{node.id}__choose"}
            states[node.id] = evaluate
            choice_name = f"{node.id}__choose"
        else:
            choice_name = node.id
        choices = []
        for (name, _), rule in zip(cases, rules, strict=True):
            target = targets.get(name)
            choices.append({**(rule or {}), "Next": target or f"{node.id}__done"})
        choice: dict[str, Any] = {
            "Type": "Choice",
            "Choices": choices,
            "Default": default or f"{node.id}__done",
        }
        states[choice_name] = choice
        if default is None or any(targets.get(name) is None for name, _ in cases):
            states[f"{node.id}__done"] = {"Type": "Pass", "End": True}
        return states

    def _loop(self, node: Node) -> dict[str, Any]:
        config = node.config
        limit = int(config.get("maxIterations", self.max_iterations))
        if config.get("type", "for_each") == "repeat":
            times = int(config["times"])
            parameters = {"items.$": f"States.ArrayRange(1, {times}, 1)", "count": times}
        else:
            path = json_path(reference(config["items"]) or "input")
            parameters = {"items.$": path, "count.$": f"States.ArrayLength({path})"}
        count = {
            "Type": "Pass",
            "Parameters": parameters,
            "ResultPath": f"$.loops.{node.id}",
            "Next": f"{node.id}__check",
        }
        check = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": f"$.loops.{node.id}.count",
                    "NumericGreaterThan": limit,
                    "Next": f"{node.id}__limit",
                }
            ],
            "Default": f"{node.id}__map",
        }
        failure = {
            "Type": "Fail",
            "Error": "LoopLimitExceeded",
            "Cause": f"{node.name}: more than {limit} items (flow.loops.maxIterations)",
        }
        body = node.body
        assert body is not None
        mapped = {
            "Type": "Map",
            "ItemsPath": f"$.loops.{node.id}.items",
            "MaxConcurrency": int(config.get("parallelism", 1)),
            "ItemSelector": {
                "run.$": "$.run",
                "input.$": "$.input",
                "vars.$": "$.vars",
                "steps.$": "$.steps",
                "item.$": "$$.Map.Item.Value",
                "index.$": "$$.Map.Item.Index",
            },
            "ItemProcessor": self._branch(body),
            "ResultPath": f"$.steps.{node.id}",
        }
        return {
            node.id: count,
            f"{node.id}__check": check,
            f"{node.id}__limit": failure,
            f"{node.id}__map": mapped,
        }

    def _while(self, node: Node) -> dict[str, Any]:
        limit = int(node.config.get("maxIterations", self.max_iterations))
        counter = f"$.loops.{node.id}"
        test = self._callback({"kind": "branch", "node": node.id, "context.$": "$"}, self.step_timeout)
        test |= {"ResultPath": f"$.branches.{node.id}", "Next": f"{node.id}__check"}
        check = {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": f"$.branches.{node.id}.branch",
                    "StringEquals": "false",
                    "Next": f"{node.id}__done",
                },
                {
                    "Variable": f"{counter}.count",
                    "NumericGreaterThanEquals": limit,
                    "Next": f"{node.id}__limit",
                },
            ],
            "Default": f"{node.id}__body",
        }
        assert node.body is not None
        return {
            node.id: {
                "Type": "Pass",
                "Result": {"count": 0},
                "ResultPath": counter,
                "Next": f"{node.id}__test",
            },
            f"{node.id}__test": test,
            f"{node.id}__check": check,
            f"{node.id}__limit": {
                "Type": "Fail",
                "Error": "LoopLimitExceeded",
                "Cause": f"{node.name}: still true after {limit} iterations (maxIterations)",
            },
            f"{node.id}__body": {
                "Type": "Parallel",
                "Branches": [self._branch(node.body)],
                "ResultSelector": {"steps.$": "$[0]"},
                "ResultPath": f"$.steps.{node.id}",
                "Next": f"{node.id}__count",
            },
            f"{node.id}__count": {
                "Type": "Pass",
                "Parameters": {"count.$": f"States.MathAdd({counter}.count, 1)"},
                "ResultPath": counter,
                "Next": f"{node.id}__test",
            },
            f"{node.id}__done": {"Type": "Pass"},
        }

    def _parallel(self, node: Node) -> dict[str, Any]:
        return {
            "Type": "Parallel",
            "Branches": [self._branch(branch) for branch in node.branches],
            "ResultPath": f"$.steps.{node.id}",
        }

    def _branch(self, flow: Flow) -> dict[str, Any]:
        """A loop body or parallel branch: its states, each path ending with its `steps`."""
        return self._ending_with_steps({"StartAt": flow.start().id, "States": self._flow_states(flow)})

    @staticmethod
    def _ending_with_steps(machine: dict[str, Any]) -> dict[str, Any]:
        for state in machine["States"].values():
            if state.get("End") is True:
                state["OutputPath"] = "$.steps"
        return machine


def _transition(state: dict[str, Any], after: str | None) -> None:
    if after is None:
        state["End"] = True
    else:
        state["Next"] = after


def compile_definition(
    definition: Definition,
    *,
    queue_url: str,
    version_id: str,
    step_timeout_seconds: int,
    max_iterations: int = 100,
) -> dict[str, Any]:
    """The ASL of `definition` (which must have passed `parse_definition` and `check_definition`);
    `max_iterations` bounds a loop that sets no `maxIterations` (the product's `flow.loops.maxIterations`)."""
    return Compiler(queue_url, version_id, step_timeout_seconds, max_iterations).compile(definition)


def check_compiled(asl: dict[str, Any]) -> list[str]:
    """Structural problems of compiled ASL (empty when none): duplicate or over-long state names and
    transitions to undefined states, at any nesting depth."""
    problems: list[str] = []
    names: set[str] = set()

    def walk(machine: dict[str, Any], where: str) -> None:
        states = machine["States"]
        if machine["StartAt"] not in states:
            problems.append(f"{where}.StartAt: no state {machine['StartAt']!r}")
        for name, state in states.items():
            if name in names or len(name) > 80:
                problems.append(f"{where}.{name}: duplicate or longer than 80 characters")
            names.add(name)
            targets = [state.get("Next"), state.get("Default")]
            targets += [c.get("Next") for c in state.get("Choices", []) + state.get("Catch", [])]
            for target in targets:
                if target is not None and target not in states:
                    problems.append(f"{where}.{name}: transition to undefined state {target!r}")
            for index, branch in enumerate(state.get("Branches", [])):
                walk(branch, f"{where}.{name}.Branches[{index}]")
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"], f"{where}.{name}.ItemProcessor")

    walk(asl, "States")
    return problems
