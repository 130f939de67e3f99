"""`capability_summary`: the capability document in the words a buyer reads on a product page."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from cmp.capabilities.defaults import merge_with_defaults
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.validation import ensure_valid

WORDS = {
    "api": "API",
    "apis": "external APIs",
    "api_calls": "API calls",
    "ai": "AI",
    "css": "CSS",
    "http": "HTTP",
    "mcp": "MCP",
    "qa": "Q&A",
    "qa_files": "Q&A pairs",
    "qa_pairs": "Q&A pairs",
}
API_PROTOCOLS = {"rest": "REST API", "graphql": "GraphQL API", "websocket": "WebSocket API", "mcp": "MCP"}
API_FEATURES = {"webhooks": "Webhooks", "callbacks": "Async callbacks", "batch": "Batch processing"}
PLATFORMS = {
    "slack": "Slack",
    "teams": "Microsoft Teams",
    "discord": "Discord",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "email": "Email",
}
RUNTIMES = {"shared": "Shared", "dedicated": "Dedicated", "hybrid": "Shared or dedicated"}


def _words(name: str) -> str:
    """`welcome_message` → `welcome message`, `custom_css` → `custom CSS`."""
    if name in WORDS:
        return WORDS[name]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return WORDS.get(snake) or " ".join(WORDS.get(part, part) for part in snake.split("_"))


def _on(switches: BaseModel) -> list[str]:
    """Human names of the switches that are on, in schema order."""
    return [_words(name) for name, value in switches if value is True]


def _list(items: list[str]) -> str:
    return ", ".join(_words(item) for item in items)


def _interfaces(doc: ProductCapabilities) -> list[str]:
    i = doc.interfaces
    lines: list[str] = []
    if i.chat.enabled:
        lines.append(f"Chat ({_list(list(i.chat.modes))})")
    if i.widget.enabled:
        lines.append(f"Embeddable widget ({_list(list(i.widget.types))})")
    if i.api.enabled:
        lines.extend(API_PROTOCOLS[protocol] for protocol in i.api.protocols)
        lines.extend(API_FEATURES[name] for name, on in i.api.features if on is True)
    if i.integrations.enabled:
        lines.append("Integrations: " + ", ".join(PLATFORMS[p] for p in i.integrations.platforms))
    return lines


def _configurable(doc: ProductCapabilities) -> list[str]:
    c = doc.configuration
    lines: list[str] = []
    if c.knowledge.enabled:
        limits = c.knowledge.limits
        bounds = [f"{limits.max_documents:,} documents", f"{limits.max_size_mb:,} MB"]
        if c.knowledge.sources.websites:
            bounds.append(f"{limits.max_urls:,} URLs")
        lines.append(f"Knowledge base: {', '.join(_on(c.knowledge.sources))} (up to {', '.join(bounds)})")
    if c.rag.enabled:
        rag = c.rag
        retrieval = [f"{rag.retrieval.method} search", f"top {rag.retrieval.top_k} results"]
        retrieval += _on(rag.retrieval)
        if rag.grounding.strict_mode:
            retrieval.append("answers only from your knowledge")
        bounds = [f"{rag.limits.max_documents:,} documents", f"{rag.limits.max_size_mb:,} MB"]
        if rag.sources.websites:
            bounds.append(f"{rag.limits.max_urls:,} URLs")
        lines.append(
            f"Knowledge retrieval (RAG): {', '.join(_on(rag.sources))}; {', '.join(retrieval)} "
            f"(up to {', '.join(bounds)})"
        )
    for label, block in (
        ("Persona", c.persona),
        ("Conversation", c.conversation),
        ("Branding", c.branding),
        ("Workflow", c.workflow),
        ("Output", c.output),
    ):
        if block.enabled:
            lines.append(f"{label}: {', '.join(_on(block.options))}")
    advanced = c.workflow_advanced
    if advanced.enabled:
        parts = [
            f"{group}: {', '.join(_on(switches))}"
            for group, switches in (
                ("triggers", advanced.triggers),
                ("flow", advanced.flow),
                ("actions", advanced.actions),
                ("data", advanced.data),
            )
            if _on(switches)
        ]
        lines.append("Advanced workflows — " + "; ".join(parts))
    return lines


def _analytics(doc: ProductCapabilities) -> list[str]:
    a = doc.analytics
    lines: list[str] = []
    if a.usage.enabled:
        lines.append(f"Usage: {_list(list(a.usage.metrics))}")
    if a.conversations.enabled:
        lines.append(f"Conversations: {', '.join(_on(a.conversations.features))}")
    if a.insights.enabled:
        lines.append(f"Insights: {', '.join(_on(a.insights.features))}")
    if a.alerts.enabled:
        lines.append(f"Alerts: {_list(list(a.alerts.types))}")
    return lines


def capability_summary(capabilities: dict[str, Any]) -> dict[str, Any]:
    """What a buyer gets, as short phrases: interfaces, what they can configure, runtime, analytics.

    Describes a stored document as it is, even if a rule added since its publication would reject it
    (a live listing must keep rendering); a document that does not even have the schema's shape raises
    `ValidationFailed` with its paths.
    """
    try:
        doc = ProductCapabilities.model_validate(merge_with_defaults(capabilities))
    except (TypeError, KeyError, ValueError):  # pydantic's ValidationError is a ValueError
        doc = ensure_valid(capabilities)
    category = doc.category or ""
    subcategory = getattr(doc.subcategory, category, None) or ""
    return {
        "category": category.capitalize(),
        "subcategory": subcategory.capitalize(),
        "interfaces": _interfaces(doc),
        "youCanConfigure": _configurable(doc),
        "runtime": RUNTIMES[doc.runtime.deployment],
        "analytics": _analytics(doc),
    }
