"""Files that hold several flows: an `n8n export:workflow` array and a Langflow `{"flows": [...]}` bundle.

`pick_flow` finds the one flow to import (the only one, or the one named by `flow_name`); the caller
imports it as a file of its own and `PickedFlow.prefixed` puts the document paths of its warnings and
errors back in the seller's file (`[2].nodes[0].type`, `flows[1].data.nodes[3]`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cmp.errors import DomainError, FieldError, ValidationFailed
from cmp.flows import langflow, n8n
from cmp.flows.base import as_dict, as_list, check_component_count, child_path, quoted, text
from cmp.flows.result import ImportResult

FLOW_NAME = "flow_name"
NAMES_LISTED = 20
"""Flow names listed in a message; a bundle of hundreds says how many more there are."""

_NOT_DOCUMENT_PATHS = frozenset({"format", FLOW_NAME})


@dataclass(frozen=True)
class PickedFlow:
    """One flow out of a collection: the flow itself, where it sits in the file, and what was chosen."""

    document: dict[str, Any]
    prefix: str
    note: FieldError | None

    def prefixed(self, run: Callable[[object], ImportResult]) -> ImportResult:
        """`run(document)` with every document path in its warnings and errors made file-relative."""
        try:
            result = run(self.document)
        except DomainError as exc:
            exc.errors = [self._relocated(error) for error in exc.errors]
            raise
        warnings = [self._relocated(warning) for warning in result.warnings]
        return dataclasses.replace(
            result, warnings=[self.note, *warnings] if self.note is not None else warnings
        )

    def _relocated(self, error: FieldError) -> FieldError:
        path = error.path
        if path in _NOT_DOCUMENT_PATHS:
            return error
        if path in ("", "content"):
            return FieldError(self.prefix, error.message)
        joined = f"{self.prefix}{path}" if path.startswith("[") else f"{self.prefix}.{path}"
        return FieldError(joined, error.message)


@dataclass(frozen=True)
class _Collection:
    noun: str
    base: str
    flows: list[dict[str, Any]]


def _collection(document: object) -> _Collection | None:
    items = as_list(document)
    if items and all(isinstance(item, dict) and n8n.matches(item) for item in items):
        return _Collection("n8n workflow", "", items)
    root = as_dict(document)
    bundle = as_list(root.get("flows")) if root is not None and not langflow.matches(root) else None
    if bundle and all(isinstance(item, dict) and langflow.matches(item) for item in bundle):
        return _Collection("Langflow flow", "flows", bundle)
    return None


def _name(flow: dict[str, Any], index: int) -> str:
    return text(flow.get("name")) or f"#{index + 1} (unnamed)"


def _listed(names: list[str]) -> str:
    shown = ", ".join(quoted(name) for name in names[:NAMES_LISTED])
    more = len(names) - NAMES_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def pick_flow(document: object, flow_name: str | None) -> PickedFlow | None:
    """The flow to import from a collection, or None when the document is a single flow (or no flow).

    Raises ValidationFailed when the collection holds several flows and `flow_name` names none of them.
    """
    collection = _collection(document)
    if collection is None:
        return None
    flows = collection.flows
    check_component_count(len(flows), collection.base or "content", "flows")
    names = [_name(flow, index) for index, flow in enumerate(flows)]
    plural = f"{len(flows)} {collection.noun}s"
    wanted = (flow_name or "").strip()
    if len(flows) == 1:
        return PickedFlow(flows[0], child_path(collection.base, 0), None)
    if not wanted:
        raise ValidationFailed(
            f"The file holds {plural}; choose one by name",
            errors=[
                FieldError(
                    FLOW_NAME,
                    f"the file holds {plural} ({_listed(names)}); give flow_name to import one of them",
                )
            ],
        )
    matching = [index for index, name in enumerate(names) if name == wanted]
    if not matching:
        raise ValidationFailed(
            f"No {collection.noun} named {quoted(wanted)} in the file",
            errors=[
                FieldError(
                    FLOW_NAME,
                    f"no {collection.noun} is named {quoted(wanted)}; the file holds {_listed(names)}",
                )
            ],
        )
    index = matching[0]
    prefix = child_path(collection.base, index)
    duplicates = f"; {len(matching)} are named so, the first was taken" if len(matching) > 1 else ""
    note = FieldError(
        prefix, f"the file holds {plural}; imported {quoted(wanted)} as flow_name asked{duplicates}"
    )
    return PickedFlow(flows[index], prefix, note)
