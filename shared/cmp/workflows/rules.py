"""What a subscription's workflows may use, from its capability snapshot (spec Part 7 Workflow Capability Schema).

`Allowance.from_capabilities` reads the master switches (`configuration.workflowAdvanced.triggers|flow|
actions`) and, when the seller gave one, the Part 7 detail (`…workflowAdvanced.detail`): enabled triggers,
flow constructs and actions, condition operators, AND/OR nesting, switch, loop types, maximum iterations and
parallelism, error strategies and the retry limit, HTTP methods and authentication, the minimum schedule
interval and the step timeout bound (`runtime.limits.timeout`, or the action's own `timeout`).

`check_definition(definition, allowance)` returns every `FieldError` at its path in the definition. Node
types this release cannot run are refused here, by node: `code` (Lambda gives no sandbox guarantee: no
network, time and memory limits; docs/decisions.md). Event triggers and failure alerts are checked by
`cmp.workflows.events`, sub-workflows by `cmp.workflows.subworkflows`; alert channels need the product's
`monitoring.alerts` (all three when the seller gave no detail).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmp.capabilities.cron import CronError, interval_minutes, min_gap_minutes, parse_cron
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.workflow_detail import WorkflowDetail
from cmp.errors import FieldError
from cmp.workflows.definition import SUBWORKFLOW, Definition, Node
from cmp.workflows.events import ALERT_CHANNELS, check_alerts, check_event_trigger
from cmp.workflows.expressions import OPERATORS, check_condition, references

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HTTP_AUTH = ("none", "basic", "bearer", "api_key")
WEBHOOK_AUTH = ("none", "api_key", "signature", "basic")
TRANSFORM_LANGUAGES = ("jmespath", "jsonpath")
STORAGE_OPERATIONS = ("read", "write", "delete", "list")
MESSAGING_CHANNELS = ("webhook", "slack", "teams", "email")
DATABASE_OPERATIONS = ("query", "insert", "update", "delete")
SCHEDULE_PRESETS = {
    "hourly": "0 * * * *",
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
}
UNAVAILABLE = {
    "code": "code steps are refused: this runtime cannot guarantee a sandbox (no network, time and memory limits)",
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Allowance:
    """The workflow features one subscription may use (see the module docstring)."""

    triggers: frozenset[str]
    actions: frozenset[str]
    conditionals: bool
    operators: tuple[str, ...]
    nested_conditions: bool
    switch_case: bool
    loops: bool
    loop_types: tuple[str, ...]
    max_iterations: int
    parallel_loops: bool
    parallel: bool
    error_handling: bool
    error_strategies: tuple[str, ...]
    max_retries: int
    min_schedule_seconds: int
    step_timeout_seconds: int
    http_methods: tuple[str, ...]
    http_auth: tuple[str, ...]
    webhook_methods: tuple[str, ...]
    webhook_auth: tuple[str, ...]
    alert_channels: tuple[str, ...] = ALERT_CHANNELS

    @classmethod
    def from_capabilities(cls, caps: ProductCapabilities) -> Allowance:
        advanced = caps.configuration.workflow_advanced
        detail = advanced.detail or WorkflowDetail()
        on = advanced.enabled
        triggers = frozenset(
            name
            for name, enabled in advanced.triggers.model_dump().items()
            if on and enabled and getattr(detail.triggers, name).enabled is not False
        )
        actions = frozenset(
            name
            for name, enabled in advanced.actions.model_dump().items()
            if on and enabled and getattr(detail.actions, name).enabled is not False
        )
        flow, d = advanced.flow, detail.flow
        timeout = caps.runtime.limits.timeout
        return cls(
            triggers=triggers,
            actions=actions,
            conditionals=on and flow.conditionals and d.conditionals.enabled is not False,
            operators=tuple(d.conditionals.operators) or OPERATORS,
            nested_conditions=advanced.detail is None or d.conditionals.nested_conditions,
            switch_case=advanced.detail is None or d.conditionals.switch_case,
            loops=on and flow.loops and d.loops.enabled is not False,
            loop_types=tuple(d.loops.types) or ("for_each", "repeat", "while"),
            max_iterations=d.loops.max_iterations,
            parallel_loops=flow.parallel_execution
            and (advanced.detail is None or d.loops.parallel_execution),
            parallel=on and flow.parallel_execution,
            error_handling=on and flow.error_handling and d.error_handling.enabled is not False,
            error_strategies=tuple(d.error_handling.strategies) or ("retry", "fallback", "continue", "fail"),
            max_retries=d.error_handling.max_retries,
            min_schedule_seconds=_duration_seconds(detail.triggers.schedule.min_interval),
            step_timeout_seconds=detail.actions.http.timeout or timeout,
            http_methods=tuple(detail.actions.http.methods) or HTTP_METHODS,
            http_auth=tuple(a for a in detail.actions.http.authentication if a in HTTP_AUTH) or HTTP_AUTH,
            webhook_methods=tuple(detail.triggers.webhook.methods) or ("POST",),
            webhook_auth=tuple(detail.triggers.webhook.authentication) or WEBHOOK_AUTH,
            alert_channels=_alert_channels(advanced.detail),
        )


def _alert_channels(detail: WorkflowDetail | None) -> tuple[str, ...]:
    if detail is None:
        return ALERT_CHANNELS
    alerts = detail.monitoring.alerts
    if not alerts.enabled:
        return ()
    return tuple(c for c in alerts.channels if c in ALERT_CHANNELS) or ALERT_CHANNELS


def _duration_seconds(text: str) -> int:
    return int(text[:-1]) * _SECONDS[text[-1]]


def check_definition(definition: Definition, allowance: Allowance) -> list[FieldError]:
    """Every way `definition` goes beyond `allowance` (403-style refusals and 422-style limits alike, each
    naming the capability); empty when the subscription may run it."""
    errors: list[FieldError] = []
    for node in definition.all_nodes():
        errors += _check_node(node, allowance)
    return errors + check_alerts(definition.document, allowance.alert_channels)


def _check_node(node: Node, allow: Allowance) -> list[FieldError]:
    if node.type in UNAVAILABLE:
        return [FieldError(node.path, f"{node.name} ({node.type}): {UNAVAILABLE[node.type]}")]
    errors = _check_error_handling(node, allow)
    if node.timeout_seconds is not None and node.timeout_seconds > allow.step_timeout_seconds:
        errors.append(
            FieldError(
                f"{node.path}.timeoutSeconds",
                f"at most {allow.step_timeout_seconds}s (the product's step timeout)",
            )
        )
    if node.type in ("webhook", "schedule", "event", "manual", "api"):
        if node.type not in allow.triggers:
            return [
                *errors,
                FieldError(
                    node.path,
                    f"configuration.workflowAdvanced.triggers.{node.type} is disabled for this product",
                ),
            ]
        return errors + _TRIGGER_CHECKS.get(node.type, _no_check)(node, allow)
    if node.type == SUBWORKFLOW:
        return errors
    if node.type in ("if", "switch"):
        return errors + _check_branching(node, allow)
    if node.type == "loop":
        return errors + _check_loop(node, allow)
    if node.type == "parallel":
        if not allow.parallel:
            errors.append(
                FieldError(
                    node.path,
                    "configuration.workflowAdvanced.flow.parallelExecution is disabled for this product",
                )
            )
        return errors
    if node.type not in allow.actions:
        return [
            *errors,
            FieldError(
                node.path, f"configuration.workflowAdvanced.actions.{node.type} is disabled for this product"
            ),
        ]
    return errors + _ACTION_CHECKS[node.type](node, allow)


def _check_error_handling(node: Node, allow: Allowance) -> list[FieldError]:
    handling, path = node.on_error, f"{node.path}.onError"
    if handling.strategy == "fail" and handling.max_retries == 0:
        return []
    if not allow.error_handling:
        return [
            FieldError(path, "configuration.workflowAdvanced.flow.errorHandling is disabled for this product")
        ]
    errors = []
    if handling.strategy not in allow.error_strategies:
        errors.append(
            FieldError(
                f"{path}.strategy",
                f"'{handling.strategy}' is not enabled for this product (it allows {', '.join(allow.error_strategies)})",
            )
        )
    if handling.max_retries > allow.max_retries:
        errors.append(
            FieldError(f"{path}.maxRetries", f"at most {allow.max_retries} retries for this product")
        )
    return errors


def _check_branching(node: Node, allow: Allowance) -> list[FieldError]:
    if not allow.conditionals:
        return [
            FieldError(
                node.path, "configuration.workflowAdvanced.flow.conditionals is disabled for this product"
            )
        ]
    config, path = node.config, f"{node.path}.config"
    if node.type == "if":
        return check_condition(
            config.get("condition"),
            f"{path}.condition",
            operators=allow.operators,
            nested=allow.nested_conditions,
        )
    if not allow.switch_case:
        return [
            FieldError(node.path, "switch is not enabled for this product (flow.conditionals.switchCase)")
        ]
    cases = config.get("cases")
    if not isinstance(cases, list) or not cases:
        return [FieldError(f"{path}.cases", "expected a non-empty array of {name, condition}")]
    errors: list[FieldError] = []
    names: set[str] = set()
    for index, case in enumerate(cases):
        case_path = f"{path}.cases[{index}]"
        name = case.get("name") if isinstance(case, dict) else None
        if not isinstance(name, str) or not name or name == "default" or name in names:
            errors.append(FieldError(f"{case_path}.name", "expected a unique case name other than 'default'"))
            continue
        names.add(name)
        errors += check_condition(
            case.get("condition"),
            f"{case_path}.condition",
            operators=allow.operators,
            nested=allow.nested_conditions,
        )
    return errors


def _check_loop(node: Node, allow: Allowance) -> list[FieldError]:
    if not allow.loops:
        return [
            FieldError(node.path, "configuration.workflowAdvanced.flow.loops is disabled for this product")
        ]
    config, path = node.config, f"{node.path}.config"
    kind = config.get("type", "for_each")
    if kind not in ("for_each", "repeat", "while"):
        return [FieldError(f"{path}.type", "expected for_each, repeat or while")]
    errors = []
    if kind not in allow.loop_types:
        errors.append(FieldError(f"{path}.type", f"'{kind}' loops are not enabled for this product"))
    if kind == "while":
        errors += check_condition(
            config.get("condition"),
            f"{path}.condition",
            operators=allow.operators,
            nested=allow.nested_conditions,
        )
    if kind == "for_each" and not references(config.get("items")):
        errors.append(
            FieldError(
                f"{path}.items", "expected the {{ reference }} of an array, e.g. {{ steps.fetch.body }}"
            )
        )
    if kind == "repeat":
        times = config.get("times")
        if not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= allow.max_iterations:
            errors.append(
                FieldError(
                    f"{path}.times",
                    f"expected a whole number from 1 to {allow.max_iterations} (flow.loops.maxIterations)",
                )
            )
    limit = config.get("maxIterations", allow.max_iterations)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= allow.max_iterations:
        errors.append(
            FieldError(
                f"{path}.maxIterations",
                f"expected a whole number from 1 to {allow.max_iterations} (flow.loops.maxIterations)",
            )
        )
    parallelism = config.get("parallelism", 1)
    if not isinstance(parallelism, int) or isinstance(parallelism, bool) or not 1 <= parallelism <= 40:
        errors.append(FieldError(f"{path}.parallelism", "expected a whole number from 1 to 40"))
    elif parallelism > 1 and not allow.parallel_loops:
        errors.append(
            FieldError(
                f"{path}.parallelism",
                "parallel loop iterations are not enabled for this product (flow.loops.parallelExecution)",
            )
        )
    return errors


def _no_check(node: Node, allow: Allowance) -> list[FieldError]:
    return []


def _check_webhook(node: Node, allow: Allowance) -> list[FieldError]:
    path, errors = f"{node.path}.config", []
    method, auth = node.config.get("method", "POST"), node.config.get("auth", "none")
    if method not in allow.webhook_methods:
        errors.append(
            FieldError(
                f"{path}.method",
                f"expected one of {', '.join(allow.webhook_methods)} (triggers.webhook.methods)",
            )
        )
    if auth not in allow.webhook_auth:
        errors.append(
            FieldError(
                f"{path}.auth",
                f"expected one of {', '.join(allow.webhook_auth)} (triggers.webhook.authentication)",
            )
        )
    if node.config.get("mode", "async") not in ("async", "sync"):
        errors.append(
            FieldError(f"{path}.mode", "expected async (202 at once) or sync (waits for the result)")
        )
    wait = node.config.get("waitSeconds", 20)
    if not isinstance(wait, int) or isinstance(wait, bool) or not 1 <= wait <= 25:
        errors.append(FieldError(f"{path}.waitSeconds", "expected whole seconds from 1 to 25"))
    return errors


def _check_schedule(node: Node, allow: Allowance) -> list[FieldError]:
    path, config = f"{node.path}.config", node.config
    given = [key for key in ("cron", "interval", "preset") if key in config]
    if len(given) != 1:
        return [FieldError(path, "expected exactly one of cron, interval or preset")]
    key = given[0]
    try:
        if key == "interval":
            seconds = interval_minutes(str(config["interval"])) * 60
        elif key == "preset":
            if not isinstance(config["preset"], str) or config["preset"] not in SCHEDULE_PRESETS:
                return [FieldError(f"{path}.preset", f"expected one of {', '.join(SCHEDULE_PRESETS)}")]
            seconds = min_gap_minutes(parse_cron(SCHEDULE_PRESETS[config["preset"]])) * 60
        else:
            seconds = min_gap_minutes(parse_cron(str(config["cron"]))) * 60
    except CronError as e:
        return [FieldError(f"{path}.{key}", str(e))]
    errors = []
    if seconds < allow.min_schedule_seconds:
        errors.append(
            FieldError(
                f"{path}.{key}",
                f"fires more often than the product's minimum interval of {allow.min_schedule_seconds // 60} minutes",
            )
        )
    timezone = config.get("timezone", "UTC")
    if not isinstance(timezone, str) or not _known_zone(timezone):
        errors.append(FieldError(f"{path}.timezone", "expected an IANA time zone such as Europe/Paris"))
    return errors


def _known_zone(name: str) -> bool:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_http(node: Node, allow: Allowance) -> list[FieldError]:
    path, config, errors = f"{node.path}.config", node.config, []
    if config.get("method", "GET") not in allow.http_methods:
        errors.append(
            FieldError(
                f"{path}.method", f"expected one of {', '.join(allow.http_methods)} (actions.http.methods)"
            )
        )
    url = config.get("url")
    if not isinstance(url, str) or not (url.startswith(("http://", "https://")) or references(url)):
        errors.append(FieldError(f"{path}.url", "expected an http(s) URL (templates allowed)"))
    auth = config.get("auth", {"type": "none"})
    kind = auth.get("type") if isinstance(auth, dict) else None
    if kind not in allow.http_auth:
        errors.append(
            FieldError(
                f"{path}.auth.type",
                f"expected one of {', '.join(allow.http_auth)} (actions.http.authentication)",
            )
        )
    return errors


def _check_transform(node: Node, allow: Allowance) -> list[FieldError]:
    path, config = f"{node.path}.config", node.config
    language = config.get("language", "jmespath")
    if language not in TRANSFORM_LANGUAGES:
        return [FieldError(f"{path}.language", f"expected one of {', '.join(TRANSFORM_LANGUAGES)}")]
    if "expression" not in config and "set" not in config:
        return [FieldError(path, "expected an expression (over the run context) or set (name -> template)")]
    if "expression" in config and not isinstance(config["expression"], str):
        return [FieldError(f"{path}.expression", "expected a string")]
    if "expression" in config:
        problem = expression_problem(language, config["expression"])
        if problem is not None:
            return [FieldError(f"{path}.expression", problem)]
    if "set" in config and not isinstance(config["set"], dict):
        return [FieldError(f"{path}.set", "expected an object of name -> value or template")]
    return []


def expression_problem(language: str, expression: str) -> str | None:
    """Why a transform's `expression` does not parse in `language` ("jmespath" or "jsonpath"), as the
    parser says it (one line, with the character position when the parser gives one); None when it parses.
    The step worker evaluates the same expression with the same parsers (`cmp.workflows.actions.transform`),
    so a definition accepted here never fails a run with `Transform.Invalid` for its syntax."""
    if language == "jsonpath":
        from jsonpath_ng.exceptions import JSONPathError
        from jsonpath_ng.ext import parse as jsonpath

        try:
            jsonpath(expression)
        except (JSONPathError, Exception) as e:
            return f"not valid JSONPath: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expression)
    except JMESPathError as e:
        reason = str(e).splitlines()[0].removesuffix(", for expression:").rstrip(":")
        position = getattr(e, "lex_position", None)
        where = f" at character {position}" if isinstance(position, int) and "column" not in reason else ""
        return f"not valid JMESPath: {reason}{where}"
    return None


def _one_of(node: Node, key: str, allowed: tuple[str, ...]) -> list[FieldError]:
    if node.config.get(key) not in allowed:
        return [FieldError(f"{node.path}.config.{key}", f"expected one of {', '.join(allowed)}")]
    return []


def _check_storage(node: Node, allow: Allowance) -> list[FieldError]:
    return _one_of(node, "operation", STORAGE_OPERATIONS)


def _check_messaging(node: Node, allow: Allowance) -> list[FieldError]:
    errors = _one_of(node, "channel", MESSAGING_CHANNELS)
    if not errors and node.config["channel"] == "email" and not node.config.get("to"):
        errors.append(FieldError(f"{node.path}.config.to", "expected one recipient address or a list"))
    return errors


def _check_database(node: Node, allow: Allowance) -> list[FieldError]:
    from cmp.workflows.database import check_config

    errors = _one_of(node, "operation", DATABASE_OPERATIONS)
    if not isinstance(node.config.get("connection"), str) or references(node.config.get("connection")):
        errors.append(
            FieldError(
                f"{node.path}.config.connection", "expected the name of a secret holding the connection"
            )
        )
    if errors:
        return errors
    return [FieldError(f"{node.path}.config.{key}", problem) for key, problem in check_config(node.config)]


def _check_ai(node: Node, allow: Allowance) -> list[FieldError]:
    config, path = node.config, f"{node.path}.config"
    errors = []
    if not isinstance(config.get("prompt"), str) or not config["prompt"].strip():
        errors.append(FieldError(f"{path}.prompt", "expected the prompt (templates allowed)"))
    context = config.get("context", [])
    if not isinstance(context, str | list):
        errors.append(FieldError(f"{path}.context", "expected a text or an array of texts"))
    return errors


_TRIGGER_CHECKS: dict[str, Any] = {
    "webhook": _check_webhook,
    "schedule": _check_schedule,
    "event": lambda node, allow: check_event_trigger(node.config, f"{node.path}.config"),
}
_ACTION_CHECKS: dict[str, Any] = {
    "http": _check_http,
    "transform": _check_transform,
    "storage": _check_storage,
    "messaging": _check_messaging,
    "database": _check_database,
    "ai": _check_ai,
}
