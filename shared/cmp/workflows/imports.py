"""n8n workflow exports and Langflow flow exports turned into the CMP flow model (`cmp.workflows.definition`).

Mapped from n8n: Schedule (and the legacy Cron) / Webhook / Manual triggers; HTTP Request (method, URL,
headers, JSON body); IF and Switch (string, number and existence comparisons, AND/OR); Set (fields); Merge
and No-Op (pass-through); sticky notes are comments, not steps. n8n expressions become `{{ }}` references
when they read the previous node's item (`{{ $json.field }}`) or a named node's (`{{ $('Name').item.json.
field }}`); any other expression stops the node. From Langflow: Chat/Text Input → an API trigger, Chat/Text
Output → a pass-through step; notes are comments.

Everything else stops the import of that node, never silently: `problems` names each such node by name and
type at its path (`nodes[3]`), and why (AI and LLM steps need the language model port, code is refused,
an integration without a CMP action, fan-out of one output to several nodes, …). A definition with problems
is stored but cannot be activated. The readers in `cmp.flows` already accepted the document as the product's
flow, so its outer shape is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cmp.flows.n8n_roles import AI_ROLES, CODE, INTEGRATION, NOTE, SHELL, classify

_EXPRESSION = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_JSON_FIELD = re.compile(r"^\$json((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)$")
_NAMED_FIELD = re.compile(
    r"""^\$\(\s*['"](.+?)['"]\s*\)\.(?:item|first\(\)|last\(\))\.json((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)$"""
)
_N8N_OPERATORS = {"equals": "equals", "contains": "contains", "gt": "greater", "lt": "less", "regex": "regex"}


@dataclass(frozen=True)
class Imported:
    """The definition document (possibly not runnable) and the problems that stop it, each {path, message}."""

    definition: dict[str, Any]
    problems: list[dict[str, str]]


class _Unsupported(Exception):
    """This node cannot be expressed; the message says why."""


def import_flow(flow_format: str, document: Any) -> Imported:
    """The CMP definition of an n8n or Langflow export (`flow_format` `n8n` or `langflow`)."""
    if flow_format == "n8n":
        root = document[0] if isinstance(document, list) and document else document
        return _N8n(root).build()
    return _langflow(document)


def node_id(name: str, taken: set[str]) -> str:
    """A node id from a display name: lowercase identifier, unique among `taken` (which it joins)."""
    base = re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")[:56] or "step"
    if not base[0].isalpha():
        base = f"n_{base}"
    candidate, suffix = base, 2
    while candidate in taken:
        candidate, suffix = f"{base}_{suffix}", suffix + 1
    taken.add(candidate)
    return candidate


class _N8n:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.raw = [n for n in root.get("nodes", []) if isinstance(n, dict)]
        taken: set[str] = set()
        self.ids = {n.get("name", ""): node_id(str(n.get("name") or n.get("type")), taken) for n in self.raw}
        self.incoming: dict[str, list[str]] = {}
        self.edges: list[dict[str, Any]] = []
        self.problems: list[dict[str, str]] = []

    def build(self) -> Imported:
        steps = [n for n in self.raw if classify(str(n.get("type", "")))[0] != NOTE]
        self._connections(steps)
        nodes = []
        for index, raw in enumerate(steps):
            name, kind = str(raw.get("name")), str(raw.get("type"))
            try:
                nodes.append({"id": self.ids[name], "name": name, **self._node(raw)})
            except _Unsupported as reason:
                self.problems.append({"path": f"nodes[{index}]", "message": f"'{name}' ({kind}): {reason}"})
                nodes.append({"id": self.ids[name], "name": name, "type": kind, "config": {}})
        return Imported({"nodes": nodes, "edges": self.edges}, self.problems)

    def _connections(self, steps: list[dict[str, Any]]) -> None:
        names = {str(n.get("name")) for n in steps}
        positions = {str(n.get("name")): i for i, n in enumerate(steps)}
        for source, outputs in (self.root.get("connections") or {}).items():
            if source not in names:
                continue
            raw = next(n for n in steps if n.get("name") == source)
            labels = self._output_labels(raw)
            for output, targets in enumerate((outputs or {}).get("main") or []):
                targets = [t for t in targets or [] if isinstance(t, dict) and t.get("node") in names]
                if len(targets) > 1:
                    listed = ", ".join(f"'{t['node']}'" for t in targets)
                    self.problems.append(
                        {
                            "path": f"nodes[{positions[source]}]",
                            "message": f"'{source}' sends one output to {len(targets)} nodes ({listed}); a CMP "
                            "step has one next step (put the branches in a parallel node)",
                        }
                    )
                for target in targets[:1]:
                    edge: dict[str, Any] = {"source": self.ids[source], "target": self.ids[target["node"]]}
                    if labels is not None:
                        edge["when"] = labels[output] if output < len(labels) else f"output_{output}"
                    self.edges.append(edge)
                    self.incoming.setdefault(target["node"], []).append(source)

    def _output_labels(self, raw: dict[str, Any]) -> list[str] | None:
        short = str(raw.get("type", "")).rpartition(".")[2]
        if short == "if":
            return ["true", "false"]
        if short == "switch":
            rules = ((raw.get("parameters") or {}).get("rules") or {}).get("values") or []
            return [_case_name(rule, i) for i, rule in enumerate(rules)] + ["default"]
        return None

    def _node(self, raw: dict[str, Any]) -> dict[str, Any]:
        kind = str(raw.get("type", ""))
        short = kind.rpartition(".")[2]
        params = raw.get("parameters") or {}
        name = str(raw.get("name"))
        if short in ("scheduleTrigger", "cron"):
            return {"type": "schedule", "config": _schedule(params)}
        if short == "webhook":
            return {"type": "webhook", "config": {"method": params.get("httpMethod", "GET")}}
        if short in ("manualTrigger", "start"):
            return {"type": "manual"}
        if short == "httpRequest":
            return {"type": "http", "config": self._http(params, name)}
        if short in ("if", "switch"):
            return self._branching(short, params, name)
        if short == "set":
            return {"type": "transform", "config": {"set": self._set(params, name)}}
        if short in ("merge", "noOp"):
            return {"type": "transform", "config": {"set": {}}}
        role, _ = classify(kind)
        if role in AI_ROLES or role == "ai":
            raise _Unsupported(
                "AI and LLM steps cannot run here yet (no language model port in the step worker)"
            )
        if role in (CODE, SHELL):
            raise _Unsupported("code is refused: this runtime cannot guarantee a sandbox")
        if role == INTEGRATION or role in ("database", "messaging", "storage"):
            raise _Unsupported(f"no CMP action for this {role} node yet; call its API with an http step")
        if role.endswith("trigger"):
            raise _Unsupported("this trigger has no CMP equivalent (use webhook, schedule, manual or api)")
        raise _Unsupported(f"no CMP equivalent for this node ({role})")

    def _http(self, params: dict[str, Any], name: str) -> dict[str, Any]:
        config: dict[str, Any] = {
            "method": params.get("method", "GET"),
            "url": self._value(params.get("url", ""), name),
        }
        headers = (
            ((params.get("headerParameters") or {}).get("parameters") or [])
            if params.get("sendHeaders")
            else []
        )
        if headers:
            config["headers"] = {str(h.get("name")): self._value(h.get("value", ""), name) for h in headers}
        if params.get("sendBody") and params.get("specifyBody") == "json":
            config["body"] = self._value(params.get("jsonBody", ""), name)
        elif params.get("sendBody"):
            raise _Unsupported("only JSON bodies are imported")
        return config

    def _set(self, params: dict[str, Any], name: str) -> dict[str, Any]:
        assignments = (params.get("assignments") or {}).get("assignments")
        if isinstance(assignments, list):
            return {str(a.get("name")): self._value(a.get("value"), name) for a in assignments}
        fields: dict[str, Any] = {}
        for group in (params.get("values") or {}).values():
            for item in group if isinstance(group, list) else []:
                fields[str(item.get("name"))] = self._value(item.get("value"), name)
        return fields

    def _branching(self, short: str, params: dict[str, Any], name: str) -> dict[str, Any]:
        if short == "if":
            return {"type": "if", "config": {"condition": self._conditions(params.get("conditions"), name)}}
        rules = (params.get("rules") or {}).get("values")
        if not isinstance(rules, list) or not rules:
            raise _Unsupported("only rule-based switches (n8n 1.x 'Rules' mode) are imported")
        cases = [
            {"name": _case_name(rule, i), "condition": self._conditions(rule.get("conditions"), name)}
            for i, rule in enumerate(rules)
        ]
        return {"type": "switch", "config": {"cases": cases}}

    def _conditions(self, block: Any, name: str) -> dict[str, Any]:
        items = (block or {}).get("conditions") if isinstance(block, dict) else None
        if not isinstance(items, list) or not items:
            raise _Unsupported("only n8n 1.x conditions (leftValue / operator / rightValue) are imported")
        leaves = []
        for item in items:
            operation = str((item.get("operator") or {}).get("operation", ""))
            left = self._value(item.get("leftValue", ""), name)
            if operation in ("exists", "notExists"):
                leaves.append({"left": left, "operator": "exists", "right": operation == "exists"})
            elif operation in _N8N_OPERATORS:
                leaves.append(
                    {"left": left, "operator": _N8N_OPERATORS[operation], "right": item.get("rightValue")}
                )
            else:
                raise _Unsupported(f"the condition operation '{operation}' has no CMP equivalent")
        if len(leaves) == 1:
            return leaves[0]
        return {"any" if (block or {}).get("combinator") == "or" else "all": leaves}

    def _value(self, value: Any, name: str) -> Any:
        """An n8n parameter value with its expressions as CMP references (`_Unsupported` otherwise)."""
        if not isinstance(value, str) or not value.startswith("="):
            return value
        previous = self.incoming.get(name, [])

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            own = _JSON_FIELD.match(expression)
            if own and len(previous) == 1:
                return f"{{{{ steps.{self.ids[previous[0]]}{own.group(1)} }}}}"
            named = _NAMED_FIELD.match(expression)
            if named and named.group(1) in self.ids:
                return f"{{{{ steps.{self.ids[named.group(1)]}{named.group(2)} }}}}"
            raise _Unsupported(f"the expression {{{{ {expression[:80]} }}}} has no CMP equivalent")

        return _EXPRESSION.sub(replace, value[1:])


def _case_name(rule: Any, index: int) -> str:
    key = rule.get("outputKey") if isinstance(rule, dict) and rule.get("renameOutput") else None
    return str(key) if key else f"output_{index}"


def _schedule(params: dict[str, Any]) -> dict[str, Any]:
    rules = (params.get("rule") or {}).get("interval")
    if isinstance(rules, list) and rules:
        rule = rules[0]
        field = rule.get("field", "days")
        if field == "cronExpression":
            return {"cron": rule.get("expression")}
        units = {
            "minutes": ("minutesInterval", "m"),
            "hours": ("hoursInterval", "h"),
            "days": ("daysInterval", "d"),
        }
        if field in units:
            key, unit = units[field]
            return {"interval": f"{rule.get(key, 1)}{unit}"}
        return {"preset": {"weeks": "weekly", "months": "monthly"}.get(field, "daily")}
    times = ((params.get("triggerTimes") or {}).get("item") or [{}])[0]
    mode = times.get("mode", "everyDay")
    if mode == "everyHour":
        return {"cron": f"{times.get('minute', 0)} * * * *"}
    if mode == "everyMinute":
        return {"interval": "1m"}
    return {"cron": f"{times.get('minute', 0)} {times.get('hour', 0)} * * *"}


def _langflow(document: Any) -> Imported:
    data = document.get("data", document) if isinstance(document, dict) else {}
    raw_nodes = [n for n in data.get("nodes", []) if isinstance(n, dict)]
    taken: set[str] = set()
    nodes: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    ids: dict[Any, str] = {}
    for raw in raw_nodes:
        kind = str((raw.get("data") or {}).get("type") or raw.get("type") or "")
        if kind in ("note", "None", "") or raw.get("type") == "noteNode":
            continue
        name = str(((raw.get("data") or {}).get("node") or {}).get("display_name") or kind)
        ids[raw.get("id")] = node_id(name, taken)
        if kind in ("ChatInput", "TextInput"):
            nodes.append({"id": ids[raw.get("id")], "name": name, "type": "api"})
        elif kind in ("ChatOutput", "TextOutput"):
            nodes.append({"id": ids[raw.get("id")], "name": name, "type": "transform", "config": {"set": {}}})
        else:
            problems.append(
                {
                    "path": f"nodes[{len(nodes)}]",
                    "message": f"'{name}' ({kind}): Langflow components other than inputs and outputs are AI "
                    "steps, which cannot run here yet (no language model port in the step worker)",
                }
            )
            nodes.append({"id": ids[raw.get("id")], "name": name, "type": kind, "config": {}})
    edges = [
        {"source": ids[e["source"]], "target": ids[e["target"]]}
        for e in data.get("edges", [])
        if isinstance(e, dict) and e.get("source") in ids and e.get("target") in ids
    ]
    return Imported({"nodes": nodes, "edges": edges}, problems)
