"""The rules a buyer's section values must satisfy against the capability snapshot bought.

Two kinds, kept apart because they answer differently (docs/configuration.md):

- *forbidden* (403): the buyer sets something the seller did not enable — an option switched off, a widget
  type not offered, a retrieval method the product does not run. Each error's `path` is the buyer's field
  and its message names the capability path that forbids it.
- *limits* (422): the value is of an enabled kind but outside a limit (the seller's or the platform's), or
  contradicts another value. The message names the limit's capability path when the seller set it.

The `workflow` section's rules are in `configuration_workflow`. Each function takes the snapshot, the raw keys the buyer gave (wire names; a key counts even when its
value was malformed, so a forbidden field is reported as forbidden, not as a type error) and the parsed
settings (malformed values already dropped), and returns `FieldError`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from cmp.capabilities.base import WireModel
from cmp.capabilities.buyer_models import (
    BrandingSettings,
    OutputSettings,
    PersonaSettings,
    RagSettings,
    WidgetSettings,
)
from cmp.capabilities.models import ProductCapabilities
from cmp.errors import FieldError
from cmp.text import with_article

OPTION_SECTIONS = ("persona", "conversation", "branding", "output")
"""Sections whose fields are switched one by one by `configuration.<section>.options.<field>`."""
SECTION_ONLY_FIELDS: dict[str, frozenset[str]] = {"branding": frozenset({"company_name", "tagline"})}
"""Fields that need only their section enabled (no option of their own)."""
WIDGET_CUSTOMIZATIONS = ("theme", "colors", "position", "size", "avatar", "launcher")

FORMATS_BY_SUBCATEGORY: dict[str, tuple[str, ...]] = {
    "writer": ("markdown", "html", "text", "docx", "pdf"),
    "image": ("png", "jpeg", "webp"),
    "voice": ("mp3", "wav", "ogg"),
    "video": ("mp4", "webm"),
    "code": ("text", "markdown"),
    "data": ("csv", "json", "xlsx"),
    "general": ("markdown", "text", "html", "json"),
}
"""Output formats an assistant of each subcategory can produce; other categories may use any."""

METHODS_WITHIN: dict[str, tuple[str, ...]] = {
    "hybrid": ("hybrid", "vector", "keyword"),
    "vector": ("vector",),
    "keyword": ("keyword",),
}
"""Retrieval methods a buyer may choose under the product's: hybrid runs both searches, so either alone is
a narrowing; a single method cannot be widened."""

_UNSAFE_CSS = (
    ("<", "must not contain '<' (it could close the style element)"),
    ("@import", "must not use @import (styles load from this field only)"),
    ("expression(", "must not use expression()"),
    ("javascript:", "must not contain javascript: links"),
    ("behavior:", "must not use behavior:"),
    ("-moz-binding", "must not use -moz-binding"),
)


def wire(model: type[BaseModel], name: str) -> str:
    """The wire (camelCase) name of a Python field name."""
    return model.model_fields[name].alias or name


def disabled(path: str, closing: Iterable[str]) -> list[FieldError]:
    """One 403 error at `path` per capability switch in `closing`."""
    return [FieldError(path, f"{switch} is disabled for this product") for switch in closing]


def duplicates(values: Sequence[str], path: str, fold: bool = False) -> list[FieldError]:
    """A 422 error at `path[i]` for each value already listed before it (ignoring case when `fold`)."""
    seen: set[str] = set()
    errors = []
    for index, value in enumerate(values):
        key = value.casefold() if fold else value
        if key in seen:
            errors.append(FieldError(f"{path}[{index}]", f"'{value[:60]}' is listed twice"))
        seen.add(key)
    return errors


# ── forbidden (403) ──────────────────────────────────────────────────────


def forbidden_options(
    section: str, caps: ProductCapabilities, given: set[str], model: type[WireModel]
) -> list[FieldError]:
    """persona, conversation, branding, output: every given field needs its option switched on."""
    options = getattr(caps.configuration, section).options
    only_section = SECTION_ONLY_FIELDS.get(section, frozenset())
    errors = []
    for name in model.model_fields:
        if wire(model, name) in given and name not in only_section and not getattr(options, name):
            errors.append(
                FieldError(
                    wire(model, name),
                    f"configuration.{section}.options.{wire(type(options), name)} is disabled for this product",
                )
            )
    return errors


def forbidden_widget(
    caps: ProductCapabilities, given: set[str], settings: WidgetSettings
) -> list[FieldError]:
    """403s: each customization needs `interfaces.widget.customization.<name>`; the type must be one of
    `interfaces.widget.types`."""
    widget = caps.interfaces.widget
    errors = [
        FieldError(name, f"interfaces.widget.customization.{name} is disabled for this product")
        for name in WIDGET_CUSTOMIZATIONS
        if name in given and not getattr(widget.customization, name)
    ]
    if settings.type is not None and settings.type not in widget.types:
        errors.append(
            FieldError(
                "type",
                f"interfaces.widget.types does not include '{settings.type}' for this product "
                f"(it offers {', '.join(widget.types)})",
            )
        )
    return errors


def forbidden_rag(caps: ProductCapabilities, given: set[str], settings: RagSettings) -> list[FieldError]:
    """403s: a buyer may narrow the product's retrieval, never widen it. topK changes only when the RAG
    detail leaves search customizable (or gives no detail); the method stays within the product's
    (`METHODS_WITHIN`); reranking and citations only where the product has them; strict mode cannot be
    turned off; the fallback is the product's or `refuse`."""
    rag = caps.configuration.rag
    retrieval, grounding = rag.retrieval, rag.grounding
    errors = []
    search = rag.detail.retrieval.search if rag.detail is not None else None
    if (
        settings.top_k is not None
        and settings.top_k != retrieval.top_k
        and search
        and not search.customizable
    ):
        errors.append(
            FieldError(
                "topK",
                "configuration.rag.detail.retrieval.search.customizable is off for this product: "
                f"topK stays {retrieval.top_k}",
            )
        )
    allowed = METHODS_WITHIN[retrieval.method]
    if settings.method is not None and settings.method not in allowed:
        errors.append(
            FieldError(
                "method",
                f"configuration.rag.retrieval.method is '{retrieval.method}' for this product, which allows "
                f"only {', '.join(allowed)}",
            )
        )
    for name, offered in (("reranking", retrieval.reranking), ("citations", retrieval.citations)):
        if getattr(settings, name) is True and not offered:
            errors.append(
                FieldError(name, f"configuration.rag.retrieval.{name} is disabled for this product")
            )
    if settings.strict_mode is False and grounding.strict_mode:
        errors.append(
            FieldError(
                "strictMode",
                "configuration.rag.grounding.strictMode is on for this product: answers come only from the "
                "knowledge base, and a buyer cannot turn that off",
            )
        )
    choices = tuple(dict.fromkeys((grounding.fallback, "refuse")))
    if settings.fallback is not None and settings.fallback not in choices:
        errors.append(
            FieldError(
                "fallback",
                f"configuration.rag.grounding.fallback is '{grounding.fallback}' for this product; "
                f"choose {' or '.join(repr(choice) for choice in choices)}",
            )
        )
    return errors


# ── limits and contradictions (422) ──────────────────────────────────────


def limits_persona(caps: ProductCapabilities, settings: PersonaSettings) -> list[FieldError]:
    """422s: no tone twice, and not both formal and casual."""
    tones = list(settings.tone or [])
    errors = duplicates(tones, "tone")
    if "formal" in tones and "casual" in tones:
        errors.append(FieldError("tone", "formal and casual contradict each other; choose one"))
    return errors


def limits_branding(caps: ProductCapabilities, settings: BrandingSettings) -> list[FieldError]:
    """422s: custom CSS that could leave its style element, run script or load anything but https."""
    css = (settings.custom_css or "").lower()
    errors = [FieldError("customCSS", message) for token, message in _UNSAFE_CSS if token in css]
    for match in re.finditer(r"url\(\s*['\"]?([^'\")\s]*)", css):
        if not match.group(1).startswith("https://"):
            errors.append(FieldError("customCSS", "url() may only load https:// resources"))
            break
    return errors


def limits_output(caps: ProductCapabilities, settings: OutputSettings) -> list[FieldError]:
    """422s: a format the kind of assistant produces (`FORMATS_BY_SUBCATEGORY`); template names unique,
    ignoring case."""
    errors = []
    subcategory = caps.subcategory.assistant if caps.category == "assistant" else None
    formats = FORMATS_BY_SUBCATEGORY.get(subcategory or "")
    if settings.format is not None and formats is not None and settings.format not in formats:
        errors.append(
            FieldError(
                "format",
                f"{with_article(subcategory)} assistant produces {', '.join(formats)} "
                f"(got '{settings.format}')",
            )
        )
    names = [template.name for template in settings.templates or []]
    errors += [
        FieldError(f"{error.path}.name", error.message) for error in duplicates(names, "templates", fold=True)
    ]
    return errors


def limits_rag(caps: ProductCapabilities, settings: RagSettings) -> list[FieldError]:
    """422s: topK at most the product's `configuration.rag.retrieval.topK`; strict mode (the buyer's or the
    product's) never with the `general` fallback (the seller-side rule, docs/capabilities.md)."""
    retrieval, grounding = caps.configuration.rag.retrieval, caps.configuration.rag.grounding
    errors = []
    if settings.top_k is not None and settings.top_k > retrieval.top_k:
        errors.append(
            FieldError(
                "topK",
                f"must be at most {retrieval.top_k}, the product's configuration.rag.retrieval.topK "
                f"(got {settings.top_k})",
            )
        )
    strict = settings.strict_mode if settings.strict_mode is not None else grounding.strict_mode
    fallback = settings.fallback or grounding.fallback
    if strict and fallback == "general":
        choices = " or ".join(
            f"'{c}'" for c in dict.fromkeys(("refuse", grounding.fallback)) if c != "general"
        )
        errors.append(
            FieldError(
                "fallback",
                "strictMode answers only from the knowledge base, so fallback 'general' contradicts it"
                f"{' (the product default)' if settings.fallback is None else ''}; set fallback to {choices}",
            )
        )
    return errors


def limits_widget(caps: ProductCapabilities, settings: WidgetSettings) -> list[FieldError]:
    """422s: position and launcher belong to the floating widget; a fullpage widget has no size. The type
    is the buyer's, else the product's first."""
    kind = settings.type or (caps.interfaces.widget.types[0] if caps.interfaces.widget.types else None)
    errors = []
    for name in ("position", "launcher"):
        if getattr(settings, name) is not None and kind != "floating":
            errors.append(FieldError(name, f"applies to the floating widget only (this one is '{kind}')"))
    if settings.size is not None and kind == "fullpage":
        errors.append(FieldError("size", "a fullpage widget fills the page; leave size out"))
    return errors
