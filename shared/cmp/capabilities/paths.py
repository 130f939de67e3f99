"""Reading and writing nested wire dicts by dotted path (`configuration.rag.retrieval.topK`)."""

from __future__ import annotations

from typing import Any

MISSING: Any = object()
"""Returned by `dig` when the path does not exist (distinct from an explicit null)."""


def dig(data: object, path: str) -> Any:
    """The value at `path`, or MISSING."""
    current = data
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current:
            return MISSING
        current = current[key]
    return current


def is_set(data: object, path: str) -> bool:
    """True when the seller's own draft gives `path` (as opposed to a default supplying it)."""
    return dig(data, path) is not MISSING


def put(data: dict[str, Any], path: str, value: object) -> None:
    """Set `path` in `data`, which must already hold every parent object."""
    *parents, last = path.split(".")
    target: Any = data
    for key in parents:
        target = target[key]
    target[last] = value


def join(*parts: str) -> str:
    return ".".join(part for part in parts if part)
