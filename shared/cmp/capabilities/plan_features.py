"""The vocabulary of plan `features` entries that name a capability.

An entry such as `rag`, `voice` or `integrations.slack` promises the buyer a capability, so the
product must have it switched on. Anything else (`Email support`, `99.9% SLA`) is free text.
Matching ignores case.

- a block name: `chat`, `widget`, `api`, `integrations`, `knowledge`, `persona`, `conversation`,
  `branding`, `workflow`, `output`, `rag`, `workflowAdvanced`, `analytics.usage`,
  `analytics.conversations`, `analytics.insights`, `analytics.alerts`;
- `<block>.<switch>` for a switch inside it: `api.webhooks`, `persona.tone`, `rag.databases`,
  `rag.citations`, `workflowAdvanced.code`, `analytics.insights.sentiment`;
- `<block>.<value>` for a value of one of its lists: `chat.voice`, `api.mcp`, `widget.floating`,
  `integrations.slack`, `analytics.usage.tokens`;
- shortcuts: `voice`, `video` (chat modes), `rest`, `graphql`, `websocket`, `mcp` (API protocols),
  `webhooks`, `callbacks`, `batch` (API features) and `gpu` (runtime.compute.cpu).
"""

from __future__ import annotations

import re
from typing import get_args

from pydantic import BaseModel

from cmp.capabilities.models import ProductCapabilities

FEATURE_REFERENCE = re.compile(r"^[A-Za-z]+(\.[A-Za-z_]+)+$")
"""A dotted identifier: looks like a capability reference, so an unknown one is reported, not ignored."""

SHORTCUTS: dict[str, str] = {
    "voice": "chat.voice",
    "video": "chat.video",
    "rest": "api.rest",
    "graphql": "api.graphql",
    "websocket": "api.websocket",
    "mcp": "api.mcp",
    "webhooks": "api.webhooks",
    "callbacks": "api.callbacks",
    "batch": "api.batch",
}


def _blocks(doc: ProductCapabilities) -> list[tuple[str, str, BaseModel]]:
    """(feature name, document path, block) for every block with an `enabled` switch."""
    i, c, a = doc.interfaces, doc.configuration, doc.analytics
    return [
        ("chat", "interfaces.chat", i.chat),
        ("widget", "interfaces.widget", i.widget),
        ("api", "interfaces.api", i.api),
        ("integrations", "interfaces.integrations", i.integrations),
        ("knowledge", "configuration.knowledge", c.knowledge),
        ("persona", "configuration.persona", c.persona),
        ("conversation", "configuration.conversation", c.conversation),
        ("branding", "configuration.branding", c.branding),
        ("workflow", "configuration.workflow", c.workflow),
        ("output", "configuration.output", c.output),
        ("rag", "configuration.rag", c.rag),
        ("workflowAdvanced", "configuration.workflowAdvanced", c.workflow_advanced),
        ("analytics.usage", "analytics.usage", a.usage),
        ("analytics.conversations", "analytics.conversations", a.conversations),
        ("analytics.insights", "analytics.insights", a.insights),
        ("analytics.alerts", "analytics.alerts", a.alerts),
    ]


def capability_features(doc: ProductCapabilities) -> dict[str, tuple[bool, str]]:
    """Lower-cased feature name → (offered by `doc`, what it needs, for messages)."""
    vocabulary: dict[str, tuple[bool, str]] = {}
    for name, path, block in _blocks(doc):
        enabled = getattr(block, "enabled", False) is True
        vocabulary[name.lower()] = (enabled, f"{path}.enabled")
        for field_name, info in type(block).model_fields.items():
            wire = info.alias or field_name
            value = getattr(block, field_name)
            if isinstance(value, BaseModel):
                for switch_name, switch_info in type(value).model_fields.items():
                    switch = getattr(value, switch_name)
                    if isinstance(switch, bool):
                        switch_wire = switch_info.alias or switch_name
                        vocabulary[f"{name}.{switch_wire}".lower()] = (
                            enabled and switch,
                            f"{path}.enabled and {path}.{wire}.{switch_wire}",
                        )
            elif isinstance(value, list):
                for item in get_args(get_args(info.annotation)[0]):
                    vocabulary[f"{name}.{item}".lower()] = (
                        enabled and item in value,
                        f"{path}.enabled with '{item}' in {path}.{wire}",
                    )
    for shortcut, target in SHORTCUTS.items():
        vocabulary[shortcut] = vocabulary[target]
    vocabulary["gpu"] = (doc.runtime.compute.cpu == "gpu", "runtime.compute.cpu 'gpu'")
    return vocabulary
