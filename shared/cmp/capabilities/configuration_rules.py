"""The rules a buyer's section values must satisfy against the capability snapshot bought.

Two kinds, kept apart because they answer differently (docs/configuration.md):

- *forbidden* (403): the buyer sets something the seller did not enable — an option switched off, a widget
  type not offered, a retrieval method the product does not run. Each error's `path` is the buyer's field
  and its message names the capability path that forbids it.
- *limits* (422): the value is of an enabled kind but outside a limit (the seller's or the platform's), or
  contradicts another value. The message names the limit's capability path when the seller set it.

Each function takes the snapshot, the raw keys the buyer gave (wire names; a key counts even when its
value was malformed, so a forbidden field is reported as forbidden, not as a type error) and the parsed
settings (malformed values already dropped), and returns `FieldError`s.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from cmp.capabilities.base import WireModel
from cmp.capabilities.buyer_models import (
    MAX_VARIABLE_SIZE,
    MAX_VARIABLES,
    AlertRule,
    BrandingSettings,
    OutputSettings,
    PersonaSettings,
    RagSettings,
    Schedule,
    WidgetSettings,
    WorkflowSettings,
)
from cmp.capabilities.configuration_sections import workflow_closing
from cmp.capabilities.cron import CronError, describe_minutes, interval_minutes, min_gap_minutes, parse_cron
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.models import ProductCapabilities
from cmp.errors import FieldError

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

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TIMEZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")
_SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9_\-]{0,79}")
_UNSAFE_CSS = (
    ("<", "must not contain '<' (it could close the style element)"),
    ("@import", "must not use @import (styles load from this field only)"),
    ("expression(", "must not use expression()"),
    ("javascript:", "must not contain javascript: links"),
    ("behavior:", "must not use behavior:"),
    ("-moz-binding", "must not use -moz-binding"),
)

Rule = Callable[[ProductCapabilities, set[str], Any], list[FieldError]]


def wire(model: type[BaseModel], name: str) -> str:
    """The wire (camelCase) name of a Python field name."""
    return model.model_fields[name].alias or name


def _disabled(path: str, closing: Iterable[str]) -> list[FieldError]:
    return [FieldError(path, f"{switch} is disabled for this product") for switch in closing]


def _duplicates(values: Sequence[str], path: str, fold: bool = False) -> list[FieldError]:
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


def _variable_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


def forbidden_workflow(
    caps: ProductCapabilities, given: set[str], settings: WorkflowSettings
) -> list[FieldError]:
    errors = []
    if "schedule" in given:
        errors += _disabled("schedule", workflow_closing(caps, "schedule"))
    if "variables" in given:
        errors += _disabled("variables", workflow_closing(caps, "variables"))
    if "secrets" in given:
        errors += _disabled("secrets", workflow_closing(caps, "secrets"))
    alerts = caps.analytics.alerts
    if "alerts" in given and not alerts.enabled:
        errors.append(FieldError("alerts", "analytics.alerts is disabled for this product"))
    if errors:
        return errors
    advanced = caps.configuration.workflow_advanced
    detail = advanced.detail if advanced.enabled else None
    if detail is not None and settings.schedule is not None:
        errors += _forbidden_schedule(settings.schedule, detail.triggers.schedule)
    if detail is not None and settings.variables and detail.data.variables.types:
        allowed = detail.data.variables.types
        for name, value in settings.variables.items():
            kind = _variable_type(value)
            if value is not None and kind not in allowed:
                errors.append(
                    FieldError(
                        f"variables.{name}",
                        f"configuration.workflowAdvanced.detail.data.variables.types does not include '{kind}' "
                        f"for this product (it allows {', '.join(allowed)})",
                    )
                )
    for index, rule in enumerate(settings.alerts or []):
        if rule.on not in alerts.types:
            errors.append(
                FieldError(
                    f"alerts[{index}].on",
                    f"analytics.alerts.types does not include '{rule.on}' for this product "
                    f"(it offers {', '.join(alerts.types)})",
                )
            )
        monitoring = detail.monitoring.alerts if detail is not None else None
        if monitoring is not None and monitoring.enabled and rule.channel not in monitoring.channels:
            errors.append(
                FieldError(
                    f"alerts[{index}].channel",
                    "configuration.workflowAdvanced.detail.monitoring.alerts.channels does not include "
                    f"'{rule.channel}' for this product (it offers {', '.join(monitoring.channels)})",
                )
            )
    return errors


def _forbidden_schedule(schedule: Schedule, allowed: Any) -> list[FieldError]:
    """`allowed` is the workflow detail's `triggers.schedule` (types, timezone)."""
    errors = []
    base = "configuration.workflowAdvanced.detail.triggers.schedule"
    if schedule.timezone not in (None, "UTC") and not allowed.timezone:
        errors.append(
            FieldError(
                "schedule.timezone", f"{base}.timezone is disabled for this product: schedules run in UTC"
            )
        )
    if not allowed.types:
        return errors
    kind, field = None, "schedule"
    if schedule.interval is not None and schedule.cron is None:
        kind, field = "interval", "schedule.interval"
    elif schedule.cron is not None and schedule.interval is None:
        try:
            kind, field = parse_cron(schedule.cron).kind(), "schedule.cron"
        except CronError:
            kind = None  # reported as a 422 by the limits
    if (
        kind is not None
        and kind not in allowed.types
        and not (kind != "interval" and "cron" in allowed.types)
    ):
        errors.append(
            FieldError(
                field,
                f"{base}.types does not include '{kind}' for this product (it allows {', '.join(allowed.types)})",
            )
        )
    return errors


# ── limits and contradictions (422) ──────────────────────────────────────


def limits_persona(caps: ProductCapabilities, settings: PersonaSettings) -> list[FieldError]:
    tones = list(settings.tone or [])
    errors = _duplicates(tones, "tone")
    if "formal" in tones and "casual" in tones:
        errors.append(FieldError("tone", "formal and casual contradict each other; choose one"))
    return errors


def limits_branding(caps: ProductCapabilities, settings: BrandingSettings) -> list[FieldError]:
    css = (settings.custom_css or "").lower()
    errors = [FieldError("customCSS", message) for token, message in _UNSAFE_CSS if token in css]
    for match in re.finditer(r"url\(\s*['\"]?([^'\")\s]*)", css):
        if not match.group(1).startswith("https://"):
            errors.append(FieldError("customCSS", "url() may only load https:// resources"))
            break
    return errors


def limits_output(caps: ProductCapabilities, settings: OutputSettings) -> list[FieldError]:
    errors = []
    subcategory = caps.subcategory.assistant if caps.category == "assistant" else None
    formats = FORMATS_BY_SUBCATEGORY.get(subcategory or "")
    if settings.format is not None and formats is not None and settings.format not in formats:
        errors.append(
            FieldError(
                "format", f"a {subcategory} assistant produces {', '.join(formats)} (got '{settings.format}')"
            )
        )
    names = [template.name for template in settings.templates or []]
    errors += [
        FieldError(f"{error.path}.name", error.message)
        for error in _duplicates(names, "templates", fold=True)
    ]
    return errors


def limits_rag(caps: ProductCapabilities, settings: RagSettings) -> list[FieldError]:
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
    kind = settings.type or (caps.interfaces.widget.types[0] if caps.interfaces.widget.types else None)
    errors = []
    for name in ("position", "launcher"):
        if getattr(settings, name) is not None and kind != "floating":
            errors.append(FieldError(name, f"applies to the floating widget only (this one is '{kind}')"))
    if settings.size is not None and kind == "fullpage":
        errors.append(FieldError("size", "a fullpage widget fills the page; leave size out"))
    return errors


def limits_workflow(caps: ProductCapabilities, settings: WorkflowSettings) -> list[FieldError]:
    advanced = caps.configuration.workflow_advanced
    detail = advanced.detail if advanced.enabled else None
    errors = []
    if settings.schedule is not None:
        errors += _schedule_limits(
            settings.schedule, detail.triggers.schedule.min_interval if detail else None
        )
    errors += _variable_limits(settings.variables or {})
    secrets = list(settings.secrets or [])
    errors += _duplicates(secrets, "secrets")
    max_secrets = detail.data.secrets.max_secrets if detail is not None else PLATFORM_MAXIMA.secrets
    if len(secrets) > max_secrets:
        source = (
            "configuration.workflowAdvanced.detail.data.secrets.maxSecrets"
            if detail is not None
            else "the platform maximum"
        )
        errors.append(FieldError("secrets", f"at most {max_secrets} secrets: {source} (got {len(secrets)})"))
    errors += _alert_limits(settings.alerts or [], set(secrets))
    return errors


def _schedule_limits(schedule: Schedule, min_interval: str | None) -> list[FieldError]:
    if (schedule.cron is None) == (schedule.interval is None):
        return [FieldError("schedule", "give either cron or interval (one of them)")]
    errors = []
    if schedule.timezone is not None and not _valid_timezone(schedule.timezone):
        errors.append(
            FieldError(
                "schedule.timezone",
                f"must be an IANA time zone such as 'UTC' or 'Europe/Paris' (got '{schedule.timezone[:64]}')",
            )
        )
    field = "schedule.cron" if schedule.cron is not None else "schedule.interval"
    try:
        gap = min_gap_minutes(parse_cron(schedule.cron)) if schedule.cron is not None else None
        gap = gap if gap is not None else interval_minutes(schedule.interval or "")
    except CronError as e:
        return [*errors, FieldError(field, str(e))]
    limit_s = _seconds(min_interval) if min_interval is not None else PLATFORM_MAXIMA.min_schedule_interval_s
    if gap * 60 < limit_s:
        source = (
            f"configuration.workflowAdvanced.detail.triggers.schedule.minInterval is {min_interval}"
            if min_interval is not None
            else "schedules fire at most once a minute"
        )
        errors.append(
            FieldError(
                field,
                f"fires every {describe_minutes(gap)} at the closest, more often than allowed: {source}",
            )
        )
    return errors


def _seconds(duration: str) -> int:
    """`"30s"`, `"5m"`, `"1h"`, `"1d"` (the capability Interval format) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(duration[:-1]) * units[duration[-1]]


def _valid_timezone(name: str) -> bool:
    if name == "UTC":
        return True
    if _TIMEZONE.fullmatch(name) is None:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _variable_limits(variables: dict[str, Any]) -> list[FieldError]:
    errors = []
    if len(variables) > MAX_VARIABLES:
        errors.append(
            FieldError(
                "variables", f"at most {MAX_VARIABLES} variables, the platform maximum (got {len(variables)})"
            )
        )
    for name, value in variables.items():
        path = f"variables.{name[:64]}"
        if _VARIABLE_NAME.fullmatch(name) is None:
            errors.append(
                FieldError(path, "a variable name is a letter or _ then letters, digits or _ (at most 64)")
            )
        elif value is None:
            errors.append(FieldError(path, "must not be null; leave the variable out instead"))
        elif len(json.dumps(value, separators=(",", ":"))) > MAX_VARIABLE_SIZE:
            errors.append(FieldError(path, f"must be at most {MAX_VARIABLE_SIZE} characters long as JSON"))
    return errors


def _alert_limits(rules: list[AlertRule], secrets: set[str]) -> list[FieldError]:
    errors = []
    seen: set[tuple[str, str, str]] = set()
    for index, rule in enumerate(rules):
        path = f"alerts[{index}]"
        problem = _alert_target_problem(rule, secrets)
        if problem is not None:
            errors.append(FieldError(f"{path}.to", problem))
        key = (rule.on, rule.channel, rule.to)
        if key in seen:
            errors.append(FieldError(path, "the same alert is listed twice"))
        seen.add(key)
    return errors


def _alert_target_problem(rule: AlertRule, secrets: set[str]) -> str | None:
    """What is wrong with `rule.to` for its channel, or None. Never echoes a PagerDuty target (it may be a
    pasted routing key)."""
    to = rule.to
    if rule.channel == "email" and re.fullmatch(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+", to) is None:
        return "must be an e-mail address for the email channel"
    if rule.channel == "slack" and _SLACK_CHANNEL.fullmatch(to) is None:
        return "must be a Slack channel such as #data-ops for the slack channel"
    if rule.channel == "webhook" and (not to.startswith("https://") or re.search(r"\s", to)):
        return "must be an https:// URL for the webhook channel"
    if rule.channel == "pagerduty" and to not in secrets:
        return (
            "must name one of this workflow's secrets (holding the PagerDuty routing key), e.g. PAGERDUTY_KEY"
        )
    return None


LIMITS: dict[str, Callable[[ProductCapabilities, Any], list[FieldError]]] = {
    "rag": limits_rag,
    "persona": limits_persona,
    "branding": limits_branding,
    "output": limits_output,
    "workflow": limits_workflow,
    "widget": limits_widget,
}
FORBIDDEN: dict[str, Rule] = {
    "rag": forbidden_rag,
    "workflow": forbidden_workflow,
    "widget": forbidden_widget,
}
