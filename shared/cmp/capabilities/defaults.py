"""Category defaults (spec CATEGORY_DEFAULTS) and the merge that puts a seller's draft on top of them."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.parsing import canonical_keys

CATEGORY_DEFAULTS: dict[str, dict[str, Any]] = {
    "agent": {
        "interfaces": {
            "chat": {"enabled": True, "modes": ["text"], "features": {"multiTurn": True, "streaming": True}},
            "widget": {
                "enabled": True,
                "types": ["floating"],
                "customization": {"theme": True, "colors": True},
            },
            "api": {"enabled": True, "protocols": ["rest", "mcp"], "authentication": ["api_key"]},
        },
        "configuration": {
            "knowledge": {"enabled": True, "sources": {"documents": True, "qaFiles": True}},
            "persona": {"enabled": True, "options": {"name": True, "tone": True, "instructions": True}},
            "conversation": {"enabled": True, "options": {"welcomeMessage": True, "suggestedPrompts": True}},
            "rag": {
                "enabled": True,
                "sources": {
                    "documents": True,
                    "websites": True,
                    "qaPairs": True,
                    "databases": False,
                    "apis": False,
                },
                "limits": {"maxDocuments": 50, "maxSizeMB": 500, "maxUrls": 100, "maxChunks": 50000},
                "retrieval": {"topK": 5, "method": "hybrid", "reranking": True, "citations": True},
                "grounding": {"strictMode": False, "fallback": "general"},
            },
        },
        "analytics": {
            "usage": {"enabled": True, "metrics": ["messages", "sessions", "users"]},
            "conversations": {"enabled": True, "features": {"transcripts": True}},
        },
    },
    "app": {
        "interfaces": {
            "chat": {"enabled": False},
            "widget": {"enabled": True, "types": ["inline", "fullpage"]},
            "api": {
                "enabled": True,
                "protocols": ["rest", "graphql"],
                "authentication": ["api_key", "oauth2"],
            },
            "integrations": {"enabled": True, "platforms": ["slack", "teams"]},
        },
        "configuration": {
            "knowledge": {"enabled": False},
            "persona": {"enabled": False},
            "workflow": {"enabled": True, "options": {"triggers": True, "actions": True, "variables": True}},
        },
        "analytics": {
            "usage": {"enabled": True, "metrics": ["api_calls", "compute_time"]},
        },
    },
    "assistant": {
        "interfaces": {
            "chat": {
                "enabled": True,
                "modes": ["text"],
                "features": {"fileUpload": True, "imageInput": True},
            },
            "widget": {"enabled": True, "types": ["inline", "popup"]},
            "api": {"enabled": True, "protocols": ["rest"], "authentication": ["api_key"]},
        },
        "configuration": {
            "knowledge": {"enabled": False},
            "persona": {"enabled": True, "options": {"tone": True, "language": True}},
            "output": {
                "enabled": True,
                "options": {"format": True, "quality": True, "style": True, "templates": True},
            },
        },
        "analytics": {
            "usage": {"enabled": True, "metrics": ["tokens", "api_calls"]},
        },
    },
    "automation": {
        "interfaces": {
            "chat": {"enabled": False},
            "widget": {"enabled": False},
            "api": {
                "enabled": True,
                "protocols": ["rest", "websocket"],
                "authentication": ["api_key"],
                "features": {"webhooks": True},
            },
        },
        "configuration": {
            "knowledge": {"enabled": False},
            "persona": {"enabled": False},
            "workflow": {
                "enabled": True,
                "options": {
                    "triggers": True,
                    "schedule": True,
                    "conditions": True,
                    "actions": True,
                    "secrets": True,
                },
            },
            "workflowAdvanced": {
                "enabled": True,
                "triggers": {"webhook": True, "schedule": True, "event": True, "manual": True, "api": True},
                "flow": {
                    "conditionals": True,
                    "loops": True,
                    "parallelExecution": True,
                    "subWorkflows": False,
                    "errorHandling": True,
                },
                "actions": {
                    "http": True,
                    "database": True,
                    "ai": True,
                    "messaging": True,
                    "storage": True,
                    "transform": True,
                    "code": False,
                },
                "data": {"variables": True, "secrets": True, "statePersistence": True},
            },
        },
        "analytics": {
            "usage": {"enabled": True, "metrics": ["api_calls", "compute_time", "executions"]},
            "alerts": {"enabled": True, "types": ["error_rate", "latency", "failure"]},
        },
    },
}
"""Spec Part 1 CATEGORY_DEFAULTS, verbatim, in wire (camelCase) form."""


@cache
def _base_document() -> dict[str, Any]:
    return ProductCapabilities().model_dump(by_alias=True, exclude_none=True)


def base_document() -> dict[str, Any]:
    """Every field's schema default as a camelCase document (a fresh copy each call). Built on first use, so
    importing this module does not build the capability models' validators."""
    return copy.deepcopy(_base_document())


def deep_merge(base: dict[Any, Any], override: dict[Any, Any]) -> dict[Any, Any]:
    """`override` on top of `base`: nested objects merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        if isinstance(below, dict) and isinstance(value, dict):
            merged[key] = deep_merge(below, value)
        else:
            merged[key] = value
    return merged


def category_defaults(category: object) -> dict[str, Any]:
    """A private copy of the category's defaults; empty for an unknown category."""
    if isinstance(category, str) and category in CATEGORY_DEFAULTS:
        return copy.deepcopy(CATEGORY_DEFAULTS[category])
    return {}


def merge_with_defaults(draft: dict[str, Any]) -> dict[str, Any]:
    """The seller's draft over its category defaults over the model defaults, not yet validated.

    Keys are rewritten to their camelCase spelling first; unknown keys are carried over untouched
    (validation reports them). The stored form is `validate_capabilities(draft).capabilities.to_document()`,
    which also switches off what a disabled block inherited.
    """
    if not isinstance(draft, dict):
        raise TypeError(f"a capability draft must be a JSON object, got {type(draft).__name__}")
    canonical = canonical_keys(draft, ProductCapabilities)
    base = deep_merge(base_document(), category_defaults(canonical.get("category")))
    return deep_merge(base, canonical)
