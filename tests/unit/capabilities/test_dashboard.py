"""The adaptive dashboard descriptor: the spec's three example dashboards (Part 3), section by section and
in order, then how states change and which sections can never appear."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.unit.capabilities.buyer_products import (
    CONTENT_WRITER,
    DATA_SYNC,
    SUPPORT_AGENT,
    random_products,
    snapshot,
)

from cmp.capabilities import ProductCapabilities, ensure_valid
from cmp.capabilities.configuration import default_configuration, enabled_sections, validate_section
from cmp.capabilities.configuration_sections import workflow_field_open
from cmp.capabilities.dashboard import DashboardSection, DashboardState, LastRun, dashboard_descriptor
from cmp.capabilities.dashboard_text import limits_from_plan, usage_text
from cmp.capabilities.defaults import deep_merge

pytestmark = pytest.mark.unit

NOW = datetime(2024, 12, 14, 14, 5, tzinfo=UTC)

Outline = list[tuple[str, str, str, list[tuple[str, str, str]]]]


def outline(sections: list[DashboardSection]) -> Outline:
    """(id, title, state, [(id, title, state) of each subsection]) per section."""
    return [
        (s.id, s.title, s.state, [(sub.id, sub.title, sub.state) for sub in s.sections]) for s in sections
    ]


def by_id(sections: list[DashboardSection] | tuple[DashboardSection, ...], wanted: str) -> DashboardSection:
    for section in sections:
        if section.id == wanted:
            return section
        for sub in section.sections:
            if sub.id == wanted:
                return sub
    raise AssertionError(f"no section {wanted}")


def configured(caps: ProductCapabilities, saved: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The stored configuration of a subscription: defaults, then what the buyer saved (validated)."""
    stored: dict[str, Any] = default_configuration(caps, product_name=name)
    for section, values in saved.items():
        stored[section] = validate_section(caps, section, values)
    return stored


# ── the spec's three examples ────────────────────────────────────────────


def test_the_agent_dashboard_full_config() -> None:
    """Spec Part 3, "Example: Agent Dashboard (Full Config)": Quick Start completed (embed code, add to
    site, start chatting), Configure with Training [3 documents] / Persona [Configured] / Branding
    [Configured], Integrate with Widget [Live on 2 sites] / API Keys [2 active keys] / MCP Connection,
    and Analytics with 8,234 / 10,000 messages (the product card's "Pro Plan • 8,234 / 10,000 messages")."""
    caps = snapshot(SUPPORT_AGENT)
    saved = {
        "persona": {"name": "Support Assistant", "tone": ["professional", "friendly"]},
        "conversation": {"welcomeMessage": "Hi! I'm here to help with your questions..."},
        "branding": {"colors": {"primary": "#7c3aed"}, "logo": "https://cdn.acme.example/company-logo.png"},
    }
    state = DashboardState(
        status="active",
        product_name="Customer Support Agent",
        plan_name="Pro",
        configuration=configured(caps, saved, "Customer Support Agent"),
        configured=frozenset(saved),
        documents=3,
        qa_pairs=45,
        active_api_keys=2,
        widget_tokens=1,
        widget_origins=2,
        usage={"messages": 8234, "users": 1234, "sessions": 2051},
        limits=limits_from_plan({"messages": 10_000, "tokens": 1_000_000, "users": 5, "rateLimitRpm": 300}),
        now=NOW,
    )
    dashboard = dashboard_descriptor(caps, state)

    assert outline(dashboard) == [
        ("overview", "Overview", "Active", []),
        ("quick_start", "Quick start", "Completed", []),
        (
            "configure",
            "Configure",
            "3 of 3 set up",
            [
                ("training", "Training", "3 documents"),
                ("persona", "Persona", "Configured"),
                ("branding", "Branding", "Configured"),
            ],
        ),
        (
            "integrate",
            "Integrate",
            "3 of 3 set up",
            [
                ("widget", "Widget", "Live on 2 sites"),
                ("api_keys", "API keys", "2 active keys"),
                ("mcp", "MCP connection", "Ready"),
            ],
        ),
        ("analytics", "Analytics", "8,234 / 10,000 messages", []),
    ]
    assert [step["title"] for step in by_id(dashboard, "quick_start").data["steps"]] == [
        "Get embed code",
        "Add to site",
        "Start chatting",
    ]
    training = by_id(dashboard, "training").data
    assert training["summary"] == ["3 documents", "45 Q&A pairs", "0 websites"]
    assert training["edits"] == ["rag"]
    persona = by_id(dashboard, "persona").data
    assert persona["edits"] == ["persona", "conversation"]
    assert persona["values"] == {
        "name": "Support Assistant",
        "tone": ["professional", "friendly"],
        "welcomeMessage": "Hi! I'm here to help with your questions...",
    }
    assert by_id(dashboard, "branding").data["values"]["colors"] == {"primary": "#7c3aed"}
    assert by_id(dashboard, "widget").data["edits"] == ["widget"]
    assert [m["text"] for m in by_id(dashboard, "analytics").data["metrics"]] == [
        "8,234 / 10,000 messages",
        "1,234 users",
        "2,051 sessions",
    ]
    assert by_id(dashboard, "analytics").data["insights"] == ["satisfaction"]
    assert by_id(dashboard, "overview").data == {
        "product_name": "Customer Support Agent",
        "status": "active",
        "plan": "Pro",
        "category": "agent",
        "subcategory": "single",
        "tags": ["support"],
    }


def test_the_assistant_dashboard_simple_output_focused() -> None:
    """Spec Part 3, "Example: Assistant Dashboard (Simple - Output Focused)": Start Creating with its
    templates (Blog Post, Email, Social Media, Product Description), Settings with Writing Style and Output
    Preferences, the API tab, and 45,000 of 50,000 tokens."""
    caps = snapshot(CONTENT_WRITER)
    templates = ["Blog Post", "Email", "Social Media", "Product Description"]
    saved = {
        "persona": {"tone": ["professional"], "language": "en-US"},
        "output": {
            "format": "markdown",
            "style": {"length": "medium"},
            "templates": [
                {"name": name, "prompt": f"Write a {name.lower()} about {{topic}}"} for name in templates
            ],
        },
    }
    state = DashboardState(
        product_name="Content Writer Pro",
        plan_name="Starter",
        configuration=configured(caps, saved, "Content Writer Pro"),
        configured=frozenset(saved),
        active_api_keys=1,
        usage={"tokens": 45_000, "api_calls": 234},
        limits=limits_from_plan({"tokens": 50_000, "messages": 1000}),
    )
    dashboard = dashboard_descriptor(caps, state)

    assert outline(dashboard) == [
        ("overview", "Overview", "Active", []),
        ("start_creating", "Start creating", "4 templates", []),
        (
            "configure",
            "Configure",
            "2 of 2 set up",
            [
                ("persona", "Writing style", "Configured"),
                ("output", "Output preferences", "Configured"),
            ],
        ),
        ("integrate", "Integrate", "1 of 1 set up", [("api_keys", "API keys", "1 active key")]),
        ("analytics", "Analytics", "45,000 / 50,000 tokens", []),
    ]
    assert by_id(dashboard, "start_creating").data == {"templates": templates}
    assert by_id(dashboard, "persona").data["values"] == {"tone": ["professional"], "language": "en-US"}
    assert by_id(dashboard, "output").data["values"]["format"] == "markdown"


def test_the_automation_dashboard_workflow_focused() -> None:
    """Spec Part 3, "Example: Automation Dashboard (Workflow Focused)": Status (last run 5 minutes ago,
    success; next run in 55 minutes; every hour), Configuration with Schedule, Connections (Salesforce,
    PostgreSQL), Credentials (SALESFORCE_API_KEY, DATABASE_URL) and Alerts (on failure, e-mail).

    The spec's sketch shows no Integrate tab, but its `ProductDashboard` always renders the integration
    section and a product must offer an interface: this automation's REST API shows its keys there."""
    caps = snapshot(DATA_SYNC)
    saved = {
        "workflow": {
            "schedule": {"cron": "0 * * * *", "timezone": "UTC"},
            "secrets": ["SALESFORCE_API_KEY", "DATABASE_URL"],
            "alerts": [{"on": "failure", "channel": "email", "to": "admin@company.com"}],
        }
    }
    state = DashboardState(
        product_name="Data Sync Automation",
        plan_name="Pro",
        configuration=configured(caps, saved, "Data Sync Automation"),
        configured=frozenset(saved),
        connected_services=frozenset({"salesforce", "postgresql"}),
        secrets_set=frozenset({"SALESFORCE_API_KEY", "DATABASE_URL"}),
        active_api_keys=1,
        last_run=LastRun(at=NOW - timedelta(minutes=5), succeeded=True, workflow="Data Sync"),
        next_run=NOW + timedelta(minutes=55),
        now=NOW,
        usage={"executions": 1237, "api_calls": 12},
        limits=limits_from_plan({"executions": 5000}),
    )
    dashboard = dashboard_descriptor(caps, state)

    assert outline(dashboard) == [
        ("overview", "Overview", "Active", []),
        ("status", "Status", "Last run of Data Sync 5 minutes ago: success", []),
        (
            "configure",
            "Configure",
            "4 of 4 set up",
            [
                ("schedule", "Schedule", "Every hour"),
                ("connections", "Connections", "2 of 2 connected"),
                ("credentials", "Credentials", "2 secrets"),
                ("alerts", "Alerts", "1 alert"),
            ],
        ),
        ("integrate", "Integrate", "1 of 1 set up", [("api_keys", "API keys", "1 active key")]),
        ("analytics", "Analytics", "1,237 / 5,000 executions", []),
    ]
    assert by_id(dashboard, "status").data == {
        "last_run": {
            "at": "2024-12-14T14:00:00+00:00",
            "succeeded": True,
            "ago": "5 minutes ago",
            "workflow": "Data Sync",
        },
        "next_run": {"at": "2024-12-14T15:00:00+00:00", "in": "in 55 minutes"},
        "schedule": "Every hour",
    }
    assert by_id(dashboard, "connections").data["services"] == [
        {"name": "salesforce", "connected": True},
        {"name": "postgresql", "connected": True},
    ]
    assert by_id(dashboard, "credentials").data["secrets"] == [
        {"name": "SALESFORCE_API_KEY", "set": True},
        {"name": "DATABASE_URL", "set": True},
    ]
    assert by_id(dashboard, "alerts").data["alerts"] == [
        {"on": "failure", "channel": "email", "to": "admin@company.com"}
    ]
    assert by_id(dashboard, "analytics").data["alerts"] == ["failure", "error_rate"]


# ── states ───────────────────────────────────────────────────────────────


def test_a_new_agent_subscription_shows_what_is_left_to_do() -> None:
    caps = snapshot(SUPPORT_AGENT)
    state = DashboardState(
        status="provisioning",
        configuration=default_configuration(caps),
        limits=limits_from_plan({"messages": 10_000}),
    )
    assert outline(dashboard_descriptor(caps, state)) == [
        ("overview", "Overview", "Provisioning", []),
        ("quick_start", "Quick start", "Not started", []),
        (
            "configure",
            "Configure",
            "0 of 3 set up",
            [
                ("training", "Training", "No knowledge yet"),
                ("persona", "Persona", "Not configured"),
                ("branding", "Branding", "Not configured"),
            ],
        ),
        (
            "integrate",
            "Integrate",
            "0 of 3 set up",
            [
                ("widget", "Widget", "Not live yet"),
                ("api_keys", "API keys", "No active keys"),
                ("mcp", "MCP connection", "Needs an API key"),
            ],
        ),
        ("analytics", "Analytics", "0 / 10,000 messages", []),
    ]


def test_counts_in_the_singular_and_steps_part_done() -> None:
    caps = snapshot(SUPPORT_AGENT)
    state = DashboardState(qa_pairs=1, widget_tokens=1, widget_origins=1, active_api_keys=1)
    dashboard = dashboard_descriptor(caps, state)
    assert by_id(dashboard, "quick_start").state == "2 of 3 steps done"
    assert by_id(dashboard, "training").state == "1 Q&A pair"
    assert by_id(dashboard, "widget").state == "Live on 1 site"
    assert by_id(dashboard, "api_keys").state == "1 active key"
    assert by_id(dashboard, "analytics").state == "0 messages"


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("active", "Active"),
        ("past_due", "Payment due"),
        ("cancelled", "Cancelled"),
        ("suspended", "Suspended"),
    ],
)
def test_the_overview_badge(status: str, label: str) -> None:
    assert dashboard_descriptor(snapshot(SUPPORT_AGENT), DashboardState(status=status))[0].state == label


def test_automation_status_without_runs_without_a_clock_and_after_a_failure() -> None:
    caps = snapshot(DATA_SYNC)
    assert dashboard_descriptor(caps, DashboardState())[1].state == "No runs yet"
    failed = LastRun(at=NOW - timedelta(hours=3), succeeded=False)
    assert dashboard_descriptor(caps, DashboardState(last_run=failed))[1].state == "Last run: failure"
    status = dashboard_descriptor(caps, DashboardState(last_run=failed, now=NOW))[1]
    assert status.state == "Last run 3 hours ago: failure"
    assert status.data["last_run"]["ago"] == "3 hours ago" and status.data["schedule"] is None


def test_automation_configuration_not_yet_done() -> None:
    caps = snapshot(DATA_SYNC)
    workflow = validate_section(caps, "workflow", {"secrets": ["SALESFORCE_API_KEY", "DATABASE_URL"]})
    state = DashboardState(
        configuration={"workflow": workflow},
        secrets_set=frozenset({"DATABASE_URL"}),
        connected_services=frozenset({"salesforce"}),
    )
    configure = by_id(dashboard_descriptor(caps, state), "configure")
    assert [(s.id, s.state, s.complete) for s in configure.sections] == [
        ("schedule", "Not scheduled", False),
        ("connections", "1 of 2 connected", False),
        ("credentials", "1 of 2 secrets set", False),
        ("alerts", "No alerts", False),
    ]
    assert configure.state == "0 of 4 set up"


def test_schedules_in_other_time_zones_and_as_intervals() -> None:
    caps = snapshot(DATA_SYNC)
    for schedule, words in (
        ({"cron": "30 9 * * 1", "timezone": "Europe/Paris"}, "Every Monday at 09:30 (Europe/Paris)"),
        ({"interval": "2h"}, "Every 2 hours"),
    ):
        workflow = validate_section(caps, "workflow", {"schedule": schedule})
        dashboard = dashboard_descriptor(caps, DashboardState(configuration={"workflow": workflow}))
        assert by_id(dashboard, "schedule").state == words
        assert by_id(dashboard, "status").data["schedule"] == words


def _product(category: str, sub: str, **sections: Any) -> ProductCapabilities:
    return ensure_valid(deep_merge({"category": category, "subcategory": {category: sub}}, sections))


def test_quick_start_adapts_to_the_first_interface_offered() -> None:
    api_only = _product(
        "agent",
        "single",
        interfaces={"chat": {"enabled": False}, "widget": {"enabled": False}},
        configuration={"conversation": {"enabled": False}},
    )
    steps = by_id(dashboard_descriptor(api_only, DashboardState(active_api_keys=1)), "quick_start")
    assert [(s["title"], s["done"]) for s in steps.data["steps"]] == [
        ("Create an API key", True),
        ("Make your first call", False),
    ]
    assert steps.state == "1 of 2 steps done"
    slack = _product(
        "app",
        "integration",
        interfaces={"widget": {"enabled": False}, "api": {"enabled": False}},
        configuration={"workflow": {"enabled": False}},
    )
    state = DashboardState(connected_platforms=frozenset({"slack"}), usage={"api_calls": 3})
    steps = by_id(dashboard_descriptor(slack, state), "quick_start")
    assert [s["title"] for s in steps.data["steps"]] == ["Connect a platform", "Send a first message"]
    assert steps.state == "Completed"
    assert by_id(dashboard_descriptor(slack, state), "integrations").state == "1 of 2 connected"


def test_conversation_alone_and_a_persona_without_a_face() -> None:
    caps = _product("agent", "single", configuration={"persona": {"enabled": False}})
    talk = by_id(dashboard_descriptor(caps, DashboardState()), "conversation")
    assert (talk.title, talk.state, talk.data["edits"]) == (
        "Conversation",
        "Not configured",
        ["conversation"],
    )
    styled = _product("agent", "single", configuration={"persona": {"options": {"name": False}}})
    assert by_id(dashboard_descriptor(styled, DashboardState()), "persona").title == "Writing style"


def test_mcp_without_api_keys_is_available_at_once() -> None:
    caps = _product("agent", "single", interfaces={"api": {"authentication": ["oauth2"]}})
    integrate = by_id(dashboard_descriptor(caps, DashboardState()), "integrate")
    assert [(s.id, s.state, s.complete) for s in integrate.sections] == [
        ("widget", "Not live yet", False),
        ("mcp", "Available", True),
    ]


def test_usage_words_and_plan_limits() -> None:
    assert usage_text("messages", 8234, 10_000) == "8,234 / 10,000 messages"
    assert usage_text("api_calls", 1, None) == "1 API call"
    assert usage_text("compute_time", 90_000, None) == "90 compute seconds"
    assert limits_from_plan(
        {"messages": 10_000, "tokens": None, "apiCalls": 50, "executions": 7, "users": 5, "storageMB": 500}
    ) == {"messages": 10_000, "tokens": None, "api_calls": 50, "executions": 7}


def test_the_descriptor_serialises_to_json() -> None:
    caps = snapshot(DATA_SYNC)
    state = DashboardState(last_run=LastRun(at=NOW, succeeded=True), next_run=NOW, now=NOW)
    document = [section.to_dict() for section in dashboard_descriptor(caps, state)]
    assert json.loads(json.dumps(document)) == document
    assert set(document[2]) == {"id", "title", "state", "complete", "data", "sections"}
    assert document[2]["sections"][0]["id"] == "schedule"


# ── properties ───────────────────────────────────────────────────────────

ORDER = ["overview", "quick_start", "start_creating", "status", "configure", "integrate", "analytics"]


def test_a_disabled_capability_never_yields_its_section() -> None:
    """Property over random valid products, each with everything done (so no section hides for lack of
    data): a section exists exactly when its capability is on."""
    for caps in random_products(seed=5, count=200):
        state = DashboardState(
            documents=2,
            qa_pairs=3,
            active_api_keys=1,
            widget_origins=1,
            usage={"messages": 1},
            configured=frozenset(enabled_sections(caps)),
            configuration=default_configuration(caps),
        )
        dashboard = dashboard_descriptor(caps, state)
        top = [s.id for s in dashboard]
        subs = {sub.id: sub for s in dashboard for sub in s.sections}
        i, c, a = caps.interfaces, caps.configuration, caps.analytics
        expected_subs = {
            "training": c.knowledge.enabled or c.rag.enabled,
            "persona": c.persona.enabled,
            "conversation": c.conversation.enabled and not c.persona.enabled,
            "branding": c.branding.enabled,
            "output": c.output.enabled,
            "schedule": workflow_field_open(caps, "schedule"),
            "credentials": workflow_field_open(caps, "secrets"),
            "variables": workflow_field_open(caps, "variables"),
            "alerts": (c.workflow.enabled or c.workflow_advanced.enabled) and a.alerts.enabled,
            "connections": bool(caps.runtime.dependencies.services),
            "widget": i.widget.enabled,
            "api_keys": i.api.enabled and "api_key" in i.api.authentication,
            "mcp": i.api.enabled and "mcp" in i.api.protocols,
            "integrations": i.integrations.enabled,
        }
        assert {name for name, on in expected_subs.items() if on} == set(subs), caps.to_document()
        for group, members in (("configure", CONFIGURE), ("integrate", INTEGRATE)):
            expected = [name for name in members if expected_subs[name]]
            assert (group in top) == bool(expected)
            assert [s.id for s in children(dashboard, group)] == expected
        assert ("analytics" in top) == a.usage.enabled
        assert top[0] == "overview" and len(top) == len(set(top))
        assert top == sorted(top, key=ORDER.index)
        assert len([t for t in top if t in ("quick_start", "start_creating", "status")]) == 1
        for sub in subs.values():
            assert set(sub.data.get("edits", [])) <= set(enabled_sections(caps))


CONFIGURE = [
    "training", "persona", "conversation", "branding", "output", "schedule", "connections", "credentials",
    "variables", "alerts",
]  # fmt: skip
INTEGRATE = ["widget", "api_keys", "mcp", "integrations"]


def children(sections: list[DashboardSection], wanted: str) -> list[DashboardSection]:
    """The subsections of `wanted`, or [] when it is absent."""
    return next((list(s.sections) for s in sections if s.id == wanted), [])


def test_the_documented_full_example_is_what_the_descriptor_returns() -> None:
    """docs/configuration.md shows the agent dashboard of `test_the_agent_dashboard_full_config`."""
    text = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    block = re.search(r"<!-- example: dashboard agent -->\s*```json\n(.*?)```", text, re.DOTALL)
    assert block is not None
    caps = snapshot(SUPPORT_AGENT)
    saved = {
        "persona": {"name": "Support Assistant", "tone": ["professional", "friendly"]},
        "conversation": {"welcomeMessage": "Hi! I'm here to help with your questions..."},
        "branding": {"colors": {"primary": "#7c3aed"}, "logo": "https://cdn.acme.example/company-logo.png"},
    }
    state = DashboardState(
        product_name="Customer Support Agent",
        plan_name="Pro",
        configuration=configured(caps, saved, "Customer Support Agent"),
        configured=frozenset(saved),
        documents=3,
        qa_pairs=45,
        active_api_keys=2,
        widget_tokens=1,
        widget_origins=2,
        usage={"messages": 8234, "users": 1234, "sessions": 2051},
        limits=limits_from_plan({"messages": 10_000}),
    )
    assert json.loads(block.group(1)) == [s.to_dict() for s in dashboard_descriptor(caps, state)]


def test_the_descriptor_module_loads_no_pydantic() -> None:
    """The dashboard reads the snapshot's attributes only; importing it must not build the settings or
    capability models (a cold-start cost for the function that serves it)."""
    probe = "import sys, cmp.capabilities.dashboard as d; print(sorted(m for m in ('pydantic', 'cmp.capabilities.models', 'cmp.capabilities.buyer_models') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
