"""The buyer's configuration sections and the capability switch that opens each (no pydantic models here,
so the dashboard can use it without building the settings models)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmp.capabilities.models import ProductCapabilities

SECTIONS: tuple[str, ...] = ("rag", "persona", "conversation", "branding", "output", "workflow", "widget")
"""Every configuration section, in the order the buyer's dashboard shows them: knowledge retrieval (under
Training), persona, conversation, branding, output, workflow (under Configure), widget (under Integrate)."""


def section_enabled(snapshot: ProductCapabilities, section: str) -> bool:
    """Whether the product lets a buyer configure `section` at all (False for an unknown name).

    `workflow` is open when either workflow block is enabled (`configuration.workflow` or
    `configuration.workflowAdvanced`); `widget` follows `interfaces.widget.enabled`; every other section its
    own `configuration.<section>.enabled`.
    """
    config = snapshot.configuration
    match section:
        case "workflow":
            return config.workflow.enabled or config.workflow_advanced.enabled
        case "widget":
            return snapshot.interfaces.widget.enabled
        case "rag" | "persona" | "conversation" | "branding" | "output":
            enabled: bool = getattr(config, section).enabled
            return enabled
    return False


def disabled_message(section: str) -> str:
    """What a 403 says when `section` is closed, naming the capability path(s) that would open it."""
    match section:
        case "workflow":
            return "configuration.workflow and configuration.workflowAdvanced are disabled for this product"
        case "widget":
            return "interfaces.widget is disabled for this product"
    return f"configuration.{section} is disabled for this product"


WORKFLOW_FIELDS: dict[str, tuple[str, str]] = {
    "schedule": ("triggers", "schedule"),
    "variables": ("data", "variables"),
    "secrets": ("data", "secrets"),
}
"""Workflow section field → the `workflowAdvanced` group and switch that also govern it (its
`configuration.workflow.options` switch has the field's own name). Python and wire names coincide."""


def workflow_closing(snapshot: ProductCapabilities, field: str) -> list[str]:
    """The capability paths that keep the workflow field `field` (schedule, variables, secrets) closed:
    every enabled workflow block must switch it on (`configuration.workflow.options.<field>`, and
    `configuration.workflowAdvanced.triggers.schedule` / `.data.variables` / `.data.secrets`). Empty when
    the field is open; when neither block is enabled the whole section is closed (see `section_enabled`)."""
    group, switch = WORKFLOW_FIELDS[field]
    config = snapshot.configuration
    closing = []
    if config.workflow.enabled and not getattr(config.workflow.options, field):
        closing.append(f"configuration.workflow.options.{field}")
    advanced = config.workflow_advanced
    if advanced.enabled and not getattr(getattr(advanced, group), switch):
        closing.append(f"configuration.workflowAdvanced.{group}.{switch}")
    return closing


def workflow_field_open(snapshot: ProductCapabilities, field: str) -> bool:
    """Whether the buyer may set the workflow field `field` (schedule, variables, secrets)."""
    return section_enabled(snapshot, "workflow") and not workflow_closing(snapshot, field)


def enabled_sections(snapshot: ProductCapabilities) -> list[str]:
    """The sections a buyer of this product may configure, in dashboard order."""
    return [section for section in SECTIONS if section_enabled(snapshot, section)]
