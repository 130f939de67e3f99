"""Buyer configuration bounded by the capability snapshot the buyer bought (spec Part 1, "CONFIGURATION
CAPABILITIES"; Part 6 and Part 7 for the RAG and workflow limits).

The API the subscription routes use (`GET`/`PUT /v1/subscriptions/{id}/configuration/{section}`):

- `SECTIONS`: the section names in dashboard order; `enabled_sections(snapshot)` those this product opens.
- `check_section(snapshot, section)`: raises `NotFound` (unknown name) or `Forbidden` (closed section), so
  a GET answers like a PUT.
- `validate_section(snapshot, section, values)`: the document to store for a PUT, or an error (below).
- `default_configuration(snapshot, product_name=...)`: what every open section holds when a subscription
  starts.

**A PUT replaces the section.** The stored document is exactly the fields sent (normalised), so a field left
out is unset and the product's own behaviour applies; the exceptions are the values the runtime always
needs, which are filled with the product's: every `rag` field, the widget `type`, a schedule's `timezone`
(`UTC`). A document read back from the store always validates again unchanged.

**Errors, in this order** (each lists every problem of its kind; paths are the buyer's fields, relative to
the section, e.g. `tone`, `colors.primary`, `alerts[0].to`):

1. unknown section → `NotFound` (404);
2. the section is closed → `Forbidden` (403), one error at path `""`;
3. the body is not a JSON object → `ValidationFailed` (422);
4. any field the seller did not open → `Forbidden` (403), one error per field naming the capability path
   that forbids it; a malformed value of a forbidden field still counts as forbidden;
5. wrong types, formats, limits and contradictions → `ValidationFailed` (422), all together; a limit the
   seller set is named by its capability path.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from cmp.capabilities.buyer_models import SETTINGS_MODELS
from cmp.capabilities.configuration_rules import (
    FORMATS_BY_SUBCATEGORY,
    OPTION_SECTIONS,
    forbidden_options,
    forbidden_rag,
    forbidden_widget,
    limits_branding,
    limits_output,
    limits_persona,
    limits_rag,
    limits_widget,
)
from cmp.capabilities.configuration_sections import (
    SECTIONS,
    disabled_message,
    enabled_sections,
    section_enabled,
)
from cmp.capabilities.configuration_workflow import forbidden_workflow, limits_workflow
from cmp.capabilities.cron import parse_cron
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.parsing import canonical_keys, parse_tolerant, show
from cmp.errors import FieldError, Forbidden, NotFound, ValidationFailed

__all__ = [
    "SECTIONS",
    "check_section",
    "default_configuration",
    "enabled_sections",
    "section_enabled",
    "validate_section",
]

FORBIDDEN: dict[str, Callable[[ProductCapabilities, set[str], Any], list[FieldError]]] = {
    "rag": forbidden_rag,
    "workflow": forbidden_workflow,
    "widget": forbidden_widget,
}
"""Sections whose 403 rules are their own; the option sections share `forbidden_options`."""
LIMITS: dict[str, Callable[[ProductCapabilities, Any], list[FieldError]]] = {
    "rag": limits_rag,
    "persona": limits_persona,
    "branding": limits_branding,
    "output": limits_output,
    "workflow": limits_workflow,
    "widget": limits_widget,
}

DEFAULT_WELCOME = "Hi! How can I help you today?"
DEFAULT_FALLBACK = "Sorry, I did not understand that. Could you say it another way?"
DEFAULT_HANDOFF = "Let me connect you with a person who can help."


def check_section(snapshot: ProductCapabilities, section: str) -> None:
    """Raise `NotFound` for an unknown section name, `Forbidden` when this product does not open it."""
    if section not in SECTIONS:
        raise NotFound(
            f"unknown configuration section '{section[:40]}'; the sections are {', '.join(SECTIONS)}"
        )
    if not section_enabled(snapshot, section):
        raise Forbidden(
            f"this product has no {section} configuration", errors=[FieldError("", disabled_message(section))]
        )


def validate_section(snapshot: ProductCapabilities, section: str, values: object) -> dict[str, Any]:
    """The normalised camelCase document to store for `section`, from a buyer's `values` (parsed JSON).

    Raises `NotFound`, `Forbidden` or `ValidationFailed` as the module docstring orders them. Field names
    may be camelCase or snake_case; the result is camelCase without nulls.
    """
    check_section(snapshot, section)
    model = SETTINGS_MODELS[section]
    if not isinstance(values, dict):
        raise ValidationFailed(
            f"the {section} configuration is invalid",
            errors=[FieldError("", f"must be a JSON object (got {show(values)})")],
        )
    data = canonical_keys(copy.deepcopy(values), model)
    given = {key for key, value in data.items() if isinstance(key, str) and value is not None}
    parsed, type_errors = parse_tolerant(model, data)
    if parsed is None:
        raise ValidationFailed(f"the {section} configuration is invalid", errors=type_errors)
    if section in OPTION_SECTIONS:
        forbidden = forbidden_options(section, snapshot, given, model)
    else:
        forbidden = FORBIDDEN[section](snapshot, given, parsed)
    if forbidden:
        raise Forbidden(
            f"this product does not let you set these {section} fields",
            errors=_in_field_order(forbidden, model),
        )
    rejected = [error.path for error in type_errors]
    limits = LIMITS[section](snapshot, parsed) if section in LIMITS else []
    errors = type_errors + [error for error in limits if not any(_overlaps(error.path, p) for p in rejected)]
    if errors:
        raise ValidationFailed(
            f"the {section} configuration is invalid", errors=_in_field_order(errors, model)
        )
    return _normalised(snapshot, section, parsed.model_dump(by_alias=True, exclude_none=True, mode="json"))


def _overlaps(path: str, rejected: str) -> bool:
    """A limit error about a value pydantic already rejected (the value itself, inside it, or the object
    holding it, which lost the value) would only repeat the type error."""
    return any(
        longer == shorter or longer.startswith((f"{shorter}.", f"{shorter}["))
        for longer, shorter in ((path, rejected), (rejected, path))
    )


def _in_field_order(errors: list[FieldError], model: type[BaseModel]) -> list[FieldError]:
    """Errors ordered by the section's fields (stable within a field); unknown fields last."""
    order = {(info.alias or name): index for index, (name, info) in enumerate(model.model_fields.items())}

    def position(error: FieldError) -> int:
        head = re.split(r"[.\[]", error.path, maxsplit=1)[0]
        return order.get(head, len(order))

    return sorted(errors, key=position)


def _normalised(snapshot: ProductCapabilities, section: str, document: dict[str, Any]) -> dict[str, Any]:
    """Fill the values the runtime always needs with the product's, and spell the schedule one way."""
    if section == "rag":
        return {**_product_rag(snapshot), **document}
    if section == "widget":
        return {"type": snapshot.interfaces.widget.types[0], **document}
    schedule = document.get("schedule")
    if section == "workflow" and isinstance(schedule, dict):
        schedule.setdefault("timezone", "UTC")
        if "cron" in schedule:
            schedule["cron"] = parse_cron(schedule["cron"]).expression
    return document


def _product_rag(snapshot: ProductCapabilities) -> dict[str, Any]:
    rag = snapshot.configuration.rag
    return {
        "topK": rag.retrieval.top_k,
        "method": rag.retrieval.method,
        "reranking": rag.retrieval.reranking,
        "citations": rag.retrieval.citations,
        "strictMode": rag.grounding.strict_mode,
        "fallback": rag.grounding.fallback,
    }


def default_configuration(
    snapshot: ProductCapabilities, *, product_name: str | None = None
) -> dict[str, dict[str, Any]]:
    """Section name → the document a new subscription starts with, for every section the product opens.

    Each default validates unchanged (`validate_section(snapshot, s, d[s]) == d[s]`). They hold only what
    makes the product usable at once: the product's RAG settings; the persona named after the product
    (`product_name`, when the name option is on), professional, answering in the user's language; a
    welcome, fallback and hand-off message when those options are on; the product's first widget type
    (floating ones bottom-right, themed automatically); the first output format of the assistant's kind,
    balanced quality, medium length. Branding and workflow start empty: nothing runs on a schedule until
    the buyer sets one.
    """
    config = snapshot.configuration
    defaults: dict[str, dict[str, Any]] = {}
    for section in enabled_sections(snapshot):
        document: dict[str, Any] = {}
        if section == "rag":
            document = _product_rag(snapshot)
        elif section == "persona":
            options = config.persona.options
            if options.name and product_name and product_name.strip():
                document["name"] = product_name.strip()[:80].strip()
            if options.tone:
                document["tone"] = ["professional"]
            if options.language:
                document["language"] = "auto"
        elif section == "conversation":
            chat = config.conversation.options
            for on, key, text in (
                (chat.welcome_message, "welcomeMessage", DEFAULT_WELCOME),
                (chat.fallback_message, "fallbackMessage", DEFAULT_FALLBACK),
                (chat.handoff_message, "handoffMessage", DEFAULT_HANDOFF),
            ):
                if on:
                    document[key] = text
        elif section == "output":
            output = config.output.options
            kind = snapshot.subcategory.assistant if snapshot.category == "assistant" else None
            if output.format:
                document["format"] = FORMATS_BY_SUBCATEGORY.get(kind or "", ("markdown",))[0]
            if output.quality:
                document["quality"] = "balanced"
            if output.style:
                document["style"] = {"length": "medium"}
        elif section == "widget":
            widget = snapshot.interfaces.widget
            document["type"] = widget.types[0]
            if widget.customization.theme:
                document["theme"] = "auto"
            if widget.customization.position and widget.types[0] == "floating":
                document["position"] = "bottom-right"
        defaults[section] = document
    return defaults
