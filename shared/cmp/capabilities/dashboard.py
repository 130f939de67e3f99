"""The adaptive product dashboard (spec Part 3, "Adaptive Product Dashboard"): which sections a buyer's
portal shows for a product, in order, each with its current state. Pure: the caller gathers the facts
(`DashboardState`) and `dashboard_descriptor(snapshot, state)` decides; `GET /v1/subscriptions/{id}/
dashboard` returns `[section.to_dict() for section in ...]`.

The order follows the spec's `ProductDashboard`: overview (always), the start slot, configure (when
anything is configurable), integrate (from the interfaces), analytics (when `analytics.usage.enabled`).

- **The start slot** is `status` for a product that runs workflows without chat or widget (the spec's
  automation: last and next run), `start_creating` for one with output settings (the assistant: its
  templates), else `quick_start` with steps for the first of widget, API, integrations and chat.
- **Configure** holds `training` (knowledge and RAG, with the `rag` settings: the spec's Knowledge Base
  Manager carries them), `persona` (with the conversation messages, as the spec's agent shows its welcome
  there; titled "Writing style" when the persona has no name or avatar; `conversation` when only that is
  on), `branding`, `output`, `schedule`, `connections` (`runtime.dependencies.services`), `credentials`
  (secret names), `variables`, `alerts`.
- **Integrate** holds `widget` (with the `widget` settings, as the spec puts "Customize" there),
  `api_keys`, `mcp` (when the API speaks MCP), `integrations`.

Each subsection's `data.edits` names the configuration sections (`cmp.capabilities.configuration`) it
edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cmp.capabilities.configuration_sections import section_enabled, workflow_field_open
from cmp.capabilities.dashboard_text import (
    ago,
    count,
    describe_schedule,
    from_now,
    status_label,
    usage_text,
)

if TYPE_CHECKING:
    from cmp.capabilities.models import ProductCapabilities


@dataclass(frozen=True)
class LastRun:
    """A finished run: when it finished, whether it succeeded, and its workflow's name (None: not known)."""

    at: datetime
    succeeded: bool
    workflow: str | None = None


@dataclass(frozen=True)
class DashboardState:
    """The facts about one subscription the descriptor needs; every default means "nothing yet"."""

    status: str = "active"
    """The subscription's status (`provisioning`, `active`, `past_due`, ...)."""
    product_name: str | None = None
    plan_name: str | None = None
    configuration: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The stored section documents (section name → document), defaults included."""
    configured: frozenset[str] = frozenset()
    """Sections the buyer has saved at least once (the rest still hold their defaults)."""
    documents: int = 0
    qa_pairs: int = 0
    websites: int = 0
    active_api_keys: int = 0
    widget_tokens: int = 0
    widget_origins: int = 0
    """Allowed origins across the widget tokens: the sites the widget is live on."""
    usage: Mapping[str, int] = field(default_factory=dict)
    """Usage metric (`messages`, `api_calls`, ...) → amount this billing period, in its metered unit
    (`compute_time` in milliseconds; `dashboard_text.usage_from_metering`)."""
    limits: Mapping[str, int | None] = field(default_factory=dict)
    """Usage metric → the plan's limit, None when unlimited (`dashboard_text.limits_from_plan`)."""
    connected_services: frozenset[str] = frozenset()
    """Names from `runtime.dependencies.services` the buyer has connected."""
    connected_platforms: frozenset[str] = frozenset()
    """Integration platforms (`slack`, ...) the buyer has connected."""
    secrets_set: frozenset[str] = frozenset()
    """Secret names that hold a value (the subscription's stored workflow secrets)."""
    schedules: tuple[Mapping[str, Any], ...] = ()
    """The schedules its workflows fire on, each as the workflow section stores one (`{"cron" | "interval",
    "timezone"}`); they come before the section's own `schedule`, which nothing fires."""
    workflow_alerts: tuple[Mapping[str, Any], ...] = ()
    """The failure alerts its active workflows' active versions send (`{"workflow", "channel"}`, one per
    entry of a definition's `alerts.onFailure`), beside the alerts saved in the workflow section."""
    last_run: LastRun | None = None
    next_run: datetime | None = None
    now: datetime | None = None
    """For "5 minutes ago" / "in 55 minutes"; without it, times are given without words."""


@dataclass(frozen=True)
class DashboardSection:
    """One section or subsection. `complete` is whether it is set up (None where that means nothing);
    `data` holds what the portal shows in it (snake_case keys, like every API field; the
    configuration documents under `values` are as stored, camelCase)."""

    id: str
    title: str
    state: str
    complete: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)
    sections: tuple[DashboardSection, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """`{"id", "title", "state", "complete", "data", "sections": [...]}`, JSON-ready."""
        return {
            "id": self.id,
            "title": self.title,
            "state": self.state,
            "complete": self.complete,
            "data": self.data,
            "sections": [section.to_dict() for section in self.sections],
        }


def dashboard_descriptor(snapshot: ProductCapabilities, state: DashboardState) -> list[DashboardSection]:
    """The sections of this product's dashboard, in order (see the module docstring)."""
    sections = [_overview(snapshot, state), _start(snapshot, state)]
    for group, title, parts in (
        ("configure", "Configure", _configure(snapshot, state)),
        ("integrate", "Integrate", _integrate(snapshot, state)),
    ):
        if parts:
            done = sum(1 for part in parts if part.complete)
            sections.append(
                DashboardSection(
                    group, title, f"{done} of {len(parts)} set up", done == len(parts), {}, parts
                )
            )
    if snapshot.analytics.usage.enabled:
        sections.append(_analytics(snapshot, state))
    return sections


def _overview(snapshot: ProductCapabilities, state: DashboardState) -> DashboardSection:
    category = snapshot.category or ""
    data = {
        "product_name": state.product_name,
        "status": state.status,
        "plan": state.plan_name,
        "category": category,
        "subcategory": getattr(snapshot.subcategory, category, None) if category else None,
        "tags": list(snapshot.tags),
    }
    return DashboardSection("overview", "Overview", status_label(state.status), None, data)


def _used(state: DashboardState) -> bool:
    return any(amount > 0 for amount in state.usage.values())


def _automation(snapshot: ProductCapabilities) -> bool:
    """The spec's automation: it runs workflows, without chat or widget."""
    interfaces, config = snapshot.interfaces, snapshot.configuration
    runs_workflows = config.workflow.enabled or config.workflow_advanced.enabled
    return runs_workflows and not interfaces.chat.enabled and not interfaces.widget.enabled


def _start(snapshot: ProductCapabilities, state: DashboardState) -> DashboardSection:
    config = snapshot.configuration
    if _automation(snapshot):
        return _status(state)
    if config.output.enabled:
        templates = [t.get("name") for t in state.configuration.get("output", {}).get("templates", [])]
        text = count(len(templates), "template") if templates else "No templates yet"
        return DashboardSection("start_creating", "Start creating", text, None, {"templates": templates})
    steps = _steps(snapshot, state)
    done = sum(1 for step in steps if step["done"])
    if done == len(steps):
        text = "Completed"
    else:
        text = "Not started" if done == 0 else f"{done} of {len(steps)} steps done"
    return DashboardSection("quick_start", "Quick start", text, done == len(steps), {"steps": steps})


def _steps(snapshot: ProductCapabilities, state: DashboardState) -> list[dict[str, Any]]:
    interfaces = snapshot.interfaces
    chat = interfaces.chat.enabled
    try_it = ("start_chatting", "Start chatting") if chat else ("try_it", "Try it")
    if interfaces.widget.enabled:
        plan = [
            ("get_embed_code", "Get embed code", state.widget_tokens > 0),
            ("add_to_site", "Add to site", state.widget_origins > 0),
            (*try_it, _used(state)),
        ]
    elif interfaces.api.enabled:
        plan = [("first_call", "Make your first call", _used(state))]
        if "api_key" in interfaces.api.authentication:
            plan.insert(0, ("create_api_key", "Create an API key", state.active_api_keys > 0))
    elif interfaces.integrations.enabled:
        plan = [
            ("connect_platform", "Connect a platform", bool(state.connected_platforms)),
            ("first_message", "Send a first message", _used(state)),
        ]
    else:
        plan = [(*try_it, _used(state))]
    return [{"id": step, "title": title, "done": done} for step, title, done in plan]


def _status(state: DashboardState) -> DashboardSection:
    run, now = state.last_run, state.now
    result = ("success" if run.succeeded else "failure") if run else None
    label = f"Last run of {run.workflow}" if run and run.workflow else "Last run"
    if run is None:
        text = "No runs yet"
    elif now is not None:
        text = f"{label} {ago(run.at, now)}: {result}"
    else:
        text = f"{label}: {result}"
    data = {
        "last_run": None if run is None else {
            "at": run.at.isoformat(), "succeeded": run.succeeded, "ago": ago(run.at, now) if now else None,
            "workflow": run.workflow,
        },
        "next_run": None if state.next_run is None else {
            "at": state.next_run.isoformat(), "in": from_now(state.next_run, now) if now else None,
        },
        "schedule": _schedule_text(state),
    }  # fmt: skip
    return DashboardSection("status", "Status", text, None, data)


def _schedule_text(state: DashboardState) -> str | None:
    """What the workflows fire on in words (`Every hour`; `2 schedules` when they differ), else the workflow
    section's saved schedule, else None."""
    firing = list(dict.fromkeys(filter(None, (describe_schedule(s) for s in state.schedules))))
    if firing:
        return firing[0] if len(firing) == 1 else count(len(firing), "schedule")
    saved = state.configuration.get("workflow", {}).get("schedule")
    return describe_schedule(saved) if isinstance(saved, Mapping) else None


def _configured(state: DashboardState, sections: list[str]) -> tuple[str, bool]:
    done = any(section in state.configured for section in sections)
    return ("Configured" if done else "Not configured"), done


def _configure(snapshot: ProductCapabilities, state: DashboardState) -> tuple[DashboardSection, ...]:
    config = snapshot.configuration
    parts: list[DashboardSection] = []
    if config.knowledge.enabled or config.rag.enabled:
        parts.append(_training(snapshot, state))
    talk = [section for section in ("persona", "conversation") if section_enabled(snapshot, section)]
    if talk:
        options = config.persona.options
        title = "Conversation" if talk == ["conversation"] else "Persona"
        if title == "Persona" and not (options.name or options.avatar):
            title = "Writing style"
        text, done = _configured(state, talk)
        parts.append(DashboardSection(talk[0], title, text, done, {"edits": talk, **_values(state, talk)}))
    for section, title in (("branding", "Branding"), ("output", "Output preferences")):
        if section_enabled(snapshot, section):
            text, done = _configured(state, [section])
            parts.append(
                DashboardSection(
                    section, title, text, done, {"edits": [section], **_values(state, [section])}
                )
            )
    parts.extend(_workflow_parts(snapshot, state))
    return tuple(parts)


def _values(state: DashboardState, sections: list[str]) -> dict[str, Any]:
    """The stored values of `sections`, merged, for the portal to show ("Name: Support Assistant")."""
    merged: dict[str, Any] = {}
    for section in sections:
        merged.update(state.configuration.get(section, {}))
    return {"values": merged}


def _training(snapshot: ProductCapabilities, state: DashboardState) -> DashboardSection:
    knowledge, rag = snapshot.configuration.knowledge, snapshot.configuration.rag
    on = {
        "documents": (knowledge.enabled and knowledge.sources.documents)
        or (rag.enabled and rag.sources.documents),
        "qa_pairs": (knowledge.enabled and knowledge.sources.qa_files)
        or (rag.enabled and rag.sources.qa_pairs),
        "websites": (knowledge.enabled and knowledge.sources.websites)
        or (rag.enabled and rag.sources.websites),
    }
    amounts = {"documents": state.documents, "qa_pairs": state.qa_pairs, "websites": state.websites}
    words = {"documents": "document", "qa_pairs": "Q&A pair", "websites": "website"}
    kinds = [kind for kind in amounts if on[kind]]
    summary = [count(amounts[kind], words[kind]) for kind in kinds]
    present = [count(amounts[kind], words[kind]) for kind in kinds if amounts[kind]]
    text = present[0] if present else "No knowledge yet"
    data: dict[str, Any] = {
        "edits": ["rag"] if rag.enabled else [],
        **{kind: amounts[kind] for kind in kinds},
        "summary": summary,
        "max_documents": rag.limits.max_documents if rag.enabled else knowledge.limits.max_documents,
    }
    return DashboardSection("training", "Training", text, bool(present), data)


def _workflow_parts(snapshot: ProductCapabilities, state: DashboardState) -> list[DashboardSection]:
    workflow = state.configuration.get("workflow", {})
    edits = {"edits": ["workflow"]}
    parts = []
    if workflow_field_open(snapshot, "schedule"):
        schedule = workflow.get("schedule")
        text = _schedule_text(state)
        data = {
            **edits,
            "schedule": dict(schedule) if isinstance(schedule, Mapping) else None,
            "firing": [dict(firing) for firing in state.schedules],
        }
        parts.append(
            DashboardSection("schedule", "Schedule", text or "Not scheduled", text is not None, data)
        )
    services = list(snapshot.runtime.dependencies.services)
    if services:
        linked = [{"name": name, "connected": name in state.connected_services} for name in services]
        done = sum(1 for service in linked if service["connected"])
        text = f"{done} of {len(services)} connected"
        parts.append(
            DashboardSection("connections", "Connections", text, done == len(services), {"services": linked})
        )
    if workflow_field_open(snapshot, "secrets"):
        names = list(dict.fromkeys([*workflow.get("secrets", []), *sorted(state.secrets_set)]))
        secrets = [{"name": name, "set": name in state.secrets_set} for name in names]
        filled = sum(1 for secret in secrets if secret["set"])
        text = "No secrets yet" if not names else count(len(names), "secret")
        if filled < len(names):
            text = f"{filled} of {len(names)} secrets set"
        parts.append(
            DashboardSection(
                "credentials",
                "Credentials",
                text,
                bool(names) and filled == len(names),
                {**edits, "secrets": secrets},
            )
        )
    if workflow_field_open(snapshot, "variables"):
        variables = dict(workflow.get("variables", {}))
        text = count(len(variables), "variable") if variables else "No variables"
        parts.append(
            DashboardSection(
                "variables", "Variables", text, bool(variables), {**edits, "names": sorted(variables)}
            )
        )
    if section_enabled(snapshot, "workflow") and snapshot.analytics.alerts.enabled:
        rules = list(workflow.get("alerts", []))
        own = [dict(alert) for alert in state.workflow_alerts]
        total = len(rules) + len(own)
        text = count(total, "alert") if total else "No alerts"
        data = {**edits, "alerts": rules, "workflow_alerts": own}
        parts.append(DashboardSection("alerts", "Alerts", text, total > 0, data))
    return parts


def _integrate(snapshot: ProductCapabilities, state: DashboardState) -> tuple[DashboardSection, ...]:
    interfaces = snapshot.interfaces
    parts = []
    if interfaces.widget.enabled:
        sites = state.widget_origins
        text = f"Live on {count(sites, 'site')}" if sites else "Not live yet"
        data = {"edits": ["widget"], "types": list(interfaces.widget.types), "sites": sites}
        parts.append(DashboardSection("widget", "Widget", text, sites > 0, data))
    api = interfaces.api
    keys = state.active_api_keys
    if api.enabled and "api_key" in api.authentication:
        text = count(keys, "active key") if keys else "No active keys"
        data = {"active": keys, "protocols": list(api.protocols)}
        parts.append(DashboardSection("api_keys", "API keys", text, keys > 0, data))
    if api.enabled and "mcp" in api.protocols:
        needs_key = "api_key" in api.authentication
        text = ("Ready" if keys else "Needs an API key") if needs_key else "Available"
        parts.append(
            DashboardSection(
                "mcp",
                "MCP connection",
                text,
                keys > 0 or not needs_key,
                {"authentication": list(api.authentication)},
            )
        )
    integrations = interfaces.integrations
    if integrations.enabled:
        platforms = [
            {"name": name, "connected": name in state.connected_platforms} for name in integrations.platforms
        ]
        done = sum(1 for platform in platforms if platform["connected"])
        text = f"{done} of {len(platforms)} connected"
        parts.append(
            DashboardSection("integrations", "Integrations", text, done > 0, {"platforms": platforms})
        )
    return tuple(parts)


def _analytics(snapshot: ProductCapabilities, state: DashboardState) -> DashboardSection:
    analytics = snapshot.analytics
    metrics: list[dict[str, Any]] = []
    for metric in analytics.usage.metrics:
        used, limit = state.usage.get(metric, 0), state.limits.get(metric)
        metrics.append(
            {"metric": metric, "used": used, "limit": limit, "text": usage_text(metric, used, limit)}
        )
    candidates = [m for m in metrics if m["limit"] is not None] or metrics
    lead = "executions" if _automation(snapshot) else None
    text = str(next((m for m in candidates if m["metric"] == lead), candidates[0])["text"])
    data: dict[str, Any] = {"metrics": metrics}
    for name, block in (("conversations", analytics.conversations), ("insights", analytics.insights)):
        if block.enabled:
            data[name] = [feature for feature, on in block.features if on is True]
    if analytics.alerts.enabled:
        data["alerts"] = list(analytics.alerts.types)
    return DashboardSection("analytics", "Analytics", text, None, data)
