"""Semantic rules on a merged, typed capability document: what types alone cannot say.

Each rule yields `FieldError`s; `validate_capabilities` runs them all and reports every error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, get_args

from pydantic import BaseModel

from cmp.capabilities.enums import CATEGORIES, ENTERPRISE_DEPLOYMENTS
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.paths import is_set
from cmp.errors import FieldError

Rule = Callable[[ProductCapabilities, dict[str, Any]], Iterator[FieldError]]

ENTERPRISE_HINT = "set runtime.deployment to 'dedicated' or 'hybrid'"


def _choices(model: type[BaseModel], field: str) -> str:
    """The allowed values of a list-of-literals field, for messages."""
    annotation = model.model_fields[field].annotation
    return ", ".join(str(value) for value in get_args(get_args(annotation)[0]))


def _switches(block: BaseModel) -> str:
    return ", ".join(info.alias or name for name, info in type(block).model_fields.items())


def _any_on(block: BaseModel) -> bool:
    return any(value is True for value in block.model_dump().values())


def check_category(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """Category is required; the subcategory object has exactly the category's key, valued from its list."""
    category = doc.category
    given = doc.subcategory.model_dump(exclude_none=True)
    if category is None:
        yield FieldError("category", f"is required: one of {', '.join(CATEGORIES)}")
        if not given:
            yield FieldError(
                "subcategory", 'is required: an object naming the category, e.g. {"agent": "single"}'
            )
        return
    choices = ", ".join(CATEGORIES[category])
    mismatched = [key for key in given if key != category]
    for key in mismatched:
        yield FieldError(
            f"subcategory.{key}",
            f"does not match category '{category}'; use subcategory.{category} (one of {choices})",
        )
    if category not in given and not mismatched:
        yield FieldError(f"subcategory.{category}", f"is required: one of {choices}")


def check_essentials(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """An enabled block must offer something: a mode, a type, a protocol, a source, an option..."""
    i, c, a = doc.interfaces, doc.configuration, doc.analytics
    chat, widget, api = i.chat, i.widget, i.api
    if chat.enabled and not chat.modes:
        yield FieldError(
            "interfaces.chat.modes",
            f"chat is enabled, so add at least one mode ({_choices(type(chat), 'modes')})",
        )
    if widget.enabled and not widget.types:
        yield FieldError(
            "interfaces.widget.types",
            f"the widget is enabled, so add at least one type ({_choices(type(widget), 'types')})",
        )
    if api.enabled and not api.protocols:
        yield FieldError(
            "interfaces.api.protocols",
            f"the API is enabled, so add at least one protocol ({_choices(type(api), 'protocols')})",
        )
    if api.enabled and not api.authentication:
        yield FieldError(
            "interfaces.api.authentication",
            "the API is enabled, so add at least one authentication method "
            f"({_choices(type(api), 'authentication')})",
        )
    if i.integrations.enabled and not i.integrations.platforms:
        yield FieldError(
            "interfaces.integrations.platforms",
            "integrations are enabled, so add at least one platform "
            f"({_choices(type(i.integrations), 'platforms')})",
        )
    switch_groups: list[tuple[str, str, bool, BaseModel]] = [
        ("configuration.knowledge.sources", "the knowledge base", c.knowledge.enabled, c.knowledge.sources),
        ("configuration.rag.sources", "RAG", c.rag.enabled, c.rag.sources),
        (
            "configuration.workflowAdvanced.triggers",
            "the advanced workflow",
            c.workflow_advanced.enabled,
            c.workflow_advanced.triggers,
        ),
        (
            "configuration.workflowAdvanced.actions",
            "the advanced workflow",
            c.workflow_advanced.enabled,
            c.workflow_advanced.actions,
        ),
        ("configuration.persona.options", "persona", c.persona.enabled, c.persona.options),
        (
            "configuration.conversation.options",
            "conversation",
            c.conversation.enabled,
            c.conversation.options,
        ),
        ("configuration.branding.options", "branding", c.branding.enabled, c.branding.options),
        ("configuration.workflow.options", "workflow", c.workflow.enabled, c.workflow.options),
        ("configuration.output.options", "output", c.output.enabled, c.output.options),
        (
            "analytics.conversations.features",
            "conversation analytics",
            a.conversations.enabled,
            a.conversations.features,
        ),
        ("analytics.insights.features", "insights", a.insights.enabled, a.insights.features),
    ]
    for path, label, enabled, group in switch_groups:
        if enabled and not _any_on(group):
            noun = path.rsplit(".", 1)[1]
            yield FieldError(
                path, f"{label} is enabled, so switch on at least one of its {noun} ({_switches(group)})"
            )
    if a.usage.enabled and not a.usage.metrics:
        yield FieldError(
            "analytics.usage.metrics",
            f"usage analytics is enabled, so add at least one metric ({_choices(type(a.usage), 'metrics')})",
        )
    if a.alerts.enabled and not a.alerts.types:
        yield FieldError(
            "analytics.alerts.types",
            f"alerts are enabled, so add at least one alert type ({_choices(type(a.alerts), 'types')})",
        )


def _in_range(
    path: str, value: int, low: int, high: int, unit: str, why: str = "the platform maximum"
) -> Iterator[FieldError]:
    if value < low:
        yield FieldError(path, f"must be at least {low} (got {value})")
    elif value > high:
        yield FieldError(path, f"must be at most {high:,} {unit}, {why} (got {value:,})")


def check_limits(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """Every limit is positive and within PLATFORM_MAXIMA; topK within 1..50; timeout by deployment."""
    m = PLATFORM_MAXIMA
    knowledge, rag, runtime = (
        doc.configuration.knowledge.limits,
        doc.configuration.rag.limits,
        doc.runtime.limits,
    )
    yield from _in_range(
        "configuration.knowledge.limits.maxDocuments",
        knowledge.max_documents,
        1,
        m.max_documents,
        "documents",
    )
    yield from _in_range(
        "configuration.knowledge.limits.maxSizeMB", knowledge.max_size_mb, 1, m.max_size_mb, "MB"
    )
    yield from _in_range("configuration.knowledge.limits.maxUrls", knowledge.max_urls, 1, m.max_urls, "URLs")
    yield from _in_range(
        "configuration.rag.limits.maxDocuments", rag.max_documents, 1, m.max_documents, "documents"
    )
    yield from _in_range("configuration.rag.limits.maxSizeMB", rag.max_size_mb, 1, m.max_size_mb, "MB")
    yield from _in_range("configuration.rag.limits.maxUrls", rag.max_urls, 1, m.max_urls, "URLs")
    yield from _in_range("configuration.rag.limits.maxChunks", rag.max_chunks, 1, m.max_chunks, "chunks")
    yield from _in_range(
        "configuration.rag.retrieval.topK", doc.configuration.rag.retrieval.top_k, 1, m.top_k, "results"
    )
    yield from _in_range(
        "runtime.limits.rateLimit", runtime.rate_limit, 1, m.rate_limit_rpm, "requests per minute"
    )
    yield from _in_range(
        "runtime.limits.concurrency", runtime.concurrency, 1, m.concurrency, "concurrent sessions"
    )
    if doc.runtime.deployment in ENTERPRISE_DEPLOYMENTS:
        yield from _in_range("runtime.limits.timeout", runtime.timeout, 1, m.timeout_dedicated_s, "seconds")
    else:
        yield from _in_range(
            "runtime.limits.timeout",
            runtime.timeout,
            1,
            m.timeout_shared_s,
            "seconds",
            f"on the shared runtime (dedicated and hybrid allow up to {m.timeout_dedicated_s:,})",
        )


def check_enterprise_only(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """Code execution, database/API sources and GPUs need a runtime of the seller's own."""
    if doc.runtime.deployment in ENTERPRISE_DEPLOYMENTS:
        return
    rag, advanced = doc.configuration.rag, doc.configuration.workflow_advanced
    if advanced.enabled and advanced.actions.code:
        yield FieldError(
            "configuration.workflowAdvanced.actions.code",
            f"code actions are enterprise only: {ENTERPRISE_HINT}",
        )
    if rag.enabled and rag.sources.databases:
        yield FieldError(
            "configuration.rag.sources.databases", f"database sources are enterprise only: {ENTERPRISE_HINT}"
        )
    if rag.enabled and rag.sources.apis:
        yield FieldError(
            "configuration.rag.sources.apis", f"API sources are enterprise only: {ENTERPRISE_HINT}"
        )
    if doc.runtime.compute.cpu == "gpu":
        yield FieldError(
            "runtime.compute.cpu", f"GPUs are only available on dedicated hardware: {ENTERPRISE_HINT}"
        )


def check_grounding(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """Strict grounding answers only from the knowledge base: a general-knowledge fallback contradicts it."""
    grounding = doc.configuration.rag.grounding
    if doc.configuration.rag.enabled and grounding.strict_mode and grounding.fallback == "general":
        inherited = (
            "" if is_set(seller, "configuration.rag.grounding.fallback") else " ('general' is the default)"
        )
        yield FieldError(
            "configuration.rag.grounding.fallback",
            "strictMode answers only from the knowledge base, so fallback 'general' contradicts it"
            f"{inherited}; use 'refuse' or 'escalate'",
        )


def check_category_fit(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """What each category needs to be what it claims to be (judged only once the category is known)."""
    if doc.category is None:
        return
    i, c = doc.interfaces, doc.configuration
    any_interface = i.chat.enabled or i.widget.enabled or i.api.enabled or i.integrations.enabled
    if doc.category == "agent" and not (i.chat.enabled or i.api.enabled):
        yield FieldError(
            "interfaces", "an agent needs interfaces.chat or interfaces.api enabled so people can talk to it"
        )
    elif not any_interface:
        yield FieldError(
            "interfaces", "no interface is enabled: enable at least one of chat, widget, api or integrations"
        )
    if doc.category == "automation" and not (c.workflow.enabled or c.workflow_advanced.enabled):
        yield FieldError(
            "configuration",
            "an automation needs configuration.workflow or configuration.workflowAdvanced enabled",
        )
    advanced = c.workflow_advanced
    if doc.subcategory.automation == "scheduled":
        scheduled = (advanced.enabled and advanced.triggers.schedule) or (
            c.workflow.enabled and c.workflow.options.schedule
        )
        if not scheduled:
            yield FieldError(
                "subcategory.automation",
                "a scheduled automation needs a schedule: switch on "
                "configuration.workflowAdvanced.triggers.schedule or configuration.workflow.options.schedule",
            )
    if doc.subcategory.automation == "triggered":
        triggers = advanced.triggers
        triggered = (advanced.enabled and (triggers.webhook or triggers.event or triggers.api)) or (
            c.workflow.enabled and c.workflow.options.triggers
        )
        if not triggered:
            yield FieldError(
                "subcategory.automation",
                "a triggered automation needs a trigger: switch on a webhook, event or api trigger in "
                "configuration.workflowAdvanced.triggers, or configuration.workflow.options.triggers",
            )


def _duplicates(node: object, path: str) -> Iterator[FieldError]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _duplicates(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        seen: set[object] = set()
        for index, item in enumerate(node):
            if item in seen:
                yield FieldError(f"{path}[{index}]", f"{item!r} is listed twice")
            seen.add(item)


def check_duplicates(doc: ProductCapabilities, seller: dict[str, Any]) -> Iterator[FieldError]:
    """No list names the same thing twice."""
    yield from _duplicates(doc.model_dump(by_alias=True, exclude_none=True), "")


MASTER_RULES: tuple[Rule, ...] = (
    check_category,
    check_essentials,
    check_limits,
    check_enterprise_only,
    check_grounding,
    check_category_fit,
    check_duplicates,
)
