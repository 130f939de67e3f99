"""Capability documents for the buyer-side tests: the spec's three example products (Part 3, "Example:
Agent / Assistant / Automation Dashboard") and random valid products for property-style tests."""

from __future__ import annotations

import random
from typing import Any

from cmp.capabilities import ProductCapabilities, ensure_valid, validate_capabilities
from cmp.capabilities.models import (
    BrandingOptions,
    ConversationOptions,
    OutputOptions,
    PersonaOptions,
    WidgetCustomization,
    WorkflowOptions,
)

SUPPORT_AGENT: dict[str, Any] = {
    "category": "agent",
    "subcategory": {"agent": "single"},
    "tags": ["support"],
    "interfaces": {
        "chat": {"enabled": True, "modes": ["text"], "features": {"streaming": True, "multiTurn": True}},
        "widget": {
            "enabled": True,
            "types": ["floating"],
            "customization": {"theme": True, "colors": True, "position": True, "launcher": True},
        },
        "api": {"enabled": True, "protocols": ["rest", "mcp"], "authentication": ["api_key"]},
    },
    "configuration": {
        "knowledge": {"enabled": True, "sources": {"documents": True, "qaFiles": True}},
        "persona": {"enabled": True, "options": {"name": True, "tone": True, "instructions": True}},
        "conversation": {"enabled": True, "options": {"welcomeMessage": True, "suggestedPrompts": True}},
        "branding": {"enabled": True, "options": {"logo": True, "colors": True}},
    },
    "analytics": {
        "usage": {"enabled": True, "metrics": ["messages", "users", "sessions"]},
        "insights": {"enabled": True, "features": {"satisfaction": True}},
    },
}
"""Customer Support Agent (Acme AI Solutions): widget, REST and MCP, knowledge with RAG (the agent
defaults), persona with welcome message, branding."""

CONTENT_WRITER: dict[str, Any] = {
    "category": "assistant",
    "subcategory": {"assistant": "writer"},
    "tags": ["marketing"],
    "interfaces": {
        "chat": {"enabled": True, "modes": ["text"], "features": {"fileUpload": True}},
        "widget": {"enabled": False},
        "api": {"enabled": True, "protocols": ["rest"], "authentication": ["api_key"]},
    },
    "configuration": {
        "persona": {"enabled": True, "options": {"tone": True, "language": True}},
        "output": {
            "enabled": True,
            "options": {"format": True, "quality": True, "style": True, "templates": True},
        },
    },
    "analytics": {"usage": {"enabled": True, "metrics": ["tokens", "api_calls"]}},
}
"""Content Writer Pro (AI Tools Inc): output settings and a writing style, no widget."""

DATA_SYNC: dict[str, Any] = {
    "category": "automation",
    "subcategory": {"automation": "scheduled"},
    "tags": ["ops"],
    "interfaces": {
        "api": {
            "enabled": True,
            "protocols": ["rest"],
            "authentication": ["api_key"],
            "features": {"webhooks": True},
        },
    },
    "configuration": {
        "workflow": {"enabled": True, "options": {"schedule": True, "actions": True, "secrets": True}},
        "workflowAdvanced": {
            "detail": {
                "triggers": {
                    "schedule": {"types": ["interval", "cron"], "minInterval": "15m", "timezone": True}
                },
                "data": {"secrets": {"maxSecrets": 10}},
                "monitoring": {
                    "alerts": {"enabled": True, "conditions": ["failure"], "channels": ["email", "slack"]},
                },
            },
        },
    },
    "runtime": {"dependencies": {"services": ["salesforce", "postgresql"]}},
    "analytics": {
        "usage": {"enabled": True, "metrics": ["executions", "api_calls"]},
        "alerts": {"enabled": True, "types": ["failure", "error_rate"]},
    },
}
"""Data Sync Automation (Integration Co): an hourly schedule, Salesforce and PostgreSQL connections,
credentials by name, alerts; runs through the automation defaults' advanced workflow."""


def snapshot(document: dict[str, Any]) -> ProductCapabilities:
    return ensure_valid(document)


# ── random valid products ────────────────────────────────────────────────


def _switches(rng: random.Random, names: list[str], at_least_one: bool = True) -> dict[str, bool]:
    chosen = {name: rng.random() < 0.5 for name in names}
    if at_least_one and not any(chosen.values()):
        chosen[rng.choice(names)] = True
    return chosen


def _subset(rng: random.Random, values: list[str]) -> list[str]:
    picked = [value for value in values if rng.random() < 0.5]
    return picked or [rng.choice(values)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _options(rng: random.Random, model: type[Any]) -> dict[str, Any]:
    names = [_camel(name) if name != "custom_css" else "customCSS" for name in model.model_fields]
    return {"enabled": True, "options": _switches(rng, names)}


def _random_draft(rng: random.Random) -> dict[str, Any]:
    category = rng.choice(["agent", "app", "assistant", "automation"])
    sub = {"agent": "single", "app": "tool", "assistant": rng.choice(["writer", "image", "general"]),
           "automation": rng.choice(["workflow", "hybrid"])}[category]  # fmt: skip
    on = lambda: rng.random() < 0.5  # noqa: E731
    chat = on()
    interfaces: dict[str, Any] = {
        "chat": {"enabled": True, "modes": _subset(rng, ["text", "voice"])} if chat else {"enabled": False},
        "widget": {
            "enabled": True,
            "types": _subset(rng, ["floating", "inline", "fullpage", "popup"]),
            "customization": _switches(rng, list(WidgetCustomization.model_fields), at_least_one=False),
        }
        if on()
        else {"enabled": False},
        "api": {
            "enabled": True,
            "protocols": _subset(rng, ["rest", "graphql", "mcp"]),
            "authentication": _subset(rng, ["api_key", "oauth2"]),
        },
        "integrations": {"enabled": True, "platforms": _subset(rng, ["slack", "teams", "email"])}
        if on()
        else {"enabled": False},
    }
    if not on():
        interfaces["api"] = {"enabled": False}
        interfaces["chat"] = {"enabled": True, "modes": ["text"]}
        chat = True
    configuration: dict[str, Any] = {}
    for block, model in (
        ("persona", PersonaOptions),
        ("conversation", ConversationOptions),
        ("branding", BrandingOptions),
        ("output", OutputOptions),
        ("workflow", WorkflowOptions),
    ):
        configuration[block] = _options(rng, model) if on() else {"enabled": False}
    if not chat:
        configuration["conversation"] = {"enabled": False}
    configuration["knowledge"] = {"enabled": on(), "sources": {"documents": True}}
    rag_on = on()
    configuration["rag"] = {
        "enabled": rag_on,
        "sources": {"documents": True, "websites": on(), "qaPairs": on()} if rag_on else {},
        "retrieval": {"topK": rng.randint(1, 20), "method": rng.choice(["vector", "hybrid", "keyword"]),
                      "reranking": on(), "citations": on()} if rag_on else {},
    }  # fmt: skip
    if not configuration["knowledge"]["enabled"]:
        configuration["knowledge"] = {"enabled": False}
    if not rag_on:
        configuration["rag"] = {"enabled": False}
    advanced = on()
    configuration["workflowAdvanced"] = (
        {
            "enabled": True,
            "triggers": {"schedule": on(), "manual": True},
            "actions": {"http": True},
            "data": {"variables": on(), "secrets": on()},
        }
        if advanced
        else {"enabled": False}
    )
    if category == "automation" and not advanced:
        configuration["workflow"] = {"enabled": True, "options": {"actions": True, "schedule": on()}}
    analytics = {
        "usage": {"enabled": True, "metrics": _subset(rng, ["messages", "tokens", "api_calls"])}
        if on()
        else {"enabled": False},
        "alerts": {"enabled": True, "types": _subset(rng, ["failure", "usage_limit"])}
        if on()
        else {"enabled": False},
    }
    services = ["salesforce"] if on() else []
    return {
        "category": category,
        "subcategory": {category: sub},
        "interfaces": interfaces,
        "configuration": configuration,
        "analytics": analytics,
        "runtime": {"dependencies": {"services": services}},
    }


def random_products(seed: int, count: int) -> list[ProductCapabilities]:
    """`count` random valid products (drafts the rules reject are skipped)."""
    rng = random.Random(seed)
    products = []
    while len(products) < count:
        result = validate_capabilities(_random_draft(rng))
        if result.capabilities is not None:
            products.append(result.capabilities)
    return products
