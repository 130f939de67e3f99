"""Reading untrusted JSON text: the limits and number rules shared by API request bodies (`cmp.web.api`)
and imported flow files (`cmp.flows.safety`).

A light module on purpose (standard library only): the web layer imports it at cold start, while the flow
readers load PyYAML and every format's reader.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

MAX_NESTING_DEPTH = 64
"""Arrays and objects nested deeper than this are refused before the parser recurses."""
MAX_INTEGER_DIGITS = 1_000
"""An integer literal with more digits is refused (Python would spend quadratic time converting it, and no
column holds it)."""


class NumberRejected(ValueError):
    """A JSON number Python could read but the `jsonb` column and the JSON spec cannot hold."""


class DuplicateKey(ValueError):
    """A JSON object gives the same key twice (`path` is the key's path, e.g. `plans[0].name`)."""

    def __init__(self, path: str, key: str) -> None:
        super().__init__(f"the key {key!r} is given more than once in its object")
        self.path = path
        self.key = key


class _Repeated(dict[str, Any]):
    """An object that gave `repeated` twice (marked while parsing; its path is found from the root after)."""

    def __init__(self, pairs: list[tuple[str, Any]], repeated: str) -> None:
        super().__init__(pairs)
        self.repeated = repeated


def _marking_repeats(marked: list[_Repeated]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An `object_pairs_hook` building each object, marked as `_Repeated` (and listed) when a key repeats."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                marked.append(_Repeated(pairs, key))
                return marked[-1]
            seen.add(key)
        return dict(pairs)

    return build


def _find_repeated(document: Any) -> DuplicateKey | None:
    """The first marked object's repeated key with its path (iterative: depth is bounded by the caller)."""
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Repeated):
            key = value.repeated
            return DuplicateKey(f"{path}.{key}" if path else key, key)
        if isinstance(value, dict):
            stack.extend((child, f"{path}.{key}" if path else str(key)) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(value))
    return None


def _reject_constant(name: str) -> float:
    raise NumberRejected(f"{name} is not a JSON number")


def _checked_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise NumberRejected(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(literal)


def _checked_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise NumberRejected(f"the number {literal[:40]} is out of range")
    return value


def loads(text: str, *, unique_keys: bool = False) -> Any:
    """`json.loads` that refuses NaN/Infinity, integers of more than MAX_INTEGER_DIGITS digits and floats
    out of range, and (with `unique_keys`) an object giving a key twice. Raises `json.JSONDecodeError`
    (syntax, with line and column), `NumberRejected`, `DuplicateKey`, or `RecursionError` (nesting;
    callers check `MAX_NESTING_DEPTH` first)."""
    marked: list[_Repeated] = []
    document = json.loads(
        text,
        parse_constant=_reject_constant,
        parse_int=_checked_int,
        parse_float=_checked_float,
        object_pairs_hook=_marking_repeats(marked) if unique_keys else None,
    )
    if marked and (repeated := _find_repeated(document)) is not None:
        raise repeated
    return document
