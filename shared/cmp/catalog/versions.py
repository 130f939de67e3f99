"""Semantic versions for published products: what changed decides the bump.

major — the capability document takes something away a buyer had (a feature switched off, an option
removed from a list, a limit lowered); minor — capabilities or plans changed otherwise; patch — only the
listing changed.
"""

from __future__ import annotations

from typing import Any

FIRST_VERSION = "1.0.0"


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(_leaves(child, f"{path}.{key}" if path else str(key)))
        return out
    return {path: value}


def takes_something_away(old: dict[str, Any], new: dict[str, Any]) -> bool:
    before, after = _leaves(old), _leaves(new)
    for path, was in before.items():
        now = after.get(path)
        if was is True and now is not True:
            return True
        if isinstance(was, list) and (
            not isinstance(now, list) or not set(map(str, was)) <= set(map(str, now))
        ):
            return True
        if (
            isinstance(was, int | float)
            and not isinstance(was, bool)
            and isinstance(now, int | float)
            and not isinstance(now, bool)
            and now < was
        ):
            return True
    return False


def next_version(current: str | None, old: dict[str, Any] | None, new: dict[str, Any]) -> str:
    """`old`/`new` hold `capabilities`, `plans` and `listing` of the last and the next version."""
    if current is None or old is None:
        return FIRST_VERSION
    major, minor, patch = (int(p) for p in current.split("."))
    if takes_something_away(old["capabilities"], new["capabilities"]):
        return f"{major + 1}.0.0"
    if old["capabilities"] != new["capabilities"] or old["plans"] != new["plans"]:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
