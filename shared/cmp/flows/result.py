"""The outcome of importing one studio export: what CMP stores and what it proposes to the seller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cmp.errors import FieldError


@dataclass(frozen=True)
class ImportResult:
    """A parsed export plus a partial capability draft; never a final product.

    `proposed_capabilities` is a camelCase partial of the spec's ProductCapabilities (Part 1): it holds
    only what the flow itself implies, so the wizard can merge it over the category defaults.
    `warnings` lists everything the importer did not understand, each at its path in the document.
    """

    format: str
    format_version: str
    name: str
    description: str
    flow_definition: dict[str, Any]
    proposed_capabilities: dict[str, Any]
    components: list[dict[str, Any]]
    warnings: list[FieldError]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "formatVersion": self.format_version,
            "name": self.name,
            "description": self.description,
            "flowDefinition": self.flow_definition,
            "proposedCapabilities": self.proposed_capabilities,
            "components": self.components,
            "warnings": [warning.to_dict() for warning in self.warnings],
        }
