"""The last step of every import: the proposed capabilities always pass the platform's own validation.

Importers already propose only what validates (see each format's module); this is the safety net for
anything they missed. It runs `validate_capabilities` on the proposal with its own category and repairs
exactly the paths the validator names, each with a warning at `proposedCapabilities.<path>`:

- a path the proposal sets is dropped (the category default applies instead);
- a subcategory the proposal cannot satisfy becomes the category's first subcategory;
- a missing part of a block the proposal switched on (`enabled`) drops that switch.

If rounds of repair still do not validate, only the category and subcategory are proposed.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from cmp.capabilities import CATEGORIES, validate_capabilities
from cmp.errors import FieldError
from cmp.flows.base import quoted
from cmp.flows.result import ImportResult

PROPOSAL_PATH = "proposedCapabilities"
CODE_DEPLOYMENT = "hybrid"
"""The runtime proposed with code actions: enterprise capable, and it still serves shared-runtime plans."""
CODE_NEEDS_RUNTIME = (
    "code actions need a dedicated runtime and review: configuration.workflowAdvanced.actions.code is "
    f"proposed with runtime.deployment '{CODE_DEPLOYMENT}', because code actions are enterprise only "
    "(choose 'dedicated' in step 3, or remove the code to stay on the shared runtime)"
)
"""Said at each code step: why the proposal moves the product off the shared-only runtime."""
MAX_REPAIR_ROUNDS = 8
"""Each round removes at least one path, and one failing rule rarely needs more than two rounds."""

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

_Key = str | int


def with_valid_proposal(result: ImportResult) -> ImportResult:
    """The result with a proposal that validates, plus one warning per change made to get there."""
    proposal, notes = valid_proposal(result.proposed_capabilities)
    if not notes:
        return result
    return dataclasses.replace(result, proposed_capabilities=proposal, warnings=[*result.warnings, *notes])


def valid_proposal(proposal: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """(a proposal `validate_capabilities` accepts, the warnings saying what was changed and why)."""
    current = copy.deepcopy(proposal)
    notes: list[FieldError] = []
    for _ in range(MAX_REPAIR_ROUNDS):
        errors = validate_capabilities(current).errors
        if not errors:
            return current, notes
        changes = _repair_round(current, errors)
        if not changes:
            break
        notes.extend(changes)
    minimal: dict[str, Any] = {key: current[key] for key in ("category", "subcategory") if key in current}
    notes.append(
        FieldError(
            PROPOSAL_PATH,
            "could not be made to pass validation; only the category is proposed, set the rest in step 3",
        )
    )
    return minimal, notes


def _repair_round(document: dict[str, Any], errors: list[FieldError]) -> list[FieldError]:
    """Repairs what it can; stops after removing a list item, since later indices have moved."""
    changes: list[FieldError] = []
    for error in errors:
        note = _repair(document, error)
        if note is not None:
            changes.append(note)
            if error.path.endswith("]"):
                break
    return changes


def _keys(path: str) -> list[_Key]:
    return [name if name else int(index) for name, index in _PATH_PART.findall(path)]


def _lookup(document: dict[str, Any], keys: list[_Key]) -> tuple[dict[str, Any] | list[Any], _Key] | None:
    """(container, key) of a path that is set in the document, else None."""
    node: object = document
    for key in keys[:-1]:
        node = _child(node, key)
        if node is None:
            return None
    last = keys[-1] if keys else None
    if isinstance(node, dict) and isinstance(last, str) and last in node:
        return node, last
    if isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        return node, last
    return None


def _child(node: object, key: _Key) -> object:
    if isinstance(node, dict) and isinstance(key, str):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return None


def _note(path: str, message: str) -> FieldError:
    return FieldError(f"{PROPOSAL_PATH}.{path}" if path else PROPOSAL_PATH, message)


def _repair(document: dict[str, Any], error: FieldError) -> FieldError | None:
    """Changes the document so `error` goes away; the warning saying so, or None if nothing fits."""
    keys = _keys(error.path)
    if not keys or keys[0] == "category":
        return None
    if keys[0] == "subcategory":
        return _reset_subcategory(document, error)
    found = _lookup(document, keys)
    if found is not None:
        container, key = found
        if isinstance(container, dict) and isinstance(key, str):
            del container[key]
        elif isinstance(container, list) and isinstance(key, int):
            container.pop(key)
        return _note(error.path, f"not proposed: {error.message}")
    for depth in range(len(keys) - 1, 0, -1):
        switch = _lookup(document, [*keys[:depth], "enabled"])
        if switch is not None:
            container, switch_key = switch
            if (
                isinstance(container, dict)
                and isinstance(switch_key, str)
                and container.get(switch_key) is True
            ):
                del container[switch_key]
                block = ".".join(str(part) for part in keys[:depth])
                return _note(f"{block}.enabled", f"not proposed, because {error.path} {error.message}")
    return None


def _reset_subcategory(document: dict[str, Any], error: FieldError) -> FieldError | None:
    category = document.get("category")
    subcategory = document.get("subcategory")
    choices = CATEGORIES.get(category) if isinstance(category, str) else None
    if not choices or not isinstance(subcategory, dict):
        return None
    fallback = choices[0]
    current = subcategory.get(category)
    if current == fallback:
        return None
    document["subcategory"] = {category: fallback}
    return _note(
        f"subcategory.{category}",
        f"changed from {quoted(str(current))} to {quoted(fallback)}: {error.message}",
    )
