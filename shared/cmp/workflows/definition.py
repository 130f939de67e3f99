"""The workflow flow model (spec Part 7 `flow_definition`): nodes, edges and the trigger, parsed from JSON.

Shape (camelCase on the wire):

    {"nodes": [{"id": "fetch", "type": "http", "name": "Fetch orders", "config": {...},
                "onError": {"strategy": "retry", "maxRetries": 3, "retryDelaySeconds": 2, "backoffRate": 2},
                "timeoutSeconds": 30, "heartbeatSeconds": 10},
               {"id": "each", "type": "loop", "config": {"type": "for_each", "items": "{{ steps.fetch.body }}"},
                "body": {"nodes": [...], "edges": [...]}},
               {"id": "fan", "type": "parallel", "branches": [{"nodes": [...], "edges": [...]}, ...]},
               {"id": "sync", "type": "subworkflow", "config": {"workflowId": "<uuid>", "input": {...}}}],
     "edges": [{"source": "trigger", "target": "fetch"}, {"source": "check", "target": "x", "when": "true"}],
     "variables": {"name": value}}

The top level holds exactly one trigger node (`webhook`, `schedule`, `event`, `manual`, `api`) with no
incoming edge; a loop body or parallel branch starts at its one node without an incoming edge. Node ids are
lowercase identifiers (`[a-z][a-z0-9_]*`, no `__`, at most 64 characters) unique across the whole workflow,
because a step's output lands at `steps.<id>` and its Step Functions state is named after it. Edges leave an
`if` with `when` `true`/`false`, a `switch` with a case name or `default`; every other node has at most one
outgoing edge and no `when`. The graph is acyclic (loops are `loop` nodes) and every node is reachable from
the start (or is some node's `onError.fallback`).

A `subworkflow` node runs another workflow of the same subscription (`cmp.workflows.subworkflows`).

`parse_definition` raises `ValidationFailed` listing every `FieldError` at its JSON path
(`nodes[2].config.url`); what the subscription may use is checked by `cmp.workflows.rules`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cmp.errors import FieldError, ValidationFailed
from cmp.text import with_article

TRIGGER_TYPES = ("webhook", "schedule", "event", "manual", "api")
ACTION_TYPES = ("http", "transform", "storage", "messaging", "database", "ai", "code")
CONTROL_TYPES = ("if", "switch", "loop", "parallel")
SUBWORKFLOW = "subworkflow"
NODE_TYPES = TRIGGER_TYPES + ACTION_TYPES + CONTROL_TYPES + (SUBWORKFLOW,)
ERROR_STRATEGIES = ("retry", "fallback", "continue", "fail")
MAX_NODES = 500
MAX_NESTING = 8
MAX_STEP_TIMEOUT_SECONDS = 86_400

_NODE_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")


def trigger_of(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(type, config) of a definition document's trigger: its first node of a `TRIGGER_TYPES` type (a valid
    definition has exactly one, at the top level); ("manual", {}) when it has none."""
    nodes = document.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and node.get("type") in TRIGGER_TYPES:
            config = node.get("config")
            return str(node["type"]), config if isinstance(config, dict) else {}
    return "manual", {}


@dataclass(frozen=True)
class ErrorHandling:
    """What a step does when it fails: `retry` (then fail), `fallback` (run the `fallback` node),
    `continue` (record the error as the step's output and go on) or `fail` (the run fails)."""

    strategy: str = "fail"
    max_retries: int = 0
    retry_delay_seconds: int = 1
    backoff_rate: float = 2.0
    fallback: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    when: str | None = None


@dataclass(frozen=True)
class Flow:
    """One graph: the top level, a loop body or a parallel branch."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    path: str = ""

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def outgoing(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def start(self) -> Node:
        targets = {e.target for e in self.edges}
        return next(n for n in self.nodes if n.id not in targets)


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    name: str
    config: dict[str, Any]
    path: str
    on_error: ErrorHandling = field(default_factory=ErrorHandling)
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    body: Flow | None = None
    branches: tuple[Flow, ...] = ()


@dataclass(frozen=True)
class Definition:
    """A parsed, structurally valid flow definition; `document` is the JSON it came from."""

    flow: Flow
    variables: dict[str, Any]
    document: dict[str, Any]

    @property
    def trigger(self) -> Node:
        return next(n for n in self.flow.nodes if n.type in TRIGGER_TYPES)

    def all_nodes(self) -> list[Node]:
        """Every node, nested ones included, depth first."""
        found: list[Node] = []

        def walk(flow: Flow) -> None:
            for node in flow.nodes:
                found.append(node)
                for inner in ([node.body] if node.body else []) + list(node.branches):
                    walk(inner)

        walk(self.flow)
        return found


def parse_definition(document: object) -> Definition:
    """The definition in `document`; raises ValidationFailed with every structural problem found."""
    errors: list[FieldError] = []
    if not isinstance(document, dict):
        raise ValidationFailed(
            "The flow definition is not valid", errors=[FieldError("", "expected an object")]
        )
    seen: set[str] = set()
    flow = _flow(document, "", errors, seen, depth=0)
    variables = document.get("variables", {})
    if not isinstance(variables, dict):
        errors.append(FieldError("variables", "expected an object of name -> value"))
        variables = {}
    if flow is not None:
        triggers = [n for n in flow.nodes if n.type in TRIGGER_TYPES]
        if len(triggers) != 1:
            errors.append(FieldError("nodes", f"expected exactly one trigger node, found {len(triggers)}"))
    if len(seen) > MAX_NODES:
        errors.append(FieldError("nodes", f"at most {MAX_NODES} nodes in one workflow, found {len(seen)}"))
    if errors or flow is None:
        raise ValidationFailed("The flow definition is not valid", errors=errors)
    return Definition(flow, dict(variables), document)


def _flow(
    doc: dict[str, Any], path: str, errors: list[FieldError], seen: set[str], depth: int
) -> Flow | None:
    raw_nodes, raw_edges = doc.get("nodes"), doc.get("edges", [])
    if not isinstance(raw_nodes, list) or not raw_nodes:
        errors.append(FieldError(_join(path, "nodes"), "expected a non-empty array of nodes"))
        return None
    if len(raw_nodes) + len(seen) > MAX_NODES:
        errors.append(FieldError(_join(path, "nodes"), f"at most {MAX_NODES} nodes in one workflow"))
        return None
    if not isinstance(raw_edges, list):
        errors.append(FieldError(_join(path, "edges"), "expected an array of edges"))
        raw_edges = []
    nodes = [
        node
        for index, raw in enumerate(raw_nodes)
        if (node := _node(raw, f"{_join(path, 'nodes')}[{index}]", errors, seen, depth)) is not None
    ]
    edges = [
        edge
        for index, raw in enumerate(raw_edges)
        if (edge := _edge(raw, f"{_join(path, 'edges')}[{index}]", errors)) is not None
    ]
    flow = Flow(tuple(nodes), tuple(edges), path)
    if len(nodes) == len(raw_nodes):
        _check_graph(flow, top_level=depth == 0, errors=errors)
    if depth > 0 and any(n.type in TRIGGER_TYPES for n in nodes):
        errors.append(FieldError(_join(path, "nodes"), "a trigger belongs at the top level only"))
    return flow


def _node(raw: object, path: str, errors: list[FieldError], seen: set[str], depth: int) -> Node | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "expected a node object"))
        return None
    node_id, node_type = raw.get("id"), raw.get("type")
    ok = True
    if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id) or "__" in node_id:
        errors.append(
            FieldError(f"{path}.id", "expected a lowercase identifier ([a-z][a-z0-9_]*, no '__', ≤ 64)")
        )
        ok = False
    elif node_id in seen:
        errors.append(FieldError(f"{path}.id", f"'{node_id}' is used by another node"))
        ok = False
    else:
        seen.add(node_id)
    if node_type not in NODE_TYPES:
        errors.append(FieldError(f"{path}.type", f"expected one of {', '.join(NODE_TYPES)}"))
        ok = False
    config = raw.get("config", {})
    if not isinstance(config, dict):
        errors.append(FieldError(f"{path}.config", "expected an object"))
        ok = False
    name = raw.get("name", node_id)
    if not isinstance(name, str) or not 0 < len(name) <= 255:
        errors.append(FieldError(f"{path}.name", "expected a name of 1 to 255 characters"))
        ok = False
    on_error = _on_error(raw.get("onError"), f"{path}.onError", errors)
    before = len(errors)
    timeouts = {
        key: _seconds(raw.get(key), f"{path}.{key}", errors) for key in ("timeoutSeconds", "heartbeatSeconds")
    }
    ok = ok and on_error is not None and len(errors) == before
    body, branches = _nested(raw, node_type, path, errors, seen, depth)
    if not ok or on_error is None:
        return None
    return Node(
        str(node_id),
        str(node_type),
        str(name),
        dict(config),
        path,
        on_error,
        timeouts["timeoutSeconds"],
        timeouts["heartbeatSeconds"],
        body,
        branches,
    )


def _nested(
    raw: dict[str, Any], node_type: object, path: str, errors: list[FieldError], seen: set[str], depth: int
) -> tuple[Flow | None, tuple[Flow, ...]]:
    if depth + 1 > MAX_NESTING and node_type in ("loop", "parallel"):
        errors.append(FieldError(path, f"loops and parallel branches nest at most {MAX_NESTING} deep"))
        return None, ()
    if node_type == "loop":
        body = raw.get("body")
        if not isinstance(body, dict):
            errors.append(FieldError(f"{path}.body", "a loop needs a body {nodes, edges}"))
            return None, ()
        return _flow(body, f"{path}.body", errors, seen, depth + 1), ()
    if node_type == "parallel":
        raw_branches = raw.get("branches")
        if not isinstance(raw_branches, list) or len(raw_branches) < 2:
            errors.append(FieldError(f"{path}.branches", "a parallel node needs at least two branches"))
            return None, ()
        flows: list[Flow] = []
        for index, branch in enumerate(raw_branches):
            branch_path = f"{path}.branches[{index}]"
            if not isinstance(branch, dict):
                errors.append(FieldError(branch_path, "expected a branch {nodes, edges}"))
            elif (flow := _flow(branch, branch_path, errors, seen, depth + 1)) is not None:
                flows.append(flow)
        return None, tuple(flows)
    for key in ("body", "branches"):
        if key in raw:
            errors.append(
                FieldError(
                    f"{path}.{key}", f"only a {'loop' if key == 'body' else 'parallel'} node has {key}"
                )
            )
    return None, ()


def _on_error(raw: object, path: str, errors: list[FieldError]) -> ErrorHandling | None:
    if raw is None:
        return ErrorHandling()
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "expected an object"))
        return None
    before = len(errors)
    strategy = raw.get("strategy", "fail")
    if strategy not in ERROR_STRATEGIES:
        errors.append(FieldError(f"{path}.strategy", f"expected one of {', '.join(ERROR_STRATEGIES)}"))
    retries = raw.get("maxRetries", 3 if strategy == "retry" else 0)
    if not _is_int(retries) or not 0 <= retries <= 10:
        errors.append(FieldError(f"{path}.maxRetries", "expected a whole number from 0 to 10"))
    delay = raw.get("retryDelaySeconds", 1)
    if not _is_int(delay) or not 1 <= delay <= 3600:
        errors.append(FieldError(f"{path}.retryDelaySeconds", "expected whole seconds from 1 to 3600"))
    rate = raw.get("backoffRate", 2.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 1.0 <= rate <= 10.0:
        errors.append(FieldError(f"{path}.backoffRate", "expected a number from 1 to 10"))
    fallback = raw.get("fallback")
    if fallback is not None and not isinstance(fallback, str):
        errors.append(FieldError(f"{path}.fallback", "expected a node id"))
    elif (strategy == "fallback") != (fallback is not None):
        errors.append(
            FieldError(f"{path}.fallback", "a node id is required with, and only with, strategy 'fallback'")
        )
    if len(errors) > before:
        return None
    return ErrorHandling(str(strategy), int(retries), int(delay), float(rate), fallback)


def _seconds(raw: object, path: str, errors: list[FieldError]) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_STEP_TIMEOUT_SECONDS:
        errors.append(FieldError(path, f"expected whole seconds from 1 to {MAX_STEP_TIMEOUT_SECONDS}"))
        return None
    return raw


def _edge(raw: object, path: str, errors: list[FieldError]) -> Edge | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(path, "expected an edge {source, target}"))
        return None
    source, target, when = raw.get("source"), raw.get("target"), raw.get("when")
    bad = [key for key, value in (("source", source), ("target", target)) if not isinstance(value, str)]
    for key in bad:
        errors.append(FieldError(f"{path}.{key}", "expected a node id"))
    if when is not None and not isinstance(when, str):
        errors.append(FieldError(f"{path}.when", "expected a branch name"))
        return None
    return None if bad else Edge(str(source), str(target), when)


def _check_graph(flow: Flow, *, top_level: bool, errors: list[FieldError]) -> None:
    """Edges name nodes of this flow and fit their source's kind; acyclic; one start; all reachable."""
    ids = {n.id: n for n in flow.nodes}
    edges_path = _join(flow.path, "edges")
    for index, edge in enumerate(flow.edges):
        for key in ("source", "target"):
            if getattr(edge, key) not in ids:
                errors.append(
                    FieldError(f"{edges_path}[{index}].{key}", f"no node '{getattr(edge, key)}' in this flow")
                )
    if any(e.source not in ids or e.target not in ids for e in flow.edges):
        return
    for node in flow.nodes:
        _check_outgoing(node, flow.outgoing(node.id), errors)
        fallback = node.on_error.fallback
        if fallback is not None and fallback not in ids:
            errors.append(FieldError(f"{node.path}.onError.fallback", f"no node '{fallback}' in this flow"))
    starts = [n for n in flow.nodes if not any(e.target == n.id for e in flow.edges)]
    if top_level:
        starts = [n for n in starts if n.type in TRIGGER_TYPES] or starts
    if len(starts) != 1 and not (top_level and any(n.type in TRIGGER_TYPES for n in starts)):
        errors.append(
            FieldError(
                _join(flow.path, "nodes"), "expected exactly one node without incoming edges (the start)"
            )
        )
        return
    if _has_cycle(flow):
        errors.append(FieldError(edges_path, "the edges form a cycle; repeat work with a loop node"))
        return
    reached = _reachable(flow, starts[0].id)
    for node in flow.nodes:
        if node.id not in reached:
            errors.append(FieldError(node.path, f"'{node.id}' is not reachable from '{starts[0].id}'"))


def _check_outgoing(node: Node, out: list[Edge], errors: list[FieldError]) -> None:
    labels = [e.when for e in out]
    if node.type == "if":
        allowed = {"true", "false"}
    elif node.type == "switch":
        cases = node.config.get("cases")
        names = [c.get("name") for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []
        allowed = {str(n) for n in names} | {"default"}
    else:
        if len(out) > 1 or any(label is not None for label in labels):
            errors.append(
                FieldError(
                    node.path, f"{with_article(node.type)} node has at most one outgoing edge, without 'when'"
                )
            )
        return
    for label in labels:
        if label not in allowed:
            errors.append(
                FieldError(
                    node.path,
                    f"an edge leaves '{node.id}' with when={label!r}; expected one of {', '.join(sorted(allowed))}",
                )
            )
    if len(set(labels)) != len(labels):
        errors.append(FieldError(node.path, f"two edges leave '{node.id}' on the same branch"))


def _has_cycle(flow: Flow) -> bool:
    state: dict[str, int] = {}

    def visit(node_id: str) -> bool:
        state[node_id] = 1
        for edge in flow.outgoing(node_id):
            mark = state.get(edge.target, 0)
            if mark == 1 or (mark == 0 and visit(edge.target)):
                return True
        state[node_id] = 2
        return False

    return any(state.get(n.id, 0) == 0 and visit(n.id) for n in flow.nodes)


def _reachable(flow: Flow, start: str) -> set[str]:
    reached, todo = set(), [start]
    while todo:
        node_id = todo.pop()
        if node_id in reached:
            continue
        reached.add(node_id)
        todo.extend(e.target for e in flow.outgoing(node_id))
        fallback = flow.node(node_id).on_error.fallback
        if fallback is not None:
            todo.append(fallback)
    return reached


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
