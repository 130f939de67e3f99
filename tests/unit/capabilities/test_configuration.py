"""Buyer configuration bounded by the capability snapshot: what is stored, what is 403, what is 422."""

from __future__ import annotations

import json
import re
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
from cmp.capabilities.buyer_models import SETTINGS_MODELS
from cmp.capabilities.configuration import (
    SECTIONS,
    check_section,
    default_configuration,
    enabled_sections,
    validate_section,
)
from cmp.capabilities.configuration_rules import OPTION_SECTIONS, SECTION_ONLY_FIELDS, wire
from cmp.capabilities.defaults import deep_merge
from cmp.errors import DomainError, FieldError, Forbidden, NotFound, ValidationFailed

pytestmark = pytest.mark.unit

SUBCATEGORY = {"agent": "single", "app": "tool", "assistant": "writer", "automation": "workflow"}


def product(category: str = "agent", **sections: Any) -> ProductCapabilities:
    """The category defaults with `sections` deep-merged over them."""
    return ensure_valid(
        deep_merge({"category": category, "subcategory": {category: SUBCATEGORY[category]}}, sections)
    )


def refused(
    kind: type[DomainError], caps: ProductCapabilities, section: str, values: object
) -> list[FieldError]:
    with pytest.raises(kind) as raised:
        validate_section(caps, section, values)
    assert type(raised.value) is kind
    return raised.value.errors


def only(errors: list[FieldError]) -> tuple[str, str]:
    assert len(errors) == 1, errors
    return errors[0].path, errors[0].message


AGENT = product("agent")
AUTOMATION = snapshot(DATA_SYNC)


# ── sections ─────────────────────────────────────────────────────────────


def test_sections_in_dashboard_order_and_which_a_product_opens() -> None:
    assert SECTIONS == ("rag", "persona", "conversation", "branding", "output", "workflow", "widget")
    assert enabled_sections(AGENT) == ["rag", "persona", "conversation", "widget"]
    assert enabled_sections(snapshot(CONTENT_WRITER)) == ["persona", "output"]
    assert enabled_sections(AUTOMATION) == ["workflow"]


def test_an_unknown_section_is_not_found_and_names_the_sections() -> None:
    with pytest.raises(
        NotFound, match="unknown configuration section 'theme'; the sections are rag, persona"
    ):
        validate_section(AGENT, "theme", {})
    with pytest.raises(NotFound):
        check_section(AGENT, "Persona")


@pytest.mark.parametrize(
    ("caps", "section", "message"),
    [
        (AUTOMATION, "persona", "configuration.persona is disabled for this product"),
        (AGENT, "branding", "configuration.branding is disabled for this product"),
        (
            AGENT,
            "workflow",
            "configuration.workflow and configuration.workflowAdvanced are disabled for this product",
        ),
        (AUTOMATION, "widget", "interfaces.widget is disabled for this product"),
        (AUTOMATION, "rag", "configuration.rag is disabled for this product"),
    ],
)
def test_a_closed_section_is_forbidden_even_empty(
    caps: ProductCapabilities, section: str, message: str
) -> None:
    assert only(refused(Forbidden, caps, section, {})) == ("", message)
    with pytest.raises(Forbidden):
        check_section(caps, section)


def test_the_body_must_be_an_object() -> None:
    assert only(refused(ValidationFailed, AGENT, "persona", ["name"])) == (
        "",
        "must be a JSON object (got a list)",
    )


# ── persona ──────────────────────────────────────────────────────────────


def test_persona_values_are_normalised() -> None:
    caps = product(
        configuration={"persona": {"options": {"language": True, "avatar": True, "boundaries": True}}}
    )
    stored = validate_section(
        caps,
        "persona",
        {
            "name": "  Support Assistant ",
            "tone": ["professional", "friendly"],
            "language": "zh-hant-tw",
            "avatar": "https://cdn.example.com/a.png",
            "instructions": "Answer briefly.",
            "boundaries": ["No legal advice"],
        },
    )
    assert stored == {
        "name": "Support Assistant",
        "tone": ["professional", "friendly"],
        "language": "zh-Hant-TW",
        "avatar": "https://cdn.example.com/a.png",
        "instructions": "Answer briefly.",
        "boundaries": ["No legal advice"],
    }
    assert validate_section(caps, "persona", stored) == stored
    assert validate_section(caps, "persona", {"language": "auto"}) == {"language": "auto"}
    assert validate_section(caps, "persona", {"language": "EN-us"}) == {"language": "en-US"}


def test_a_disabled_option_is_forbidden_and_named_by_its_capability_path() -> None:
    caps = product(configuration={"persona": {"options": {"tone": False}}})
    assert only(refused(Forbidden, caps, "persona", {"name": "Ada", "tone": ["formal"]})) == (
        "tone",
        "configuration.persona.options.tone is disabled for this product",
    )


def test_every_forbidden_field_is_listed_even_with_a_malformed_value() -> None:
    errors = refused(
        Forbidden, AGENT, "persona", {"avatar": 5, "language": "en", "boundaries": ["x"], "name": "A"}
    )
    assert [(e.path, e.message) for e in errors] == [
        ("avatar", "configuration.persona.options.avatar is disabled for this product"),
        ("language", "configuration.persona.options.language is disabled for this product"),
        ("boundaries", "configuration.persona.options.boundaries is disabled for this product"),
    ]


def test_forbidden_wins_over_type_errors() -> None:
    errors = refused(Forbidden, AGENT, "persona", {"language": "en", "name": 42})
    assert [e.path for e in errors] == ["language"]


def test_null_means_not_set_so_a_closed_option_may_be_null() -> None:
    assert validate_section(AGENT, "persona", {"name": "Ada", "avatar": None}) == {"name": "Ada"}


def test_type_and_format_errors_are_422_with_json_paths() -> None:
    caps = product(configuration={"persona": {"options": {"language": True, "avatar": True}}})
    errors = refused(
        ValidationFailed,
        caps,
        "persona",
        {
            "name": "x" * 81,
            "tone": ["professional", "chirpy"],
            "language": "english!",
            "avatar": "http://a.b/c.png",
        },
    )
    assert {e.path: e.message for e in errors} == {
        "name": "must be at most 80 characters long",
        "tone[1]": "must be one of 'formal', 'casual', 'friendly' or 'professional' (got 'chirpy')",
        "language": "must be a BCP 47 language tag such as 'en', 'en-US' or 'pt-BR', or 'auto' (got 'english!')",
        "avatar": "must be an https:// link without credentials (got 'http://a.b/c.png')",
    }


def test_unknown_fields_are_422_with_a_suggestion() -> None:
    assert only(refused(ValidationFailed, AGENT, "persona", {"nmae": "Ada"})) == (
        "nmae",
        "unknown field 'nmae'; did you mean 'name'?",
    )


def test_tones_cannot_contradict_or_repeat() -> None:
    assert only(refused(ValidationFailed, AGENT, "persona", {"tone": ["formal", "casual"]})) == (
        "tone",
        "formal and casual contradict each other; choose one",
    )
    assert only(refused(ValidationFailed, AGENT, "persona", {"tone": ["friendly", "friendly"]})) == (
        "tone[1]",
        "'friendly' is listed twice",
    )
    assert (
        refused(ValidationFailed, AGENT, "persona", {"tone": ["formal", "casual", "friendly"]})[0].path
        == "tone"
    )


@pytest.mark.parametrize(
    "tag", ["en", "en-US", "pt-BR", "sr-Latn-RS", "es-419", "de-CH-1996", "en-x-private"]
)
def test_well_formed_language_tags(tag: str) -> None:
    caps = product(configuration={"persona": {"options": {"language": True}}})
    assert validate_section(caps, "persona", {"language": tag}) == {"language": tag}


@pytest.mark.parametrize("tag", ["e", "english", "en_US", "en-", "123", "en-US-", "x" * 40])
def test_malformed_language_tags(tag: str) -> None:
    caps = product(configuration={"persona": {"options": {"language": True}}})
    assert refused(ValidationFailed, caps, "persona", {"language": tag})[0].path == "language"


# ── conversation, branding, output ───────────────────────────────────────


def test_conversation_accepts_snake_case_and_stores_camel_case() -> None:
    stored = validate_section(
        AGENT, "conversation", {"welcome_message": "Hi!", "suggestedPrompts": ["Track my order"]}
    )
    assert stored == {"welcomeMessage": "Hi!", "suggestedPrompts": ["Track my order"]}
    assert only(refused(Forbidden, AGENT, "conversation", {"exitMessage": "Bye"})) == (
        "exitMessage",
        "configuration.conversation.options.exitMessage is disabled for this product",
    )


def test_conversation_types_are_strict() -> None:
    caps = product(configuration={"conversation": {"options": {"feedbackRequest": True}}})
    assert only(refused(ValidationFailed, caps, "conversation", {"feedbackRequest": "yes"})) == (
        "feedbackRequest",
        "must be true or false (got 'yes')",
    )
    assert refused(ValidationFailed, AGENT, "conversation", {"suggestedPrompts": ["p"] * 9})[0].path == (
        "suggestedPrompts"
    )


BRANDED = product(
    configuration={
        "branding": {"enabled": True, "options": {"logo": True, "colors": True, "customCSS": True}}
    }
)


def test_branding_colours_are_stored_in_lower_case_and_names_need_only_the_section() -> None:
    stored = validate_section(
        BRANDED,
        "branding",
        {
            "companyName": "TechCorp Inc.",
            "tagline": "Your One-Stop Tech Shop",
            "colors": {"primary": "#7C3AED"},
        },
    )
    assert stored == {
        "companyName": "TechCorp Inc.",
        "tagline": "Your One-Stop Tech Shop",
        "colors": {"primary": "#7c3aed"},
    }
    assert only(refused(ValidationFailed, BRANDED, "branding", {"colors": {"primary": "purple"}})) == (
        "colors.primary",
        "must be a colour in the form #rrggbb, such as #7c3aed (got 'purple')",
    )
    assert only(refused(Forbidden, BRANDED, "branding", {"fonts": {"body": "Inter"}})) == (
        "fonts",
        "configuration.branding.options.fonts is disabled for this product",
    )


@pytest.mark.parametrize(
    ("css", "message"),
    [
        ("</style><script>alert(1)</script>", "must not contain '<' (it could close the style element)"),
        ("@import 'https://evil.example/x.css';", "must not use @import (styles load from this field only)"),
        (".a { background: url(http://x.example/a.png) }", "url() may only load https:// resources"),
        (".a { background: url('javascript:alert(1)') }", "must not contain javascript: links"),
        (".a { width: expression(alert(1)) }", "must not use expression()"),
    ],
)
def test_custom_css_cannot_escape_or_load_insecurely(css: str, message: str) -> None:
    errors = refused(ValidationFailed, BRANDED, "branding", {"customCSS": css})
    assert message in [e.message for e in errors]
    assert {e.path for e in errors} == {"customCSS"}


def test_custom_css_with_https_resources_is_kept() -> None:
    css = ".launcher { background: url('https://cdn.example.com/bg.png'); color: #fff }"
    assert validate_section(BRANDED, "branding", {"customCSS": css}) == {"customCSS": css}


WRITER = snapshot(CONTENT_WRITER)


def test_output_formats_fit_the_kind_of_assistant() -> None:
    stored = validate_section(
        WRITER,
        "output",
        {
            "format": "markdown",
            "quality": "best",
            "style": {"preset": "Blog", "length": "medium"},
            "templates": [{"name": "Blog Post", "prompt": "Write a blog post about {topic}"}],
        },
    )
    assert stored["format"] == "markdown" and stored["style"] == {"preset": "Blog", "length": "medium"}
    assert only(refused(ValidationFailed, WRITER, "output", {"format": "png"})) == (
        "format",
        "a writer assistant produces markdown, html, text, docx, pdf (got 'png')",
    )
    image = product("assistant", subcategory={"assistant": "image"})
    assert validate_section(image, "output", {"format": "png"}) == {"format": "png"}


def test_template_names_are_unique_ignoring_case() -> None:
    templates = [{"name": "Email", "prompt": "a"}, {"name": "email", "prompt": "b"}]
    assert only(refused(ValidationFailed, WRITER, "output", {"templates": templates})) == (
        "templates[1].name",
        "'email' is listed twice",
    )


# ── workflow ─────────────────────────────────────────────────────────────


def test_a_schedule_is_stored_with_its_timezone_and_one_spelling() -> None:
    assert validate_section(AUTOMATION, "workflow", {"schedule": {"cron": " 0  *  * * *"}}) == {
        "schedule": {"cron": "0 * * * *", "timezone": "UTC"}
    }
    assert validate_section(
        AUTOMATION, "workflow", {"schedule": {"interval": "1h", "timezone": "Europe/Paris"}}
    ) == {"schedule": {"interval": "1h", "timezone": "Europe/Paris"}}


def test_a_malformed_value_is_reported_once() -> None:
    assert only(refused(ValidationFailed, AUTOMATION, "workflow", {"schedule": {"cron": 5}})) == (
        "schedule.cron",
        "must be text (got 5)",
    )


def test_a_schedule_more_frequent_than_the_minimum_interval_is_422() -> None:
    assert only(refused(ValidationFailed, AUTOMATION, "workflow", {"schedule": {"cron": "*/5 * * * *"}})) == (
        "schedule.cron",
        "fires every 5 minutes at the closest, more often than allowed: "
        "configuration.workflowAdvanced.detail.triggers.schedule.minInterval is 15m",
    )
    assert only(refused(ValidationFailed, AUTOMATION, "workflow", {"schedule": {"cron": "0,10 9 * * *"}}))[
        0
    ] == ("schedule.cron")
    assert refused(ValidationFailed, AUTOMATION, "workflow", {"schedule": {"interval": "10m"}})[0].path == (
        "schedule.interval"
    )
    assert (
        validate_section(AUTOMATION, "workflow", {"schedule": {"interval": "15m"}})["schedule"]["interval"]
        == "15m"
    )


def test_without_a_workflow_detail_only_the_platform_minute_applies() -> None:
    caps = product("automation")
    assert (
        validate_section(caps, "workflow", {"schedule": {"cron": "* * * * *"}})["schedule"]["cron"]
        == "* * * * *"
    )


@pytest.mark.parametrize(
    ("schedule", "path", "fragment"),
    [
        ({"cron": "0 * * * *", "interval": "1h"}, "schedule", "give either cron or interval"),
        ({"timezone": "UTC"}, "schedule", "give either cron or interval"),
        ({"cron": "0 0 1 * MON"}, "schedule.cron", "not both"),
        ({"cron": "61 * * * *"}, "schedule.cron", "minute field must stay within 0-59"),
        ({"interval": "30s"}, "schedule.interval", "minutes, hours or days"),
        ({"cron": "0 * * * *", "timezone": "Mars/Olympus_Mons"}, "schedule.timezone", "IANA time zone"),
        ({"cron": "0 * * * *", "timezone": "../../etc/passwd"}, "schedule.timezone", "IANA time zone"),
    ],
)
def test_malformed_schedules(schedule: dict[str, str], path: str, fragment: str) -> None:
    errors = refused(ValidationFailed, AUTOMATION, "workflow", {"schedule": schedule})
    assert any(e.path == path and fragment in e.message for e in errors), errors


def test_schedule_types_and_timezones_follow_the_workflow_detail() -> None:
    caps = snapshot(
        deep_merge(
            DATA_SYNC,
            {
                "configuration": {
                    "workflowAdvanced": {
                        "detail": {
                            "triggers": {"schedule": {"types": ["daily", "weekly"], "timezone": False}}
                        }
                    }
                }
            },
        )
    )
    assert (
        validate_section(caps, "workflow", {"schedule": {"cron": "30 9 * * *"}})["schedule"]["cron"]
        == "30 9 * * *"
    )
    assert only(refused(Forbidden, caps, "workflow", {"schedule": {"cron": "0 * * * *"}})) == (
        "schedule.cron",
        "configuration.workflowAdvanced.detail.triggers.schedule.types does not include 'cron' for this product "
        "(it allows daily, weekly)",
    )
    assert (
        only(refused(Forbidden, caps, "workflow", {"schedule": {"interval": "1d"}}))[0] == "schedule.interval"
    )
    assert only(
        refused(Forbidden, caps, "workflow", {"schedule": {"cron": "30 9 * * *", "timezone": "Asia/Tokyo"}})
    ) == (
        "schedule.timezone",
        "configuration.workflowAdvanced.detail.triggers.schedule.timezone is disabled for this product: "
        "schedules run in UTC",
    )


def test_a_schedule_needs_every_enabled_workflow_block_to_allow_it() -> None:
    caps = product(
        "automation",
        configuration={
            "workflow": {"options": {"schedule": False}},
            "workflowAdvanced": {"triggers": {"schedule": False}},
        },
    )
    errors = refused(Forbidden, caps, "workflow", {"schedule": {"interval": "1h"}})
    assert [(e.path, e.message) for e in errors] == [
        ("schedule", "configuration.workflow.options.schedule is disabled for this product"),
        ("schedule", "configuration.workflowAdvanced.triggers.schedule is disabled for this product"),
    ]


def test_every_forbidden_workflow_field_is_listed_at_once() -> None:
    caps = product("automation", configuration={"workflow": {"options": {"schedule": False}}})
    body = {
        "schedule": {"interval": "1h"},
        "alerts": [{"on": "usage_limit", "channel": "email", "to": "a@b.co"}],
    }
    assert [(e.path, e.message) for e in refused(Forbidden, caps, "workflow", body)] == [
        ("schedule", "configuration.workflow.options.schedule is disabled for this product"),
        (
            "alerts[0].on",
            "analytics.alerts.types does not include 'usage_limit' for this product "
            "(it offers error_rate, latency, failure)",
        ),
    ]


def test_variables_are_open_only_where_both_blocks_allow_them() -> None:
    assert only(refused(Forbidden, product("automation"), "workflow", {"variables": {"REGION": "eu"}})) == (
        "variables",
        "configuration.workflow.options.variables is disabled for this product",
    )
    caps = product("app")  # the app defaults switch workflow variables on and leave the advanced block off
    variables = {"REGION": "eu", "BATCH": 500, "DRY_RUN": False, "FIELDS": ["id"], "MAP": {"a": "b"}}
    assert validate_section(caps, "workflow", {"variables": variables}) == {"variables": variables}


def test_variable_types_follow_the_workflow_detail() -> None:
    caps = product(
        "automation",
        configuration={
            "workflow": {"options": {"variables": True}},
            "workflowAdvanced": {"detail": {"data": {"variables": {"types": ["string", "number"]}}}},
        },
    )
    assert only(refused(Forbidden, caps, "workflow", {"variables": {"A": "x", "B": {"k": 1}}})) == (
        "variables.B",
        "configuration.workflowAdvanced.detail.data.variables.types does not include 'object' for this product "
        "(it allows string, number)",
    )


def test_variable_names_values_and_count() -> None:
    caps = product("app")
    errors = refused(
        ValidationFailed, caps, "workflow", {"variables": {"9lives": 1, "EMPTY": None, "BIG": "x" * 5000}}
    )
    assert {e.path: e.message for e in errors} == {
        "variables.9lives": "a variable name is a letter or _ then letters, digits or _ (at most 64)",
        "variables.EMPTY": "must not be null; leave the variable out instead",
        "variables.BIG": "must be at most 4096 characters long as JSON",
    }
    many = {f"V{i}": i for i in range(101)}
    assert only(refused(ValidationFailed, caps, "workflow", {"variables": many})) == (
        "variables",
        "at most 100 variables, the platform maximum (got 101)",
    )


def test_secrets_are_names_only_and_never_echoed() -> None:
    pasted = "sk_live_51HxQabcdefSECRET"
    errors = refused(ValidationFailed, AUTOMATION, "workflow", {"secrets": ["DATABASE_URL", pasted]})
    assert only(errors) == (
        "secrets[1]",
        "must be a secret's name in capitals, digits and underscores such as DATABASE_URL; secret values are "
        "never sent here",
    )
    value_object = {"secrets": [{"name": "DATABASE_URL", "value": pasted}]}
    assert pasted not in str(
        [e.message for e in refused(ValidationFailed, AUTOMATION, "workflow", value_object)]
    )
    assert validate_section(AUTOMATION, "workflow", {"secrets": ["DATABASE_URL"]}) == {
        "secrets": ["DATABASE_URL"]
    }


def test_secrets_are_unique_and_within_the_sellers_maximum() -> None:
    assert only(refused(ValidationFailed, AUTOMATION, "workflow", {"secrets": ["A", "B", "A"]})) == (
        "secrets[2]",
        "'A' is listed twice",
    )
    eleven = [f"KEY_{i}" for i in range(11)]
    assert only(refused(ValidationFailed, AUTOMATION, "workflow", {"secrets": eleven})) == (
        "secrets",
        "at most 10 secrets: configuration.workflowAdvanced.detail.data.secrets.maxSecrets (got 11)",
    )


def test_alerts_follow_the_analytics_and_monitoring_capabilities() -> None:
    rule = {"on": "failure", "channel": "email", "to": "admin@company.com"}
    assert validate_section(AUTOMATION, "workflow", {"alerts": [rule]}) == {"alerts": [rule]}
    errors = refused(
        Forbidden,
        AUTOMATION,
        "workflow",
        {"alerts": [{**rule, "on": "latency"}, {**rule, "channel": "pagerduty", "to": "PD_KEY"}]},
    )
    assert [(e.path, e.message) for e in errors] == [
        (
            "alerts[0].on",
            "analytics.alerts.types does not include 'latency' for this product (it offers failure, error_rate)",
        ),
        (
            "alerts[1].channel",
            "configuration.workflowAdvanced.detail.monitoring.alerts.channels does not include 'pagerduty' for this "
            "product (it offers email, slack)",
        ),
    ]
    no_alerts = product("app")
    assert only(refused(Forbidden, no_alerts, "workflow", {"alerts": [rule]})) == (
        "alerts",
        "analytics.alerts is disabled for this product",
    )


def test_alert_targets_fit_their_channel() -> None:
    caps = product("automation")  # alerts on; no monitoring detail, so every channel is open
    alerts = [
        {"on": "failure", "channel": "email", "to": "not-an-address"},
        {"on": "failure", "channel": "slack", "to": "data-ops"},
        {"on": "failure", "channel": "webhook", "to": "http://hooks.example.com/x"},
        {"on": "failure", "channel": "pagerduty", "to": "R0UT1NGKEYabc"},
        {"on": "failure", "channel": "email", "to": "not-an-address"},
    ]
    errors = refused(ValidationFailed, caps, "workflow", {"alerts": alerts})
    assert [(e.path, e.message) for e in errors] == [
        ("alerts[0].to", "must be an e-mail address for the email channel"),
        ("alerts[1].to", "must be a Slack channel such as #data-ops for the slack channel"),
        ("alerts[2].to", "must be an https:// URL for the webhook channel"),
        (
            "alerts[3].to",
            "must name one of this workflow's secrets (holding the PagerDuty routing key), e.g. PAGERDUTY_KEY",
        ),
        ("alerts[4].to", "must be an e-mail address for the email channel"),
        ("alerts[4]", "the same alert is listed twice"),
    ]
    assert "R0UT1NGKEYabc" not in str(errors)
    paged = {
        "secrets": ["PAGERDUTY_KEY"],
        "alerts": [{"on": "failure", "channel": "pagerduty", "to": "PAGERDUTY_KEY"}],
    }
    assert validate_section(caps, "workflow", paged) == paged


# ── rag ──────────────────────────────────────────────────────────────────


def test_rag_stores_every_setting_filling_the_products_values() -> None:
    assert validate_section(AGENT, "rag", {"topK": 3, "method": "vector", "reranking": False}) == {
        "topK": 3,
        "method": "vector",
        "reranking": False,
        "citations": True,
        "strictMode": False,
        "fallback": "general",
    }


def test_rag_top_k_cannot_exceed_the_sellers() -> None:
    assert only(refused(ValidationFailed, AGENT, "rag", {"topK": 6})) == (
        "topK",
        "must be at most 5, the product's configuration.rag.retrieval.topK (got 6)",
    )
    assert validate_section(AGENT, "rag", {"topK": 5})["topK"] == 5
    assert only(refused(ValidationFailed, AGENT, "rag", {"topK": 0})) == (
        "topK",
        "must be at least 1 (got 0)",
    )
    assert only(refused(ValidationFailed, AGENT, "rag", {"topK": 2.5})) == (
        "topK",
        "must be a whole number (got 2.5)",
    )


def test_errors_come_in_the_order_of_the_sections_fields() -> None:
    errors = refused(ValidationFailed, AGENT, "rag", {"fallback": "shrug", "topK": 9})
    assert [e.path for e in errors] == ["topK", "fallback"]


def test_rag_choices_can_narrow_but_not_widen_the_product() -> None:
    caps = product(
        configuration={
            "rag": {
                "retrieval": {"method": "vector", "reranking": False},
                "grounding": {"strictMode": True, "fallback": "refuse"},
            }
        }
    )
    errors = refused(
        Forbidden,
        caps,
        "rag",
        {"method": "hybrid", "reranking": True, "strictMode": False, "fallback": "escalate"},
    )
    assert [(e.path, e.message) for e in errors] == [
        (
            "method",
            "configuration.rag.retrieval.method is 'vector' for this product, which allows only vector",
        ),
        ("reranking", "configuration.rag.retrieval.reranking is disabled for this product"),
        (
            "strictMode",
            "configuration.rag.grounding.strictMode is on for this product: answers come only from the knowledge "
            "base, and a buyer cannot turn that off",
        ),
        (
            "fallback",
            "configuration.rag.grounding.fallback is 'refuse' for this product; choose 'refuse'",
        ),
    ]
    assert validate_section(caps, "rag", {"reranking": False, "strictMode": True})["strictMode"] is True
    assert validate_section(AGENT, "rag", {"method": "keyword", "fallback": "refuse"})["method"] == "keyword"
    assert only(refused(Forbidden, AGENT, "rag", {"fallback": "escalate"})) == (
        "fallback",
        "configuration.rag.grounding.fallback is 'general' for this product; choose 'general' or 'refuse'",
    )


def test_strict_mode_cannot_fall_back_to_general_knowledge() -> None:
    assert only(refused(ValidationFailed, AGENT, "rag", {"strictMode": True})) == (
        "fallback",
        "strictMode answers only from the knowledge base, so fallback 'general' contradicts it (the product "
        "default); set fallback to 'refuse'",
    )
    assert validate_section(AGENT, "rag", {"strictMode": True, "fallback": "refuse"})["fallback"] == "refuse"


def test_a_fixed_top_k_may_be_restated_but_not_changed() -> None:
    caps = product(configuration={"rag": {"detail": {"retrieval": {"search": {"customizable": False}}}}})
    assert validate_section(caps, "rag", {"topK": 5})["topK"] == 5
    assert only(refused(Forbidden, caps, "rag", {"topK": 3})) == (
        "topK",
        "configuration.rag.detail.retrieval.search.customizable is off for this product: topK stays 5",
    )


# ── widget ───────────────────────────────────────────────────────────────


def test_widget_values_within_the_customization_offered() -> None:
    assert validate_section(AGENT, "widget", {"theme": "dark", "colors": {"primary": "#7C3AED"}}) == {
        "type": "floating",
        "theme": "dark",
        "colors": {"primary": "#7c3aed"},
    }
    errors = refused(
        Forbidden, AGENT, "widget", {"type": "popup", "position": "bottom-left", "avatar": "https://a.b/c"}
    )
    assert [(e.path, e.message) for e in errors] == [
        ("type", "interfaces.widget.types does not include 'popup' for this product (it offers floating)"),
        ("position", "interfaces.widget.customization.position is disabled for this product"),
        ("avatar", "interfaces.widget.customization.avatar is disabled for this product"),
    ]


def test_widget_placement_fits_its_type() -> None:
    caps = product(
        interfaces={
            "widget": {
                "types": ["inline", "fullpage", "floating"],
                "customization": {"position": True, "size": True, "launcher": True},
            }
        }
    )
    errors = refused(
        ValidationFailed, caps, "widget", {"position": "bottom-left", "launcher": {"text": "Chat"}}
    )
    assert [(e.path, e.message) for e in errors] == [
        ("position", "applies to the floating widget only (this one is 'inline')"),
        ("launcher", "applies to the floating widget only (this one is 'inline')"),
    ]
    assert only(refused(ValidationFailed, caps, "widget", {"type": "fullpage", "size": {"width": 400}})) == (
        "size",
        "a fullpage widget fills the page; leave size out",
    )
    assert validate_section(
        caps, "widget", {"type": "floating", "position": "bottom-left", "size": {"width": 400}}
    ) == {
        "type": "floating",
        "position": "bottom-left",
        "size": {"width": 400},
    }
    assert only(refused(ValidationFailed, caps, "widget", {"size": {"width": 50}})) == (
        "size.width",
        "must be at least 200 (got 50)",
    )


# ── put replaces; defaults ───────────────────────────────────────────────


def test_a_put_replaces_the_section() -> None:
    first = validate_section(AGENT, "persona", {"name": "Ada", "tone": ["friendly"]})
    second = validate_section(AGENT, "persona", {"tone": ["formal"]})
    assert first == {"name": "Ada", "tone": ["friendly"]}
    assert second == {"tone": ["formal"]}
    assert validate_section(AGENT, "widget", {}) == {"type": "floating"}


def test_defaults_make_a_new_subscription_usable() -> None:
    assert default_configuration(snapshot(SUPPORT_AGENT), product_name="Customer Support Agent") == {
        "rag": {
            "topK": 5,
            "method": "hybrid",
            "reranking": True,
            "citations": True,
            "strictMode": False,
            "fallback": "general",
        },
        "persona": {"name": "Customer Support Agent", "tone": ["professional"]},
        "conversation": {"welcomeMessage": "Hi! How can I help you today?"},
        "branding": {},
        "widget": {"type": "floating", "theme": "auto", "position": "bottom-right"},
    }
    assert default_configuration(WRITER) == {
        "persona": {"tone": ["professional"], "language": "auto"},
        "output": {"format": "markdown", "quality": "balanced", "style": {"length": "medium"}},
    }
    assert default_configuration(AUTOMATION) == {"workflow": {}}


def test_every_default_validates_unchanged_for_random_products() -> None:
    for caps in random_products(seed=11, count=150):
        defaults = default_configuration(caps, product_name="A product")
        assert list(defaults) == enabled_sections(caps)
        for section, document in defaults.items():
            assert validate_section(caps, section, document) == document, (section, caps.to_document())


def test_closed_sections_and_options_are_always_forbidden_for_random_products() -> None:
    """Property: whatever the product, a closed section or a closed option is never accepted."""
    checked = 0
    for caps in random_products(seed=23, count=150):
        for section in SECTIONS:
            if section not in enabled_sections(caps):
                assert only(refused(Forbidden, caps, section, {}))[0] == ""
                continue
            if section not in OPTION_SECTIONS:
                continue
            options = getattr(caps.configuration, section).options
            model = SETTINGS_MODELS[section]
            for name in model.model_fields:
                if name in SECTION_ONLY_FIELDS.get(section, ()) or getattr(options, name):
                    continue
                path = f"configuration.{section}.options.{wire(type(options), name)}"
                assert only(refused(Forbidden, caps, section, {wire(model, name): "x"})) == (
                    wire(model, name),
                    f"{path} is disabled for this product",
                )
                checked += 1
    assert checked > 100


# ── the documented examples stay true ────────────────────────────────────

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
EXAMPLE = re.compile(
    r"<!-- example: put (?P<section>\w+) (?P<product>\w+) -->\s*```json\n(?P<body>.*?)```\s*```json\n(?P<answer>.*?)```",
    re.DOTALL,
)
PRODUCTS = {"agent": SUPPORT_AGENT, "writer": CONTENT_WRITER, "automation": DATA_SYNC}


def test_every_documented_put_answers_as_shown() -> None:
    examples = list(EXAMPLE.finditer(DOC.read_text()))
    assert len(examples) == 9
    for example in examples:
        caps = snapshot(PRODUCTS[example["product"]])
        body, answer = json.loads(example["body"]), json.loads(example["answer"])
        try:
            got: dict[str, Any] = validate_section(caps, example["section"], body)
        except DomainError as e:
            got = {**e.to_dict(), "request_id": answer.get("request_id")}
        assert got == answer, example.group(0)
