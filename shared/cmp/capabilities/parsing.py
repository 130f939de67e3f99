"""Reading untrusted JSON into the models without stopping at the first problem.

Pydantic's errors are turned into `FieldError`s with the document's own paths
(`interfaces.chat.modes[1]`) and messages a seller understands; the offending values are then
dropped so the rest of the document can still be checked by the semantic rules.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cmp.capabilities.base import PATTERN_HINTS
from cmp.errors import FieldError

M = TypeVar("M", bound=BaseModel)

MAX_PARSE_PASSES = 5
"""Each pass drops every value pydantic rejected; one pass normally suffices."""


def format_path(loc: Sequence[object], prefix: str = "") -> str:
    """`("interfaces", "chat", "modes", 1)` → `interfaces.chat.modes[1]`."""
    path = prefix
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def show(value: object) -> str:
    """A short, safe rendering of a rejected value (never recurses into containers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def model_in(annotation: object) -> type[BaseModel] | None:
    """The model class inside `Model` or `Model | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        for arg in get_args(annotation):
            found = model_in(arg)
            if found is not None:
                return found
    return None


def wire_names(model: type[BaseModel]) -> dict[str, str]:
    """Wire name (alias) → Python attribute name, for every field of `model`."""
    return {(info.alias or name): name for name, info in model.model_fields.items()}


def canonical_keys(data: dict[Any, Any], model: type[BaseModel]) -> dict[Any, Any]:
    """Copy `data` with every known field spelt by its wire (camelCase) name.

    Sellers may write `multi_turn` or `multiTurn`; rewriting to one spelling lets the layers merge
    key by key. Unknown keys are kept as they are (and later reported); their values are not copied.
    A key given in both spellings keeps its snake_case twin, which pydantic then reports.
    """
    aliases = {name: info.alias or name for name, info in model.model_fields.items()}
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    out: dict[Any, Any] = {}
    for key, value in data.items():
        wire = aliases.get(key, key) if isinstance(key, str) else key
        if wire != key and wire in data:
            wire = key
        info = fields.get(wire) if isinstance(wire, str) else None
        nested = model_in(info.annotation) if info is not None else None
        if nested is not None and isinstance(value, dict):
            out[wire] = canonical_keys(value, nested)
        elif info is not None and isinstance(value, list):
            out[wire] = list(value)
        else:
            out[wire] = value
    return out


def model_at(root: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The model that owns the field at `loc`, following wire names."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None or not isinstance(part, str):
            return None
        name = wire_names(model).get(part)
        if name is None:
            return None
        model = model_in(model.model_fields[name].annotation)
    return model


def _unknown_field_message(key: object, owner: type[BaseModel] | None) -> str:
    if not isinstance(key, str):
        return f"unknown field {show(key)}: field names must be text"
    message = f"unknown field '{key}'"
    if owner is None:
        return message
    known = list(wire_names(owner))
    python_names = {name: alias for alias, name in wire_names(owner).items()}
    if key in python_names:
        return f"'{key}' is given twice, also as '{python_names[key]}'; keep one"
    same_but_case = [name for name in known if name.lower() == key.lower()]
    close = same_but_case or difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; expected one of: {', '.join(known)}"


def friendly_message(error: ErrorDetails, root: type[BaseModel]) -> str:
    """A plain-language message for one pydantic error."""
    kind = error["type"]
    loc = error["loc"]
    got = show(error.get("input"))
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    match kind:
        case "extra_forbidden":
            return _unknown_field_message(loc[-1] if loc else None, model_at(root, loc[:-1]))
        case "literal_error":
            return f"must be one of {ctx.get('expected', '')} (got {got})"
        case "bool_type" | "bool_parsing":
            return f"must be true or false (got {got})"
        case "int_type" | "int_parsing" | "int_from_float":
            return f"must be a whole number (got {got})"
        case "float_type" | "float_parsing":
            return f"must be a number (got {got})"
        case "string_type":
            return f"must be text (got {got})"
        case "list_type":
            return f"must be a list (got {got})"
        case "model_type" | "model_attributes_type" | "dict_type":
            return f"must be an object (got {got})"
        case "missing":
            return "is required"
        case "string_too_short":
            return "must not be empty"
        case "string_too_long":
            return f"must be at most {ctx.get('max_length')} characters long"
        case "string_pattern_mismatch":
            hint = PATTERN_HINTS.get(str(ctx.get("pattern")), f"in the form {ctx.get('pattern')}")
            return f"must be {hint} (got {got})"
        case "greater_than_equal":
            return f"must be at least {ctx.get('ge')} (got {got})"
        case "greater_than":
            return f"must be greater than {ctx.get('gt')} (got {got})"
        case "less_than_equal":
            return f"must be at most {ctx.get('le')} (got {got})"
        case "less_than":
            return f"must be less than {ctx.get('lt')} (got {got})"
        case "decimal_type" | "decimal_parsing":
            return f"must be a number such as 29 or 29.99 (got {got})"
        case "decimal_max_places":
            return f"must have at most {ctx.get('decimal_places')} decimal places (got {got})"
        case "decimal_max_digits" | "decimal_whole_digits":
            return f"is too large or too precise: at most {ctx.get('max_digits')} digits (got {got})"
        case "finite_number":
            return f"must be a finite number (got {got})"
        case "invalid_key":
            return "field names must be text"
        case "recursion_loop":
            return "contains itself"
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _error_path(error: ErrorDetails, prefix: str) -> str:
    """The error's path; a non-text key is named as written rather than shown as a list index."""
    loc = error["loc"]
    if error["type"] == "invalid_key" and loc:
        parent = format_path(loc[:-1], prefix)
        return f"{parent}.{loc[-1]}" if parent else str(loc[-1])
    return format_path(loc, prefix)


def _drop(data: object, loc: Sequence[object]) -> bool:
    """Remove the value at `loc` (or the list holding it) so the default applies instead."""
    holder: dict[Any, Any] | None = None
    holder_key: object = None
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            holder, holder_key = current, part
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            break
    if holder is None:
        return False
    del holder[holder_key]
    return True


def parse_tolerant(
    model: type[M], data: dict[Any, Any], prefix: str = ""
) -> tuple[M | None, list[FieldError]]:
    """Validate `data`, collecting every type error and retrying without the rejected values.

    `data` must be a private copy (it is edited). Returns the model built from what was valid (or
    None if nothing could be salvaged) and the errors, paths prefixed with `prefix`.
    """
    errors: list[FieldError] = []
    for _ in range(MAX_PARSE_PASSES):
        try:
            return model.model_validate(data), errors
        except ValidationError as exc:
            dropped = False
            reported = {error.path for error in errors}
            for detail in exc.errors(include_url=False):
                error = FieldError(_error_path(detail, prefix), friendly_message(detail, model))
                if error.path not in reported:
                    errors.append(error)
                dropped = _drop(data, detail["loc"]) or dropped
            if not dropped:
                break
    return None, errors
