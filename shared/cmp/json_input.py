"""Reading untrusted JSON text: the limits and number rules shared by API request bodies (`cmp.web.api`)
and imported flow files (`cmp.flows.safety`).

A light module on purpose (standard library only): the web layer imports it at cold start, while the flow
readers load PyYAML and every format's reader.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_NESTING_DEPTH = 64
"""Arrays and objects nested deeper than this are refused before the parser recurses."""
MAX_INTEGER_DIGITS = 1_000
"""An integer literal with more digits is refused (Python would spend quadratic time converting it, and no
column holds it)."""


class NumberRejected(ValueError):
    """A JSON number Python could read but the `jsonb` column and the JSON spec cannot hold."""


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


def loads(text: str) -> Any:
    """`json.loads` that refuses NaN/Infinity, integers of more than MAX_INTEGER_DIGITS digits and floats
    out of range. Raises `json.JSONDecodeError` (syntax, with line and column), `NumberRejected`, or
    `RecursionError` (nesting; callers check `MAX_NESTING_DEPTH` first)."""
    return json.loads(
        text, parse_constant=_reject_constant, parse_int=_checked_int, parse_float=_checked_float
    )
