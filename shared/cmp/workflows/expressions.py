"""`{{ var }}` templates and conditions over a run's context.

A run's context is the document every state sees: `{"run": {...}, "input": <trigger payload>, "vars":
<workflow variables>, "steps": {<node id>: <its output>}}`, plus `item` and `index` inside a loop body. A
reference names a path in it: `{{ steps.fetch.body.items[0].id }}`, `{{ input.customer }}`, `{{ vars.limit }}`.
A string that is exactly one reference renders to the referenced value itself (a number stays a number);
references inside longer text render as text (JSON for objects and arrays, empty for a missing value).

A condition is a leaf `{"left": "{{ ref }}", "operator": "equals"|"contains"|"greater"|"less"|"regex"|
"exists", "right": value}` or a group `{"all": [conditions]}` / `{"any": [conditions]}` (spec Part 7
`flow.conditionals`). `to_choice_rule` turns one into an Amazon States Language Choice rule when ASL can say
it (every operator but `regex`, whose left side is a reference, and a `contains` without glob characters); `evaluate` decides it in Python (the step
worker, for the rest), with the same meaning: a comparison on a missing value or a value of another type is
false.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cmp.errors import FieldError

OPERATORS = ("equals", "contains", "greater", "less", "regex", "exists")
ROOTS = ("input", "vars", "steps", "item", "index")
MAX_REGEX_LENGTH = 200
MAX_CONDITION_DEPTH = 10

_SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = rf"{_SEGMENT}(?:\.{_SEGMENT}|\[\d+\])*"
_TEMPLATE = re.compile(rf"\{{\{{\s*({_PATH})\s*\}}\}}")
_WHOLE = re.compile(rf"^\s*\{{\{{\s*({_PATH})\s*\}}\}}\s*$")
_PARTS = re.compile(rf"\.?({_SEGMENT})|\[(\d+)\]")
_MISSING = object()
_GLOB_CHARACTERS = "*?[]\\"
"""StringMatches escapes `*` with `\\` in AWS, while moto matches with `fnmatch` (`?` and `[...]` special,
no escape): a `contains` with any of these is left to the worker, so it means the same everywhere."""


def reference(text: object) -> str | None:
    """The path of a string that is exactly one `{{ path }}` reference, else None."""
    if not isinstance(text, str):
        return None
    match = _WHOLE.match(text)
    return match.group(1) if match else None


def references(value: object) -> list[str]:
    """Every reference path used anywhere in `value` (strings, lists and objects, recursively)."""
    if isinstance(value, str):
        return _TEMPLATE.findall(value)
    if isinstance(value, list):
        return [path for item in value for path in references(item)]
    if isinstance(value, dict):
        return [path for item in value.values() for path in references(item)]
    return []


def json_path(path: str) -> str:
    """`steps.fetch.items[0]` -> `$.steps.fetch.items[0]` (the ASL path of a reference)."""
    return f"$.{path}"


def lookup(path: str, context: dict[str, Any]) -> Any:
    """The value at `path` in `context`; `_MISSING` when any step of the way is absent."""
    current: Any = context
    for key, index in _PARTS.findall(path):
        if key:
            current = current.get(key, _MISSING) if isinstance(current, dict) else _MISSING
        else:
            position = int(index)
            current = current[position] if isinstance(current, list) and position < len(current) else _MISSING
        if current is _MISSING:
            return _MISSING
    return current


def render(value: Any, context: dict[str, Any]) -> Any:
    """`value` with every reference replaced from `context` (see the module docstring)."""
    if isinstance(value, str):
        whole = reference(value)
        if whole is not None:
            found = lookup(whole, context)
            return None if found is _MISSING else found
        return _TEMPLATE.sub(lambda m: _as_text(lookup(m.group(1), context)), value)
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    return value


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def check_condition(
    raw: object, path: str, *, operators: tuple[str, ...], nested: bool, depth: int = 0
) -> list[FieldError]:
    """Problems with condition `raw` at JSON path `path`: its shape, operators outside `operators`, a group
    inside a group unless `nested` (the capability's `nestedConditions`), groups deeper than
    `MAX_CONDITION_DEPTH`."""
    if depth > MAX_CONDITION_DEPTH:
        return [FieldError(path, f"conditions nest at most {MAX_CONDITION_DEPTH} groups deep")]
    if not isinstance(raw, dict):
        return [FieldError(path, "expected a condition {left, operator, right} or a group {all|any: [...]}")]
    group = next((key for key in ("all", "any") if key in raw), None)
    if group is not None:
        items = raw[group]
        if not isinstance(items, list) or not items:
            return [FieldError(f"{path}.{group}", "expected a non-empty array of conditions")]
        errors = []
        for index, item in enumerate(items):
            if isinstance(item, dict) and ("all" in item or "any" in item) and not nested:
                errors.append(
                    FieldError(
                        f"{path}.{group}[{index}]", "nested AND/OR groups are not enabled for this product"
                    )
                )
            else:
                errors += check_condition(
                    item, f"{path}.{group}[{index}]", operators=operators, nested=nested, depth=depth + 1
                )
        return errors
    errors = []
    operator = raw.get("operator")
    if operator not in OPERATORS:
        return [FieldError(f"{path}.operator", f"expected one of {', '.join(OPERATORS)}")]
    if operator not in operators:
        errors.append(
            FieldError(
                f"{path}.operator",
                f"'{operator}' is not enabled for this product (it allows {', '.join(operators)})",
            )
        )
    left = raw.get("left")
    if not isinstance(left, str) or not references(left):
        errors.append(
            FieldError(f"{path}.left", "expected a {{ reference }} such as {{ steps.fetch.status }}")
        )
    right = raw.get("right")
    if operator == "exists":
        if right is not None and not isinstance(right, bool):
            errors.append(FieldError(f"{path}.right", "exists takes true (the default) or false"))
    elif operator == "regex":
        if not isinstance(right, str) or len(right) > MAX_REGEX_LENGTH:
            errors.append(
                FieldError(
                    f"{path}.right", f"expected a regular expression of at most {MAX_REGEX_LENGTH} characters"
                )
            )
        else:
            try:
                re.compile(right)
            except (re.error, OverflowError, RecursionError) as e:
                errors.append(FieldError(f"{path}.right", f"not a regular expression: {e}"))
    elif operator in ("greater", "less") and (
        isinstance(right, bool) or not isinstance(right, int | float | str)
    ):
        errors.append(FieldError(f"{path}.right", f"{operator} compares with a number or a string"))
    elif operator == "contains" and not isinstance(right, str):
        errors.append(FieldError(f"{path}.right", "contains looks for a string"))
    elif operator == "equals" and isinstance(right, dict | list):
        errors.append(FieldError(f"{path}.right", "equals compares with a string, number, boolean or null"))
    return errors


def to_choice_rule(condition: dict[str, Any]) -> dict[str, Any] | None:
    """The ASL Choice rule for a checked condition, or None when ASL cannot express it (a regex, or a left
    side that is text around a reference): the step worker then evaluates the condition."""
    for group, key in (("all", "And"), ("any", "Or")):
        if group in condition:
            rules = [to_choice_rule(item) for item in condition[group]]
            if any(rule is None for rule in rules):
                return None
            return {key: rules}
    path = reference(condition["left"])
    operator, right = condition["operator"], condition.get("right")
    if path is None or operator == "regex":
        return None
    variable = json_path(path)
    if operator == "exists":
        return {"Variable": variable, "IsPresent": right is not False}
    if right is None:
        return _guarded(variable, "IsNull", True)
    if isinstance(right, bool):
        return _guarded(variable, "IsBoolean", True, "BooleanEquals", right)
    if isinstance(right, int | float):
        comparison = {"equals": "NumericEquals", "greater": "NumericGreaterThan", "less": "NumericLessThan"}
        return _guarded(variable, "IsNumeric", True, comparison[operator], right)
    if operator == "contains":
        if any(char in right for char in _GLOB_CHARACTERS):
            return None
        return _guarded(variable, "IsString", True, "StringMatches", f"*{right}*")
    comparison = {"equals": "StringEquals", "greater": "StringGreaterThan", "less": "StringLessThan"}
    return _guarded(variable, "IsString", True, comparison[operator], right)


def _guarded(
    variable: str, kind: str, expected: bool, test: str | None = None, value: Any = None
) -> dict[str, Any]:
    """`IsPresent` and the type test before the comparison: ASL fails the run on a missing or mistyped
    variable, where our meaning is "false"."""
    rules = [{"Variable": variable, "IsPresent": True}, {"Variable": variable, kind: expected}]
    if test is not None:
        rules.append({"Variable": variable, test: value})
    return {"And": rules}


def evaluate(condition: dict[str, Any], context: dict[str, Any]) -> bool:
    """Decide a checked condition against a run's context (same meaning as `to_choice_rule`)."""
    if "all" in condition:
        return all(evaluate(item, context) for item in condition["all"])
    if "any" in condition:
        return any(evaluate(item, context) for item in condition["any"])
    path = reference(condition["left"])
    left = lookup(path, context) if path is not None else render(condition["left"], context)
    operator, right = condition["operator"], condition.get("right")
    if operator == "exists":
        return (left is not _MISSING) is (right is not False)
    if left is _MISSING:
        return False
    if operator == "regex":
        return isinstance(left, str) and re.search(str(right), left) is not None
    if right is None or isinstance(right, bool):
        return left is right
    if isinstance(right, int | float):
        if isinstance(left, bool) or not isinstance(left, int | float):
            return False
        return {"equals": left == right, "greater": left > right, "less": left < right}[operator]
    if not isinstance(left, str):
        return False
    return {
        "equals": left == right,
        "contains": right in left,
        "greater": left > right,
        "less": left < right,
    }[operator]
