"""The buyer's integration credentials and their rules: API keys and widget tokens. No I/O here.

An **API key** authenticates calls to one subscription's product (REST, MCP). Its secret is `ar_sk_live_`
or `ar_sk_test_` (spec Part 3) followed by 32 characters drawn from `secrets` in base62 (32 x log2(62) =
190 bits), shown once; only its SHA-256 (hex) and its last 3 characters are kept, so a list shows it as
`ar_sk_live_****abc`. Its scopes say what it may do, each needing a capability of the product; its rate
limit is at most the plan's.

A **widget token** lets the embedded widget call the product from the browser origins it lists. It is
printed into the buyer's web pages, so it is public by nature: what protects it is the origin list,
revocation and the rate limits, not secrecy. Its value is derived (`widget_token_value`: HMAC-SHA256 under a
platform key) so the embed snippet can be given again without the token being stored; the database holds its
SHA-256 like a key's, for the gateway's lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlsplit
from uuid import UUID

from cmp.capabilities.paths import dig
from cmp.commerce.model import Subscription
from cmp.errors import Conflict, FieldError, Forbidden, ValidationFailed

Environment = Literal["live", "test"]
Scope = Literal[
    "invoke", "knowledge:read", "knowledge:write", "workflows:run", "workflows:manage", "analytics:read"
]
CredentialStatus = Literal["active", "expired", "revoked"]

ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
SCOPES: tuple[str, ...] = get_args(Scope)
DEFAULT_SCOPES: tuple[str, ...] = ("invoke",)
KEY_PREFIXES: dict[str, str] = {"live": "ar_sk_live_", "test": "ar_sk_test_"}
WIDGET_TOKEN_PREFIX = "ar_wt_"
BASE62 = string.digits + string.ascii_letters
SECRET_LENGTH = 32
"""Random characters after the prefix: 32 base62 characters carry 190 bits."""
HINT_LENGTH = 3
"""Trailing characters kept in clear to tell credentials apart (spec: `ar_sk_live_****abc`)."""
MAX_NAME_LENGTH = 100
MAX_ORIGINS = 20
DEFAULT_WIDGET_TYPE = "floating"

SCOPE_NEEDS: dict[str, tuple[str, ...]] = {
    "invoke": ("interfaces.api.enabled",),
    "knowledge:read": ("configuration.knowledge.enabled", "configuration.rag.enabled"),
    "knowledge:write": ("configuration.knowledge.enabled", "configuration.rag.enabled"),
    "workflows:run": ("configuration.workflow.enabled", "configuration.workflowAdvanced.enabled"),
    "workflows:manage": ("configuration.workflow.enabled",),
    "analytics:read": ("analytics.usage.enabled",),
}
"""What each scope needs of the product's capabilities: at least one of these switches on."""

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
"""The only hosts a plain-http origin may name (a developer's machine)."""
DEFAULT_PORTS = {"https": 443, "http": 80}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


# ---------------------------------------------------------------------------------------------- secrets
def random_secret(prefix: str) -> str:
    """`prefix` followed by SECRET_LENGTH base62 characters from the operating system's CSPRNG."""
    return prefix + "".join(secrets.choice(BASE62) for _ in range(SECRET_LENGTH))


def secret_hash(secret: str) -> str:
    """The SHA-256 of a credential as 64 lowercase hex digits: what is stored and what the gateway looks up.

    A fast hash is right here (unlike for passwords): the secret is 190 random bits, so there is no list of
    likely values to try at speed (docs/decisions.md, "API keys are stored as SHA-256")."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def masked(prefix: str, hint: str) -> str:
    """How a credential is shown after its creation: `ar_sk_live_****abc`."""
    return f"{prefix}****{hint}"


def widget_token_value(key: str, token_id: UUID) -> str:
    """The widget token of `token_id`: `ar_wt_` + SECRET_LENGTH base62 characters of
    HMAC-SHA256(key, "cmp-widget-token:" + the id's 16 bytes). Whoever holds the platform key can derive it
    again; nobody can from the database alone."""
    digest = hmac.new(key.encode("utf-8"), b"cmp-widget-token:" + token_id.bytes, hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    characters = []
    for _ in range(SECRET_LENGTH):
        number, remainder = divmod(number, 62)
        characters.append(BASE62[remainder])
    return WIDGET_TOKEN_PREFIX + "".join(characters)


# ---------------------------------------------------------------------------------------------- rules
def product_capabilities(subscription: Subscription) -> dict[str, Any]:
    """The subscription's capability snapshot, complete (every switch present, defaults filled), as the
    camelCase document whose paths the rules name. Raises pydantic's `ValidationError` for a snapshot that
    does not have the schema's shape (snapshots are validated at purchase)."""
    from cmp.capabilities.models import ProductCapabilities  # ~120 models: only where a key is issued

    return ProductCapabilities.from_document(subscription.capabilities).to_document()


def require_live(subscription: Subscription) -> None:
    """Credentials are issued only for a subscription that holds its product; Conflict (409) otherwise."""
    if not subscription.is_live:
        raise Conflict(
            f"subscription {subscription.id} is {subscription.status}; it takes no new credentials"
        )


def require_capability(capabilities: dict[str, Any], path: str, what: str) -> None:
    """Forbidden (403) naming `path` unless that switch of the capability document is on."""
    if dig(capabilities, path) is not True:
        raise Forbidden(
            f"{what} needs {path}, which this product does not offer",
            errors=[FieldError(path, "is disabled for this product")],
        )


def name_errors(name: str) -> list[FieldError]:
    """A credential's name: 1 to MAX_NAME_LENGTH characters once trimmed, no control characters."""
    text = name.strip()
    if not text:
        return [FieldError("name", "must not be empty")]
    if len(text) > MAX_NAME_LENGTH:
        return [FieldError("name", f"at most {MAX_NAME_LENGTH} characters (got {len(text):,})")]
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return [FieldError("name", "must not contain control characters")]
    return []


def unknown_scope_errors(scopes: Sequence[str]) -> list[FieldError]:
    """422 problems of a scope list: empty, or naming a scope outside the vocabulary (`SCOPES`)."""
    if not scopes:
        return [FieldError("scopes", f"give at least one scope: {', '.join(SCOPES)}")]
    return [
        FieldError(f"scopes[{position}]", f"unknown scope '{scope}'; one of {', '.join(SCOPES)}")
        for position, scope in enumerate(scopes)
        if scope not in SCOPE_NEEDS
    ]


def forbidden_scope_errors(scopes: Sequence[str], capabilities: dict[str, Any]) -> list[FieldError]:
    """403 problems: each known scope whose capability (`SCOPE_NEEDS`) the product does not have, at
    `scopes[i]`, the message naming the capability path(s)."""
    errors = []
    for position, scope in enumerate(scopes):
        needs = SCOPE_NEEDS.get(scope, ())
        if needs and not any(dig(capabilities, path) is True for path in needs):
            errors.append(
                FieldError(
                    f"scopes[{position}]",
                    f"'{scope}' needs {' or '.join(needs)}, which this product does not offer",
                )
            )
    return errors


def rate_limit_ceiling(subscription: Subscription, capabilities: dict[str, Any]) -> tuple[int | None, str]:
    """The most requests per minute a key of this subscription may be given, and the path it comes from: the
    plan's `limits.rateLimitRpm`, or when the plan leaves it null ("up to what the product allows") the
    product's `runtime.limits.rateLimit` (cmp.capabilities.plans). None when neither says."""
    plan_limit = dig(subscription.plan, "limits.rateLimitRpm")
    if isinstance(plan_limit, int):
        return plan_limit, "plan.limits.rateLimitRpm"
    runtime_limit = dig(capabilities, "runtime.limits.rateLimit")
    if isinstance(runtime_limit, int):
        return runtime_limit, "runtime.limits.rateLimit"
    return None, "plan.limits.rateLimitRpm"


def rate_limit_errors(value: int | None, ceiling: int | None, source: str) -> list[FieldError]:
    """A key's own limit: null (the plan's) or 1 to `ceiling` requests per minute."""
    if value is None:
        return []
    if value < 1:
        return [
            FieldError(
                "rate_limit_per_minute", "must be at least 1 request per minute, or null for the plan's"
            )
        ]
    if ceiling is not None and value > ceiling:
        return [
            FieldError(
                "rate_limit_per_minute",
                f"is {value:,} but the plan allows at most {ceiling:,} requests per minute ({source})",
            )
        ]
    return []


MAX_KEY_LIFETIME_DAYS = 3660
"""The latest expiry a key may have: about ten years ahead (omit `expires_at` for a key that never
expires). It also keeps every stored expiry a date Python and PostgreSQL both read back (year ≤ 9999)."""


def expiry_errors(expires_at: datetime | None, now: datetime) -> list[FieldError]:
    """An expiry is optional (never expires); when given it carries its offset and lies in the future, at
    most `MAX_KEY_LIFETIME_DAYS` ahead."""
    if expires_at is None:
        return []
    if expires_at.tzinfo is None:
        return [FieldError("expires_at", "give the time with its offset, e.g. 2027-01-31T00:00:00Z")]
    if expires_at <= now:
        return [FieldError("expires_at", f"must be in the future (now is {now.isoformat()})")]
    latest = now + timedelta(days=MAX_KEY_LIFETIME_DAYS)
    if expires_at > latest:
        return [
            FieldError(
                "expires_at",
                f"must be at most {MAX_KEY_LIFETIME_DAYS:,} days ahead (by {latest.date().isoformat()}); "
                "leave it out for a key that never expires",
            )
        ]
    return []


def normalise_origin(text: str) -> tuple[str | None, str | None]:
    """`(origin, None)` for an acceptable browser origin written as `scheme://host[:port]`, normalised as
    browsers send it in the `Origin` header (lower case, default port dropped, one trailing slash allowed);
    `(None, reason)` otherwise. https only, except http for localhost and 127.0.0.1; no path, query,
    fragment, credentials or wildcard; hosts in ASCII (IDNA `xn--` form) or IPv4."""
    value = text.strip()
    if "*" in value:
        return None, "wildcards are not accepted; list each origin"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None, "is not an origin: write scheme://host[:port], e.g. https://shop.example.com"
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not parts.netloc or not host:
        return None, "is not an origin: write scheme://host[:port], e.g. https://shop.example.com"
    if parts.username is not None or parts.password is not None:
        return None, "must not contain credentials"
    if port == 0:
        return None, "port 0 is not a port a browser can load a page from (use 1 to 65535)"
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        return None, "must not have a path, query or fragment: an origin is scheme://host[:port]"
    if not _valid_host(host):
        return None, f"'{host}' is not a valid host name (use the xn-- form for international names)"
    if scheme == "http" and host not in LOCAL_HOSTS:
        return None, "must use https (http is accepted only for localhost and 127.0.0.1)"
    shown_port = "" if port is None or port == DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{shown_port}", None


def _valid_host(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        pass
    labels = host.split(".")
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def origin_errors(origins: Sequence[str]) -> tuple[list[str], list[FieldError]]:
    """The origins normalised and deduplicated in the order given, and every problem (422): at least one,
    at most MAX_ORIGINS distinct, each acceptable to `normalise_origin` (at `allowed_origins[i]`)."""
    errors: list[FieldError] = []
    accepted: list[str] = []
    for position, text in enumerate(origins):
        origin, problem = normalise_origin(text)
        if origin is None:
            errors.append(FieldError(f"allowed_origins[{position}]", str(problem)))
        elif origin not in accepted:
            accepted.append(origin)
    if not origins:
        errors.append(FieldError("allowed_origins", "list at least one origin the widget is embedded on"))
    if len(accepted) > MAX_ORIGINS:
        errors.append(FieldError("allowed_origins", f"at most {MAX_ORIGINS} origins (got {len(accepted)})"))
    return accepted, errors


# ---------------------------------------------------------------------------------------------- entities
@dataclass(frozen=True)
class ApiKeyRequest:
    """What a buyer asks for: `scopes` None means DEFAULT_SCOPES, `rate_limit_per_minute` None the plan's
    limit, `expires_at` None never."""

    name: str
    scopes: Sequence[str] | None = None
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None
    environment: str = "live"


@dataclass
class ApiKey:
    """An API key of one subscription, without its secret (only `key_hash` and the last characters)."""

    id: UUID
    tenant_id: UUID
    subscription_id: UUID
    name: str
    environment: Environment
    key_prefix: str
    key_hint: str
    key_hash: str
    scopes: list[str]
    rate_limit_per_minute: int | None
    expires_at: datetime | None
    created_by: UUID | None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        key_id: UUID,
        subscription: Subscription,
        request: ApiKeyRequest,
        user_id: UUID | None,
        now: datetime,
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (to be shown once, never stored).

        Raises Conflict (409) when the subscription is not live; ValidationFailed (422) listing every
        problem of the name, environment, scopes (empty or unknown), expiry (past) and rate limit (above
        the plan's); Forbidden (403) listing each scope whose capability the product lacks."""
        require_live(subscription)
        capabilities = product_capabilities(subscription)
        scopes = list(DEFAULT_SCOPES if request.scopes is None else request.scopes)
        ceiling, source = rate_limit_ceiling(subscription, capabilities)
        errors = [
            *name_errors(request.name),
            *unknown_scope_errors(scopes),
            *expiry_errors(request.expires_at, now),
            *rate_limit_errors(request.rate_limit_per_minute, ceiling, source),
        ]
        if request.environment not in ENVIRONMENTS:
            errors.append(FieldError("environment", f"must be one of {', '.join(ENVIRONMENTS)}"))
        if errors:
            raise ValidationFailed("the API key request is invalid", errors=errors)
        forbidden = forbidden_scope_errors(scopes, capabilities)
        if forbidden:
            raise Forbidden("this product does not offer what these scopes need", errors=forbidden)
        environment: Environment = "test" if request.environment == "test" else "live"
        prefix = KEY_PREFIXES[environment]
        secret = random_secret(prefix)
        key = cls(
            id=key_id,
            tenant_id=subscription.tenant_id,
            subscription_id=subscription.id,
            name=request.name.strip(),
            environment=environment,
            key_prefix=prefix,
            key_hint=secret[-HINT_LENGTH:],
            key_hash=secret_hash(secret),
            scopes=list(dict.fromkeys(scopes)),
            rate_limit_per_minute=request.rate_limit_per_minute,
            expires_at=request.expires_at,
            created_by=user_id,
            created_at=now,
        )
        return key, secret

    @property
    def masked(self) -> str:
        """`ar_sk_live_****abc`."""
        return masked(self.key_prefix, self.key_hint)

    def status(self, now: datetime) -> CredentialStatus:
        """revoked (whatever its expiry), expired (its expiry passed), else active."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def revoke(self, now: datetime) -> bool:
        """Revoke the key; False when it already was (revoking twice is harmless)."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True


@dataclass
class WidgetToken:
    """A widget token of one subscription, bound to browser origins (its value is derived, not stored)."""

    id: UUID
    tenant_id: UUID
    subscription_id: UUID
    name: str
    token_hint: str
    token_hash: str
    allowed_origins: list[str]
    created_by: UUID | None
    revoked_at: datetime | None = None
    created_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def issue(
        cls,
        token_id: UUID,
        subscription: Subscription,
        name: str,
        origins: Sequence[str],
        user_id: UUID | None,
        key: str,
        now: datetime,
    ) -> tuple[WidgetToken, str]:
        """A new token and its value.

        Raises Conflict (409) when the subscription is not live; Forbidden (403) naming
        `interfaces.widget.enabled` when the product has no widget; ValidationFailed (422) listing every
        problem of the name and origins."""
        require_live(subscription)
        require_capability(product_capabilities(subscription), "interfaces.widget.enabled", "a widget token")
        accepted, errors = origin_errors(origins)
        errors = name_errors(name) + errors
        if errors:
            raise ValidationFailed("the widget token request is invalid", errors=errors)
        value = widget_token_value(key, token_id)
        token = cls(
            id=token_id,
            tenant_id=subscription.tenant_id,
            subscription_id=subscription.id,
            name=name.strip(),
            token_hint=value[-HINT_LENGTH:],
            token_hash=secret_hash(value),
            allowed_origins=accepted,
            created_by=user_id,
            created_at=now,
        )
        return token, value

    @property
    def masked(self) -> str:
        """`ar_wt_****abc`."""
        return masked(WIDGET_TOKEN_PREFIX, self.token_hint)

    def status(self) -> Literal["active", "revoked"]:
        """revoked or active (a widget token does not expire)."""
        return "revoked" if self.revoked_at is not None else "active"

    def revoke(self, now: datetime) -> bool:
        """Revoke the token; False when it already was (revoking twice is harmless)."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True

    def value(self, key: str) -> str:
        """The token, derived again for the embed snippet. Raises Conflict (409) when the token is revoked, or
        when the platform key changed since it was issued (its hash no longer matches: issue a new one)."""
        if self.revoked_at is not None:
            raise Conflict(f"widget token {self.id} is revoked; create a new one")
        value = widget_token_value(key, self.id)
        if not hmac.compare_digest(secret_hash(value), self.token_hash):
            raise Conflict(
                f"widget token {self.id} was issued under an earlier platform key; create a new one"
            )
        return value


def widget_settings(subscription: Subscription, capabilities: dict[str, Any]) -> dict[str, Any]:
    """What the embed snippet tells the widget: the subscription's `configuration.widget` section (validated
    when the buyer saved it) over the product's default, `type` = the first of `interfaces.widget.types`
    (`floating` when the seller lists none)."""
    types = dig(capabilities, "interfaces.widget.types")
    default_type = types[0] if isinstance(types, list) and types else DEFAULT_WIDGET_TYPE
    configured = subscription.configuration.get("widget")
    return {"type": default_type, **(configured if isinstance(configured, dict) else {})}


def require_mcp(capabilities: dict[str, Any]) -> None:
    """Forbidden (403) naming `interfaces.api.protocols` unless the product's API is on and speaks MCP."""
    protocols = dig(capabilities, "interfaces.api.protocols")
    if dig(capabilities, "interfaces.api.enabled") is not True or not (
        isinstance(protocols, list) and "mcp" in protocols
    ):
        raise Forbidden(
            "this product offers no MCP connection",
            errors=[FieldError("interfaces.api.protocols", "does not include mcp for this product")],
        )
