"""The credential rules without a database: key format and masking, scopes against capabilities, rate limits
against the plan, expiry, origins, widget token derivation, and the embed snippet's escaping."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmp.capabilities.validation import validate_capabilities
from cmp.commerce.model import Subscription
from cmp.errors import Conflict, Forbidden, ValidationFailed
from cmp.tenancy.credentials import (
    BASE62,
    MAX_KEY_LIFETIME_DAYS,
    SCOPE_NEEDS,
    SCOPES,
    ApiKey,
    ApiKeyRequest,
    WidgetToken,
    normalise_origin,
    origin_errors,
    random_secret,
    widget_settings,
    widget_token_value,
)
from cmp.tenancy.integrate import WidgetEmbed
from cmp.web.integrate_schemas import EmbedSnippet

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KEY = "unit-test-widget-key"


def document(**overrides: Any) -> dict[str, Any]:
    result = validate_capabilities({"category": "agent", "subcategory": {"agent": "single"}, **overrides})
    assert result.capabilities is not None, result.errors
    return result.capabilities.to_document()


def subscription(**changes: Any) -> Subscription:
    base = Subscription(
        id=uuid.UUID(int=7),
        tenant_id=uuid.UUID(int=1),
        project_id=uuid.UUID(int=2),
        seller_tenant_id=uuid.UUID(int=3),
        product_id=uuid.UUID(int=4),
        product_version="1.0.0",
        product_name="Support Agent",
        product_slug="support-agent",
        category="agent",
        plan_id="plan_pro",
        plan={"id": "plan_pro", "tier": "pro", "limits": {"rateLimitRpm": 300}},
        capabilities=document(),
        runtime_type="shared",
        status="active",
        billing_period="monthly",
        currency="USD",
        amount=2900,
        current_period_start=NOW - timedelta(days=1),
        current_period_end=NOW + timedelta(days=29),
        payment_provider="local",
    )
    return replace(base, **changes)


def issue(request: ApiKeyRequest, held: Subscription | None = None) -> tuple[ApiKey, str]:
    return ApiKey.issue(uuid.UUID(int=99), held or subscription(), request, uuid.UUID(int=5), NOW)


# ---------------------------------------------------------------------------------------------- keys
def test_a_live_key_is_190_random_bits_after_its_prefix_and_is_kept_only_as_its_hash() -> None:
    key, secret = issue(ApiKeyRequest("Production"))
    assert secret.startswith("ar_sk_live_") and len(secret) == len("ar_sk_live_") + 32
    assert set(secret[len("ar_sk_live_") :]) <= set(BASE62)
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key.masked == f"ar_sk_live_****{secret[-3:]}" and key.key_hint == secret[-3:]
    assert secret not in repr(key) and secret[11:] not in repr(key)
    assert (key.scopes, key.environment, key.rate_limit_per_minute, key.expires_at) == (
        ["invoke"],
        "live",
        None,
        None,
    )
    assert key.status(NOW) == "active"


def test_test_keys_have_their_own_prefix_and_secrets_do_not_repeat() -> None:
    key, secret = issue(ApiKeyRequest("Dev", environment="test"))
    assert secret.startswith("ar_sk_test_") and key.masked.startswith("ar_sk_test_****")
    assert len({random_secret("ar_sk_live_") for _ in range(2000)}) == 2000


def test_every_scope_has_a_capability_rule() -> None:
    assert tuple(SCOPE_NEEDS) == SCOPES
    assert all(paths for paths in SCOPE_NEEDS.values())


def test_scopes_are_checked_against_the_products_capabilities() -> None:
    lean = subscription(
        capabilities=document(
            configuration={"knowledge": {"enabled": False}, "rag": {"enabled": False}},
            analytics={"usage": {"enabled": False}},
        )
    )
    with pytest.raises(Forbidden) as refused:
        issue(ApiKeyRequest("K", ["invoke", "knowledge:read", "analytics:read"]), lean)
    assert [(e.path, e.message) for e in refused.value.errors] == [
        (
            "scopes[1]",
            "'knowledge:read' needs configuration.knowledge.enabled or configuration.rag.enabled, which this "
            "product does not offer",
        ),
        ("scopes[2]", "'analytics:read' needs analytics.usage.enabled, which this product does not offer"),
    ]
    only_rag = subscription(capabilities=document(configuration={"knowledge": {"enabled": False}}))
    key, _ = issue(ApiKeyRequest("K", ["knowledge:write", "knowledge:write"]), only_rag)
    assert key.scopes == ["knowledge:write"]
    no_api = subscription(capabilities=document(interfaces={"api": {"enabled": False}}))
    with pytest.raises(Forbidden) as no_invoke:
        issue(ApiKeyRequest("K"), no_api)
    assert "needs interfaces.api.enabled" in no_invoke.value.errors[0].message


def test_every_problem_of_a_request_is_listed_at_once() -> None:
    with pytest.raises(ValidationFailed) as refused:
        issue(ApiKeyRequest(" ", ["invoke", "root"], NOW - timedelta(seconds=1), 301, "prod"))
    assert [e.path for e in refused.value.errors] == [
        "name",
        "scopes[1]",
        "expires_at",
        "rate_limit_per_minute",
        "environment",
    ]
    with pytest.raises(ValidationFailed, match="API key request") as empty:
        issue(ApiKeyRequest("K", []))
    assert empty.value.errors[0].path == "scopes"


def test_the_rate_limit_ceiling_is_the_plans_else_the_products() -> None:
    with pytest.raises(ValidationFailed) as refused:
        issue(ApiKeyRequest("K", rate_limit_per_minute=301))
    assert refused.value.errors[0].message.endswith("(plan.limits.rateLimitRpm)")
    assert issue(ApiKeyRequest("K", rate_limit_per_minute=300))[0].rate_limit_per_minute == 300
    unlimited_plan = subscription(
        plan={"tier": "enterprise", "limits": {"rateLimitRpm": None}},
        capabilities=document(runtime={"limits": {"rateLimit": 1000}}),
    )
    assert (
        issue(ApiKeyRequest("K", rate_limit_per_minute=1000), unlimited_plan)[0].rate_limit_per_minute == 1000
    )
    with pytest.raises(ValidationFailed, match="API key request") as above:
        issue(ApiKeyRequest("K", rate_limit_per_minute=1001), unlimited_plan)
    assert above.value.errors[0].message.endswith("(runtime.limits.rateLimit)")
    with pytest.raises(ValidationFailed):
        issue(ApiKeyRequest("K", rate_limit_per_minute=0))


def test_expiry_is_in_the_future_and_has_an_offset() -> None:
    key, _ = issue(ApiKeyRequest("K", expires_at=NOW + timedelta(seconds=1)))
    assert key.status(NOW) == "active" and key.status(NOW + timedelta(seconds=1)) == "expired"
    with pytest.raises(ValidationFailed, match="API key request"):
        issue(ApiKeyRequest("K", expires_at=datetime(2030, 1, 1)))  # a time without its offset


@pytest.mark.parametrize("text", ["9999-12-31T23:59:59-12:00", "9999-12-31T00:00:00+00:00"])
def test_an_expiry_beyond_ten_years_is_refused_before_it_can_be_stored(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        issue(ApiKeyRequest("K", expires_at=datetime.fromisoformat(text)))
    assert [e.path for e in refused.value.errors] == ["expires_at"]
    assert "days ahead" in refused.value.errors[0].message
    issue(ApiKeyRequest("K", expires_at=NOW + timedelta(days=MAX_KEY_LIFETIME_DAYS)))


def test_only_a_live_subscription_takes_keys_and_revoking_twice_is_harmless() -> None:
    for status in ("cancelled", "expired"):
        with pytest.raises(Conflict, match=status):
            issue(ApiKeyRequest("K"), subscription(status=status))
    for status in ("provisioning", "past_due", "suspended"):
        issue(ApiKeyRequest("K"), subscription(status=status))
    key, _ = issue(ApiKeyRequest("K", expires_at=NOW + timedelta(days=1)))
    assert key.revoke(NOW) is True and key.revoke(NOW + timedelta(hours=1)) is False
    assert key.revoked_at == NOW and key.status(NOW + timedelta(days=2)) == "revoked"


# ---------------------------------------------------------------------------------------------- origins
@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://Shop.Example.COM", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1", "http://127.0.0.1"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("https://203.0.113.7", "https://203.0.113.7"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(given: str, origin: str) -> None:
    assert normalise_origin(given) == (origin, None)


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("http://shop.example.com", "must use https"),
        ("https://*.example.com", "wildcards"),
        ("https://shop.example.com/checkout", "path, query or fragment"),
        ("https://shop.example.com?x=1", "path, query or fragment"),
        ("https://shop.example.com#top", "path, query or fragment"),
        ("https://user:pw@shop.example.com", "credentials"),
        ("shop.example.com", "scheme://host"),
        ("ftp://shop.example.com", "scheme://host"),
        ("https://bücher.example", "xn--"),
        ("https://shop.example.com:99999", "scheme://host"),
        ("https://a.com:0", "port 0"),
        ("https://[::1]", "not a valid host"),
        ("https://-bad-.example", "not a valid host"),
    ],
)
def test_what_is_not_an_acceptable_origin_says_why(given: str, reason: str) -> None:
    origin, problem = normalise_origin(given)
    assert origin is None and reason in str(problem)


def test_origins_are_deduplicated_at_least_one_at_most_twenty() -> None:
    accepted, errors = origin_errors(["https://a.example", "https://A.example:443", "http://localhost"])
    assert (accepted, errors) == (["https://a.example", "http://localhost"], [])
    assert origin_errors([])[1][0].path == "allowed_origins"
    twenty_one = [f"https://s{i}.example" for i in range(21)]
    assert origin_errors(twenty_one)[1][0].message == "at most 20 origins (got 21)"
    assert origin_errors([*twenty_one[:20], "https://s0.example"])[1] == []


# ---------------------------------------------------------------------------------------------- widget
def test_a_widget_token_is_derived_from_the_platform_key_and_stored_as_its_hash() -> None:
    token, value = WidgetToken.issue(
        uuid.UUID(int=11), subscription(), "Shop", ["https://a.example"], None, KEY, NOW
    )
    assert value == widget_token_value(KEY, token.id) and value.startswith("ar_wt_") and len(value) == 38
    assert widget_token_value(KEY, uuid.UUID(int=12)) != value
    assert widget_token_value("another key", token.id) != value
    assert token.token_hash == hashlib.sha256(value.encode()).hexdigest()
    assert token.masked == f"ar_wt_****{value[-3:]}"
    assert token.value(KEY) == value
    with pytest.raises(Conflict, match="earlier platform key"):
        token.value("a rotated key")
    assert token.revoke(NOW) and not token.revoke(NOW)
    with pytest.raises(Conflict, match="revoked"):
        token.value(KEY)


def test_a_widget_token_needs_the_widget_capability_and_a_live_subscription() -> None:
    no_widget = subscription(capabilities=document(interfaces={"widget": {"enabled": False}}))
    with pytest.raises(Forbidden) as refused:
        WidgetToken.issue(uuid.UUID(int=11), no_widget, "W", ["https://a.example"], None, KEY, NOW)
    assert refused.value.errors[0].path == "interfaces.widget.enabled"
    with pytest.raises(Conflict):
        WidgetToken.issue(uuid.UUID(int=11), subscription(status="cancelled"), "W", [], None, KEY, NOW)
    with pytest.raises(ValidationFailed) as invalid:
        WidgetToken.issue(uuid.UUID(int=11), subscription(), "", ["http://a.example"], None, KEY, NOW)
    assert [e.path for e in invalid.value.errors] == ["name", "allowed_origins[0]"]


def test_the_widget_settings_are_the_configuration_over_the_products_default_type() -> None:
    held = subscription(capabilities=document(interfaces={"widget": {"enabled": True, "types": ["inline"]}}))
    assert widget_settings(held, held.capabilities) == {"type": "inline"}
    configured = replace(held, configuration={"widget": {"type": "popup", "position": "bottom-left"}})
    assert widget_settings(configured, configured.capabilities) == {
        "type": "popup",
        "position": "bottom-left",
    }
    untyped = replace(held, capabilities={"interfaces": {"widget": {"enabled": True, "types": []}}})
    assert widget_settings(untyped, untyped.capabilities) == {"type": "floating"}


def test_the_embed_snippet_escapes_every_value_and_keeps_its_own_attributes() -> None:
    token, value = WidgetToken.issue(
        uuid.UUID(int=11), subscription(), "Shop", ["https://a.example"], None, KEY, NOW
    )
    settings = {
        "type": "floating",
        "launcherText": 'Hi "there" <b>&',
        "colors": {"primary": "#7c3aed"},
        "size": {"width": 400},
        "showAvatar": True,
        "token": "forged",
        "avatar": None,
        "tags": ["a", "b"],
    }
    snippet = EmbedSnippet.of(
        WidgetEmbed(token, value, uuid.UUID(int=7), settings), 'https://cdn.example/w.js?"x'
    )
    assert snippet.html == (
        '<script src="https://cdn.example/w.js?&quot;x" '
        f'data-token="{value}" data-subscription="{uuid.UUID(int=7)}" data-type="floating" '
        'data-launcher-text="Hi &quot;there&quot; &lt;b&gt;&amp;" data-colors-primary="#7c3aed" '
        'data-size-width="400" data-show-avatar="true" data-tags="a,b" async></script>'
    )
    streaming = EmbedSnippet.of(
        WidgetEmbed(token, value, uuid.UUID(int=7), {}), "https://cdn.example/w.js", "wss://ws.example/prod"
    )
    assert ' data-websocket="wss://ws.example/prod" async>' in streaming.html
