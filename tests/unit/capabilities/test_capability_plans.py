"""Plans: tier defaults, PlanSpec parsing, and the rules tying plans to the capability document."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cmp.capabilities import (
    MAX_PLANS,
    PLAN_LIMIT_MAX,
    PlanSpec,
    ProductCapabilities,
    ensure_valid,
    plan_defaults,
    validate_plans,
)
from cmp.errors import FieldError

pytestmark = pytest.mark.unit

Draft = Callable[..., ProductCapabilities]


@pytest.fixture
def draft(draft: Callable[..., dict[str, Any]]) -> Draft:
    """Plans are checked against a typed capability document: the conftest draft, validated."""
    return lambda *args, **sections: ensure_valid(draft(*args, **sections))


def message_at(errors: list[FieldError], path: str) -> str:
    found = [error.message for error in errors if error.path == path]
    assert found, f"no error at {path}; got {errors}"
    return " | ".join(found)


def plan(name: str = "Starter", tier: str = "starter", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "tier": tier, **fields}
    if tier in ("starter", "pro"):
        body.setdefault("priceMonthly", 29)
    return body


# ── tier defaults ────────────────────────────────────────────────────────


def test_starter_defaults_follow_the_spec() -> None:
    defaults = plan_defaults("starter")

    assert defaults["runtimeType"] == "shared"
    assert defaults["limits"]["rateLimitRpm"] == 60
    assert defaults["limits"]["concurrency"] == 5
    assert defaults["limits"]["messages"] == 1_000
    assert defaults["limits"]["tokens"] == 100_000


def test_pro_defaults_follow_the_spec() -> None:
    defaults = plan_defaults("pro")

    assert defaults["runtimeType"] == "shared"
    assert (defaults["limits"]["rateLimitRpm"], defaults["limits"]["concurrency"]) == (300, 20)
    assert (defaults["limits"]["messages"], defaults["limits"]["tokens"]) == (10_000, 1_000_000)


@pytest.mark.parametrize("tier", ["enterprise", "custom"])
def test_enterprise_and_custom_default_to_dedicated_and_unlimited(tier: str) -> None:
    defaults = plan_defaults(tier)

    assert defaults["runtimeType"] == "dedicated"
    assert set(defaults["limits"]) == {
        "messages",
        "tokens",
        "apiCalls",
        "executions",
        "users",
        "storageMB",
        "rateLimitRpm",
        "concurrency",
    }
    assert all(value is None for value in defaults["limits"].values())


def test_plan_defaults_rejects_an_unknown_tier() -> None:
    with pytest.raises(ValueError, match="unknown plan tier 'gold'"):
        plan_defaults("gold")


def test_plan_defaults_returns_a_private_copy() -> None:
    plan_defaults("starter")["limits"]["messages"] = 5

    assert plan_defaults("starter")["limits"]["messages"] == 1_000


# ── PlanSpec ─────────────────────────────────────────────────────────────


def test_plan_spec_fills_omitted_fields_from_the_tier_and_keeps_given_ones() -> None:
    spec = PlanSpec.model_validate(
        {"name": "Pro", "tier": "pro", "priceMonthly": "99", "limits": {"messages": 50_000}}
    )

    assert spec.runtime_type == "shared"
    assert spec.limits.messages == 50_000
    assert spec.limits.tokens == 1_000_000
    assert spec.limits.rate_limit_rpm == 300
    assert spec.price_monthly == Decimal("99.00")
    assert spec.currency == "USD"


def test_plan_spec_null_limit_means_unlimited_even_when_the_tier_has_a_default() -> None:
    spec = PlanSpec.model_validate({"name": "Pro", "tier": "pro", "limits": {"messages": None}})

    assert spec.limits.messages is None


def test_plan_spec_speaks_camel_case_and_accepts_snake_case() -> None:
    spec = PlanSpec.model_validate(
        {"name": "Team", "tier": "custom", "price_monthly": 10, "runtime_type": "shared"}
    )

    dumped = spec.model_dump(by_alias=True)
    assert dumped["priceMonthly"] == Decimal("10.00")
    assert dumped["runtimeType"] == "shared"
    assert "storageMB" in dumped["limits"]


def test_plan_spec_lower_case_currency_is_normalised() -> None:
    assert PlanSpec.model_validate({"name": "a", "tier": "enterprise", "currency": "eur"}).currency == "EUR"


# ── validate_plans: shape ────────────────────────────────────────────────


def test_plans_must_be_a_non_empty_list(draft: Draft) -> None:
    assert validate_plans("starter", draft("agent")) == (
        [],
        [FieldError("plans", "must be a list of plans (got 'starter')")],
    )
    assert validate_plans([], draft("agent")) == ([], [FieldError("plans", "add at least one plan")])


def test_normalised_plans_are_camel_case_with_defaults_applied(draft: Draft) -> None:
    plans, errors = validate_plans([plan(priceYearly=290.5)], draft("agent"))

    assert errors == []
    assert [p.model_dump(by_alias=True) for p in plans] == [
        {
            "id": None,
            "name": "Starter",
            "tier": "starter",
            "priceMonthly": Decimal("29.00"),
            "priceYearly": Decimal("290.50"),
            "currency": "USD",
            "limits": {
                "messages": 1_000,
                "tokens": 100_000,
                "apiCalls": None,
                "executions": None,
                "users": 1,
                "storageMB": None,
                "rateLimitRpm": 60,
                "concurrency": 5,
            },
            "runtimeType": "shared",
            "features": [],
        }
    ]


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ({"limits": {"messages": -1}}, "plans[0].limits.messages", "at least 0"),
        ({"limits": {"messages": "lots"}}, "plans[0].limits.messages", "whole number"),
        ({"limits": {"seats": 3}}, "plans[0].limits.seats", "unknown field 'seats'"),
        ({"priceMonthly": -1}, "plans[0].priceMonthly", "at least 0"),
        ({"priceMonthly": "9.999"}, "plans[0].priceMonthly", "at most 2 decimal places"),
        ({"priceMonthly": True}, "plans[0].priceMonthly", "must be a number"),
        ({"currency": "dollars"}, "plans[0].currency", "must be in the form"),
        ({"runtimeType": "serverless"}, "plans[0].runtimeType", "'shared' or 'dedicated'"),
        ({"name": "  "}, "plans[0].name", "must not be empty"),
    ],
)
def test_plan_type_errors_have_indexed_paths(
    fields: dict[str, Any], path: str, fragment: str, draft: Draft
) -> None:
    plans, errors = validate_plans([plan(**fields)], draft("agent"))

    assert fragment in message_at(errors, path)
    assert plans == []


def test_a_plan_that_is_not_an_object_is_reported(draft: Draft) -> None:
    _, errors = validate_plans([plan(), "pro"], draft("agent"))

    assert "must be an object" in message_at(errors, "plans[1]")


def test_plan_name_and_tier_are_required(draft: Draft) -> None:
    _, errors = validate_plans([{}], draft("agent"))

    assert message_at(errors, "plans[0].name") == "is required"
    assert message_at(errors, "plans[0].tier") == "is required"


def test_unknown_tier_is_reported_once(draft: Draft) -> None:
    _, errors = validate_plans([plan(tier="gold")], draft("agent"))

    assert [error.path for error in errors] == ["plans[0].tier"]
    assert "'starter', 'pro', 'enterprise' or 'custom'" in errors[0].message


# ── validate_plans: rules ────────────────────────────────────────────────


def test_plan_names_are_unique_ignoring_case(draft: Draft) -> None:
    _, errors = validate_plans([plan("Pro", "pro"), plan("pro ", "pro")], draft("agent"))

    assert "duplicate plan name 'pro' (same as plans[0].name)" in message_at(errors, "plans[1].name")


@pytest.mark.parametrize("tier", ["starter", "pro"])
def test_a_paid_tier_needs_a_monthly_price(tier: str, draft: Draft) -> None:
    _, errors = validate_plans([{"name": "Paid", "tier": tier}], draft("agent"))

    assert f"a {tier} plan is paid" in message_at(errors, "plans[0].priceMonthly")


def test_a_free_starter_plan_is_allowed(draft: Draft) -> None:
    assert validate_plans([plan(priceMonthly=0)], draft("agent"))[1] == []


@pytest.mark.parametrize("tier", ["enterprise", "custom"])
def test_enterprise_and_custom_may_be_contact_us(tier: str, draft: Draft) -> None:
    capabilities = draft("agent", runtime={"deployment": "hybrid"})

    assert validate_plans([{"name": "Big", "tier": tier}], capabilities)[1] == []


def test_yearly_price_cannot_exceed_twelve_monthly_prices(draft: Draft) -> None:
    _, errors = validate_plans([plan(priceMonthly=10, priceYearly="120.01")], draft("agent"))

    assert "must not exceed 12 x priceMonthly (120.00)" in message_at(errors, "plans[0].priceYearly")
    assert validate_plans([plan(priceMonthly=10, priceYearly=120)], draft("agent"))[1] == []


def test_a_dedicated_plan_needs_a_dedicated_or_hybrid_product(draft: Draft) -> None:
    _, errors = validate_plans(
        [{"name": "Enterprise", "tier": "enterprise", "runtimeType": "dedicated"}], draft("agent")
    )

    message = message_at(errors, "plans[0].runtimeType")
    assert "a dedicated plan needs runtime.deployment 'dedicated' or 'hybrid'" in message
    assert "default" not in message


@pytest.mark.parametrize(
    ("tier", "deployment", "runtime_type"),
    [
        ("enterprise", "shared", "shared"),
        ("custom", "shared", "shared"),
        ("enterprise", "hybrid", "dedicated"),
        ("enterprise", "dedicated", "dedicated"),
        ("starter", "dedicated", "dedicated"),
        ("pro", "hybrid", "shared"),
    ],
)
def test_a_plan_without_a_runtime_type_gets_one_the_product_can_serve(
    draft: Draft, tier: str, deployment: str, runtime_type: str
) -> None:
    plans, errors = validate_plans([plan("Plan", tier)], draft("agent", runtime={"deployment": deployment}))

    assert errors == []
    assert plans[0].runtime_type == runtime_type


def test_more_plans_than_the_cap_are_one_error_at_plans(draft: Draft) -> None:
    plans, errors = validate_plans([plan(f"P{i}") for i in range(MAX_PLANS + 1)], draft("agent"))

    assert plans == []
    assert [(e.path, e.message) for e in errors] == [
        ("plans", f"at most {MAX_PLANS} plans (got {MAX_PLANS + 1})")
    ]
    assert validate_plans([plan(f"P{i}") for i in range(MAX_PLANS)], draft("agent"))[1] == []


def test_a_shared_plan_needs_a_shared_or_hybrid_product(draft: Draft) -> None:
    _, errors = validate_plans(
        [plan(runtimeType="shared")], draft("agent", runtime={"deployment": "dedicated"})
    )

    assert "a shared plan needs runtime.deployment 'shared' or 'hybrid'" in message_at(
        errors, "plans[0].runtimeType"
    )


def test_a_hybrid_product_takes_shared_and_dedicated_plans(draft: Draft) -> None:
    capabilities = draft("agent", runtime={"deployment": "hybrid"})

    assert validate_plans([plan(), {"name": "Enterprise", "tier": "enterprise"}], capabilities)[1] == []


def test_a_price_in_exponent_notation_is_refused(draft: Draft) -> None:
    _, errors = validate_plans([plan(priceMonthly="1e5"), plan("B", priceMonthly="NaN")], draft("agent"))

    assert "no exponent (got '1e5')" in message_at(errors, "plans[0].priceMonthly")
    assert "a decimal number such as 29 or 29.99" in message_at(errors, "plans[1].priceMonthly")
    assert validate_plans([plan(priceMonthly="100000.50")], draft("agent"))[1] == []


def test_every_plan_limit_is_bounded(draft: Draft) -> None:
    limits = {"messages": 10**20, "tokens": PLAN_LIMIT_MAX + 1, "users": PLAN_LIMIT_MAX}
    platform = {"storageMB": 10**6, "rateLimitRpm": 10**6, "concurrency": 10**6}

    _, errors = validate_plans(
        [plan(limits=limits), plan("Big", "enterprise", limits=platform)], draft("agent")
    )

    assert message_at(errors, "plans[0].limits.messages") == (
        f"must be at most {PLAN_LIMIT_MAX} (got 100000000000000000000)"
    )
    assert f"at most {PLAN_LIMIT_MAX}" in message_at(errors, "plans[0].limits.tokens")
    assert [e.path for e in errors if e.path.startswith("plans[0]")] == [
        "plans[0].limits.messages",
        "plans[0].limits.tokens",
    ]
    assert message_at(errors, "plans[1].limits.storageMB") == "must be at most 10240 (got 1000000)"
    assert message_at(errors, "plans[1].limits.rateLimitRpm") == "must be at most 10000 (got 1000000)"
    assert message_at(errors, "plans[1].limits.concurrency") == "must be at most 1000 (got 1000000)"


def test_plan_rate_limit_and_concurrency_stay_within_the_runtime_limits(draft: Draft) -> None:
    capabilities = draft("agent", runtime={"limits": {"rateLimit": 100, "concurrency": 10}})

    _, errors = validate_plans([plan("Pro", "pro"), plan(limits={"concurrency": 11})], capabilities)

    assert "allows at most 100 requests per minute" in message_at(errors, "plans[0].limits.rateLimitRpm")
    assert "the pro default" in message_at(errors, "plans[0].limits.rateLimitRpm")
    assert "allows at most 10 concurrent sessions" in message_at(errors, "plans[0].limits.concurrency")
    assert "default" not in message_at(errors, "plans[1].limits.concurrency")


def test_an_unlimited_rate_limit_is_bounded_by_the_runtime_not_an_error(draft: Draft) -> None:
    capabilities = draft("agent", runtime={"deployment": "dedicated", "limits": {"rateLimit": 100}})

    assert validate_plans([{"name": "Enterprise", "tier": "enterprise"}], capabilities)[1] == []


def test_plan_storage_stays_within_the_knowledge_limits(draft: Draft) -> None:
    _, errors = validate_plans([plan(limits={"storageMB": 501})], draft("agent"))

    assert "allow at most 500 MB" in message_at(errors, "plans[0].limits.storageMB")


def test_an_execution_quota_needs_a_workflow(draft: Draft) -> None:
    _, errors = validate_plans([plan(limits={"executions": 1000})], draft("agent"))

    assert "runs no workflows" in message_at(errors, "plans[0].limits.executions")
    assert validate_plans([plan(limits={"executions": 1000})], draft("automation"))[1] == []


@pytest.mark.parametrize(
    "feature",
    [
        "rag",
        "persona",
        "branding",
        "widget",
        "api",
        "mcp",
        "webhooks",
        "voice",
        "integrations.slack",
        "workflowAdvanced.code",
    ],
)
def test_a_capability_feature_must_be_enabled_in_the_capabilities(feature: str, draft: Draft) -> None:
    capabilities = draft(
        "app",
        interfaces={
            "widget": {"enabled": False},
            "api": {"enabled": False},
            "integrations": {"platforms": ["teams"]},
        },
    )

    _, errors = validate_plans([plan(features=["Email support", feature])], capabilities)

    assert f"'{feature}' names a capability the product does not offer" in message_at(
        errors, "plans[0].features[1]"
    )


def test_capability_features_that_are_enabled_pass(draft: Draft) -> None:
    capabilities = draft(
        "agent",
        interfaces={
            "chat": {"modes": ["text", "voice"]},
            "integrations": {"enabled": True, "platforms": ["slack"]},
        },
        configuration={"branding": {"enabled": True, "options": {"logo": True}}},
    )
    features = [
        "rag",
        "persona",
        "Branding",
        "widget",
        "API",
        "mcp",
        "voice",
        "integrations.slack",
        "rag.citations",
    ]

    assert validate_plans([plan(features=[*features, "24/7 support", "99.9% SLA"])], capabilities)[1] == []


def test_an_unknown_capability_reference_is_reported(draft: Draft) -> None:
    _, errors = validate_plans(
        [plan(features=["integrations.myspace", "rag.foo", "e.g. anything"])], draft("agent")
    )

    assert "unknown capability feature 'integrations.myspace'" in message_at(errors, "plans[0].features[0]")
    assert "unknown capability feature 'rag.foo'" in message_at(errors, "plans[0].features[1]")
    assert all(error.path != "plans[0].features[2]" for error in errors)


def test_code_feature_passes_on_an_enterprise_automation(draft: Draft) -> None:
    capabilities = draft(
        "automation",
        runtime={"deployment": "dedicated"},
        configuration={"workflowAdvanced": {"actions": {"code": True}}},
    )

    assert (
        validate_plans(
            [{"name": "Ent", "tier": "enterprise", "features": ["workflowAdvanced.code"]}], capabilities
        )[1]
        == []
    )


def test_invalid_capabilities_are_reported_and_plans_still_checked() -> None:
    plans, errors = validate_plans([plan(), plan()], ProductCapabilities(category="agent"))

    assert "the capability document is invalid" in message_at(errors, "capabilities")
    assert "duplicate plan name" in message_at(errors, "plans[1].name")
    assert len(plans) == 2


def test_every_plan_error_is_collected(draft: Draft) -> None:
    _, errors = validate_plans(
        [
            {"name": "A", "tier": "starter", "limits": {"rateLimitRpm": 100_000}},
            {"name": "B", "tier": "pro", "priceMonthly": 10, "priceYearly": 500, "features": ["voice"]},
            {"name": "A", "tier": "enterprise", "runtimeType": "dedicated"},
        ],
        draft("agent"),
    )

    assert {error.path for error in errors} == {
        "plans[0].priceMonthly",
        "plans[0].limits.rateLimitRpm",
        "plans[1].priceYearly",
        "plans[1].features[0]",
        "plans[2].runtimeType",
        "plans[2].name",
    }


def test_a_dedicated_plan_may_state_its_sla_and_a_shared_one_may_not(draft: Draft) -> None:
    capabilities = draft("agent", runtime={"deployment": "hybrid"})
    sla = {"availability": 99.95, "latencyP95Ms": 1000}
    plans, errors = validate_plans(
        [{"name": "Enterprise", "tier": "enterprise", "runtimeType": "dedicated", "sla": sla}], capabilities
    )
    assert errors == [] and plans[0].to_document()["sla"] == sla
    _, errors = validate_plans(
        [{"name": "Pro", "tier": "pro", "priceMonthly": "9.00", "sla": sla}], capabilities
    )
    assert [(e.path, e.message) for e in errors] == [
        ("plans[0].sla", "an SLA applies to dedicated plans only (runtimeType 'dedicated')")
    ]
    _, errors = validate_plans(
        [{"name": "E", "tier": "enterprise", "sla": {"availability": 100, "latencyP95Ms": 300}}], capabilities
    )
    assert {e.path for e in errors} == {"plans[0].sla.availability", "plans[0].sla.latencyP95Ms"}
    plans, _ = validate_plans([{"name": "E", "tier": "enterprise"}], capabilities)
    assert "sla" not in plans[0].to_document()


def test_a_partial_sla_takes_the_default_of_the_field_left_out(draft: Draft) -> None:
    """Found by a new-user trial: `{"availability": 99.5}` was refused as missing `latencyP95Ms`, on a shared
    plan even before the "dedicated plans only" rule."""
    capabilities = draft("agent", runtime={"deployment": "hybrid"})
    plans, errors = validate_plans(
        [{"name": "E", "tier": "enterprise", "runtimeType": "dedicated", "sla": {"availability": 99.5}}],
        capabilities,
    )
    assert errors == [] and plans[0].to_document()["sla"] == {"availability": 99.5, "latencyP95Ms": 2000}
    _, errors = validate_plans(
        [{"name": "Pro", "tier": "pro", "priceMonthly": "9.00", "sla": {"availability": 99.5}}], capabilities
    )
    assert [(e.path, e.message) for e in errors] == [
        ("plans[0].sla", "an SLA applies to dedicated plans only (runtimeType 'dedicated')")
    ]
