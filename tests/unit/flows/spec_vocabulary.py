"""The ProductCapabilities shape of spec Part 1, as the tests need it to judge a proposed draft.

Kept here (not imported from the product code) so a typo in an importer cannot also hide in the check.
"""

from __future__ import annotations

from typing import Any

SUBCATEGORIES: dict[str, set[str]] = {
    "agent": {"single", "multi", "swarm", "orchestrator"},
    "app": {"agentic", "tool", "connector", "integration"},
    "assistant": {"writer", "image", "voice", "video", "code", "data", "general"},
    "automation": {"workflow", "scheduled", "triggered", "hybrid"},
}

BOOL = "bool"
NUMBER = "number"
STRINGS = "strings"

_FLAGS = dict.fromkeys
CAPABILITY_SHAPE: dict[str, Any] = {
    "tags": {"sales", "marketing", "support", "hr", "finance", "ops", "dev", "general"},
    "interfaces": {
        "chat": {
            "enabled": BOOL,
            "modes": {"text", "voice", "video"},
            "features": _FLAGS(
                ["streaming", "fileUpload", "imageInput", "multiTurn", "suggestedReplies"], BOOL
            ),
        },
        "widget": {
            "enabled": BOOL,
            "types": {"floating", "inline", "fullpage", "popup"},
            "customization": _FLAGS(["theme", "colors", "position", "size", "avatar", "launcher"], BOOL),
        },
        "api": {
            "enabled": BOOL,
            "protocols": {"rest", "graphql", "websocket", "mcp"},
            "authentication": {"api_key", "oauth2", "jwt"},
            "features": _FLAGS(["webhooks", "callbacks", "batch"], BOOL),
        },
        "integrations": {
            "enabled": BOOL,
            "platforms": {"slack", "teams", "discord", "whatsapp", "telegram", "email"},
        },
    },
    "configuration": {
        "knowledge": {
            "enabled": BOOL,
            "sources": _FLAGS(["documents", "websites", "databases", "apis", "qaFiles"], BOOL),
            "limits": _FLAGS(["maxDocuments", "maxSizeMB", "maxUrls"], NUMBER),
        },
        "persona": {
            "enabled": BOOL,
            "options": _FLAGS(["name", "avatar", "tone", "language", "instructions", "boundaries"], BOOL),
        },
        "workflow": {
            "enabled": BOOL,
            "options": _FLAGS(
                ["triggers", "schedule", "conditions", "actions", "variables", "secrets"], BOOL
            ),
        },
        "rag": {
            "enabled": BOOL,
            "sources": _FLAGS(["documents", "websites", "qaPairs", "databases", "apis"], BOOL),
            "limits": _FLAGS(["maxDocuments", "maxSizeMB", "maxUrls", "maxChunks"], NUMBER),
            "retrieval": {
                "topK": NUMBER,
                "method": {"vector", "hybrid", "keyword"},
                "reranking": BOOL,
                "citations": BOOL,
            },
            "grounding": {"strictMode": BOOL, "fallback": {"refuse", "general", "escalate"}},
        },
        "workflowAdvanced": {
            "enabled": BOOL,
            "triggers": _FLAGS(["webhook", "schedule", "event", "manual", "api"], BOOL),
            "flow": _FLAGS(
                ["conditionals", "loops", "parallelExecution", "subWorkflows", "errorHandling"], BOOL
            ),
            "actions": _FLAGS(["http", "database", "ai", "messaging", "storage", "transform", "code"], BOOL),
            "data": _FLAGS(["variables", "secrets", "statePersistence"], BOOL),
        },
    },
    "runtime": {
        "deployment": {"shared", "dedicated", "hybrid"},
        "dependencies": _FLAGS(["models", "services", "mcpServers"], STRINGS),
    },
}


def shape_violations(draft: dict[str, Any]) -> list[str]:
    """Every path in a proposed draft that the spec does not define, or whose value has the wrong kind."""
    problems: list[str] = []
    category = draft.get("category")
    subcategory = draft.get("subcategory")
    if category not in SUBCATEGORIES:
        problems.append(f"category: {category!r}")
    elif not isinstance(subcategory, dict) or list(subcategory) != [category]:
        problems.append(f"subcategory: {subcategory!r} does not match category {category!r}")
    elif subcategory[category] not in SUBCATEGORIES[category]:
        problems.append(f"subcategory.{category}: {subcategory[category]!r}")
    rest = {key: value for key, value in draft.items() if key not in ("category", "subcategory")}
    pending: list[tuple[str, Any, Any]] = [("", rest, CAPABILITY_SHAPE)]
    while pending:
        path, value, shape = pending.pop()
        if isinstance(shape, dict):
            if not isinstance(value, dict):
                problems.append(f"{path}: expected an object")
                continue
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else key
                if key not in shape:
                    problems.append(f"{child_path}: not in the spec")
                else:
                    pending.append((child_path, child, shape[key]))
        elif shape == BOOL and not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean")
        elif shape == NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems.append(f"{path}: expected a number")
        elif shape == STRINGS and not (
            isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        ):
            problems.append(f"{path}: expected a non-empty list of strings")
        elif isinstance(shape, set):
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and not value:
                problems.append(f"{path}: empty list proposed")
            problems.extend(
                f"{path}: {item!r} not one of {sorted(shape)}" for item in values if item not in shape
            )
    return problems
