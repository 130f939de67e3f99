"""Plans: what a buyer can purchase, checked against what the capability document offers.

Tier defaults follow the spec's plan-based runtime selection: starter and pro run on the shared
runtime with fixed quotas; enterprise (and custom) run dedicated, unlimited unless the seller says
otherwise. A limit of null means unlimited, or for `rateLimitRpm`/`concurrency`/`storageMB`
"up to what the product's capabilities allow".

Prices are amounts of an ISO 4217 currency (`cmp.money`), with no more decimal places than the
currency's exponent, and every plan of a product is priced in one currency (plans[0]'s): a buyer compares
a product's plans, and the marketplace its starting price, without exchange rates. Each plan has a stable
`id` (`plan_` + 12 lower-case base32 characters) that orders and subscriptions refer to; see
`cmp.capabilities.plan_ids` for how ids survive edits.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from cmp.capabilities.base import PLAN_ID_PATTERN
from cmp.capabilities.defaults import deep_merge
from cmp.capabilities.maxima import PLATFORM_MAXIMA
from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.parsing import canonical_keys, parse_tolerant, show
from cmp.capabilities.plan_features import FEATURE_REFERENCE, capability_features
from cmp.capabilities.plan_ids import id_rules
from cmp.capabilities.validation import validate_capabilities
from cmp.errors import FieldError
from cmp.money import Money, exponent, is_currency, places_problem, with_exponent
from cmp.sla.targets import DEFAULT_AVAILABILITY, DEFAULT_LATENCY_P95_MS, LATENCY_BOUNDS_MS

PlanTier = Literal["starter", "pro", "enterprise", "custom"]
RuntimeType = Literal["shared", "dedicated"]
PAID_TIERS = frozenset({"starter", "pro"})
PLAN_DEPLOYMENTS: dict[str, tuple[str, ...]] = {
    "shared": ("shared", "hybrid"),
    "dedicated": ("dedicated", "hybrid"),
}
"""The capability deployments that can serve a plan of each runtime type."""
MAX_PLANS = 10
"""The most plans a product may offer (a buyer compares them side by side)."""

PLAN_LIMIT_MAX = 10**12
"""The ceiling of a plan quota the platform has no own maximum for (messages, tokens, API calls,
executions, users): far above any real plan, well inside a PostgreSQL bigint."""
Count = Annotated[int, Field(strict=True, ge=0, le=PLAN_LIMIT_MAX)]
PRICE_MAX = 10**12
"""The highest plan price in major units of any currency: above any real plan (10^12 IDR is ~60 million
USD), and in minor units (at most 4 decimal places) well inside a PostgreSQL bigint."""
Price = Annotated[Decimal, Field(ge=0, le=PRICE_MAX, allow_inf_nan=False)]
PLAIN_DECIMAL = re.compile(r"\s*[0-9]+(\.[0-9]+)?\s*")
"""How a price given as text must be written: digits, optionally a point and more digits (no sign, exponent
or NaN); the currency's exponent then caps the decimal places."""
CURRENCY_PATTERN = r"^[A-Z]{3}$"

TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "starter": {
        "runtimeType": "shared",
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
    },
    "pro": {
        "runtimeType": "shared",
        "limits": {
            "messages": 10_000,
            "tokens": 1_000_000,
            "apiCalls": None,
            "executions": None,
            "users": 5,
            "storageMB": None,
            "rateLimitRpm": 300,
            "concurrency": 20,
        },
    },
    "enterprise": {
        "runtimeType": "dedicated",
        "limits": dict.fromkeys(
            (
                "messages",
                "tokens",
                "apiCalls",
                "executions",
                "users",
                "storageMB",
                "rateLimitRpm",
                "concurrency",
            )
        ),
    },
}
TIER_DEFAULTS["custom"] = copy.deepcopy(TIER_DEFAULTS["enterprise"])
"""Spec "Plan-Based Runtime Selection" (users from the seller wizard); custom defaults like enterprise."""


def default_runtime_type(tier: str, deployment: str) -> str:
    """The runtime type a plan of `tier` gets when it names none, on a product deployed as `deployment`:
    the tier's own (starter/pro shared, enterprise/custom dedicated) when the product can serve it, else
    the one it can (an enterprise plan of a shared-only product runs shared, a starter plan of a
    dedicated-only product dedicated)."""
    tier_type = str(TIER_DEFAULTS.get(tier, TIER_DEFAULTS["starter"])["runtimeType"])
    if deployment in PLAN_DEPLOYMENTS[tier_type]:
        return tier_type
    return next((t for t, deployments in PLAN_DEPLOYMENTS.items() if deployment in deployments), tier_type)


def plan_defaults(tier: str) -> dict[str, Any]:
    """The runtime type and limits a plan of `tier` gets for every field it omits."""
    if tier not in TIER_DEFAULTS:
        raise ValueError(f"unknown plan tier {tier!r}: one of {', '.join(TIER_DEFAULTS)}")
    return copy.deepcopy(TIER_DEFAULTS[tier])


class PlanModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PlanLimits(PlanModel):
    messages: Count | None = None
    tokens: Count | None = None
    api_calls: Count | None = None
    executions: Count | None = None
    users: Count | None = None
    storage_mb: Annotated[Count, Field(le=PLATFORM_MAXIMA.max_size_mb)] | None = Field(
        default=None, alias="storageMB"
    )
    rate_limit_rpm: Annotated[Count, Field(le=PLATFORM_MAXIMA.rate_limit_rpm)] | None = None
    concurrency: Annotated[Count, Field(le=PLATFORM_MAXIMA.concurrency)] | None = None


class PlanSla(PlanModel):
    """A dedicated plan's service level objectives (docs/sla.md); a dedicated plan without one, or a field
    left out, gets `cmp.sla.targets`' defaults (99.9 %, p95 <= 2000 ms)."""

    availability: Annotated[float, Field(ge=90, lt=100)] = Field(
        default=DEFAULT_AVAILABILITY,
        description="Share of calls (%) that must not fail on the platform's side (no 5xx)",
    )
    latency_p95_ms: Literal[LATENCY_BOUNDS_MS] = Field(  # type: ignore[valid-type]
        default=DEFAULT_LATENCY_P95_MS,
        alias="latencyP95Ms",
        description="95 % of the successful calls are answered within this many ms",
    )


class PlanSpec(PlanModel):
    """One purchasable plan. Omitted runtime type and limits take the tier's defaults.

    `id` is None until `assign_plan_ids` gives the plan one (stored plans always have one). Prices are in
    major units of `currency`, held with exactly its ISO 4217 exponent as decimal places (29 USD is 29.00,
    1500 JPY is 1500, 1.5 KWD is 1.500); `monthly` and `yearly` give them as `Money` (minor units).
    """

    id: Annotated[str, StringConstraints(pattern=PLAN_ID_PATTERN)] | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    tier: PlanTier
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)] = "USD"
    price_monthly: Price | None = None
    price_yearly: Price | None = None
    limits: PlanLimits = Field(default_factory=PlanLimits)
    runtime_type: RuntimeType = "shared"
    sla: PlanSla | None = Field(default=None, exclude_if=lambda sla: sla is None)
    """Dedicated plans only; left out of the document when the plan states none."""
    features: list[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    ] = []

    @model_validator(mode="before")
    @classmethod
    def _apply_tier_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        plan = canonical_keys(data, cls)
        tier = plan.get("tier")
        if not isinstance(tier, str) or tier not in TIER_DEFAULTS:
            return plan
        return deep_merge(plan_defaults(tier), plan)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> PlanSpec:
        """Read a stored plan (camelCase JSON, prices as strings) back; raises pydantic's `ValidationError`."""
        return cls.model_validate(document)

    def to_document(self) -> dict[str, Any]:
        """The stored camelCase JSON form: tier defaults applied, prices as strings with the currency's
        exponent ("29.00" USD, "1500" JPY, "1.500" KWD); `sla` only when the plan states one."""
        return self.model_dump(by_alias=True, mode="json")

    @property
    def monthly(self) -> Money | None:
        """The monthly price in minor units, None for a plan without one ("contact us")."""
        return None if self.price_monthly is None else Money.of(self.price_monthly, self.currency)

    @property
    def yearly(self) -> Money | None:
        """The yearly price in minor units, None for a plan without one."""
        return None if self.price_yearly is None else Money.of(self.price_yearly, self.currency)

    @field_validator("currency", mode="before")
    @classmethod
    def _upper_currency(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        try:
            exponent(value)
        except ValueError as e:
            raise PydanticCustomError("currency", "{reason}", {"reason": str(e)}) from e
        return value

    @field_validator("price_monthly", "price_yearly", mode="before")
    @classmethod
    def _plain_decimal(cls, value: Any) -> Any:
        if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value):
            raise PydanticCustomError(
                "plain_decimal",
                "must be a decimal number such as 29 or 29.99, with no sign and no exponent (got {got})",
                {"got": show(value)},
            )
        return value

    @field_validator("price_monthly", "price_yearly")
    @classmethod
    def _in_minor_units(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """A whole number of the currency's minor units, written with its exponent. An invalid currency
        was reported on its own field (it is then missing here) and leaves the price unchecked."""
        currency = info.data.get("currency")
        if value is None or not isinstance(currency, str) or not is_currency(currency):
            return value
        if places_problem(value, currency):
            places = exponent(currency)
            limit = (
                f"must be a whole number of {currency}: {currency} has no minor unit"
                if places == 0
                else f"must have at most {places} decimal places in {currency}"
            )
            raise PydanticCustomError(
                "currency_places",
                "{limit} (ISO 4217 exponent {places}; got {got})",
                {"limit": limit, "places": places, "got": str(value)},
            )
        return with_exponent(value, currency)


def _price_rules(prefix: str, plan: PlanSpec) -> Iterator[FieldError]:
    if plan.tier in PAID_TIERS and plan.price_monthly is None:
        yield FieldError(
            f"{prefix}.priceMonthly", f"a {plan.tier} plan is paid: set a monthly price (0 for a free plan)"
        )
    monthly, yearly = plan.price_monthly, plan.price_yearly
    if monthly is not None and yearly is not None and yearly > 12 * monthly:
        yield FieldError(
            f"{prefix}.priceYearly",
            f"must not exceed 12 x priceMonthly ({12 * monthly}); a yearly price above "
            "that costs more than paying monthly",
        )


def _runtime_rules(
    prefix: str, plan: PlanSpec, given: dict[str, Any], capabilities: ProductCapabilities
) -> Iterator[FieldError]:
    """The plan's runtime type and rate/concurrency must fit what the product's runtime offers (a runtime
    type the seller left out was already chosen to fit, see `default_runtime_type`)."""
    runtime = capabilities.runtime
    given_limits = given.get("limits")
    explicit = {f"limits.{key}" for key in given_limits} if isinstance(given_limits, dict) else set()

    def inherited(field: str) -> str:
        return "" if field in explicit else f" (the {plan.tier} default; set {field} to change it)"

    if plan.sla is not None and plan.runtime_type != "dedicated":
        yield FieldError(f"{prefix}.sla", "an SLA applies to dedicated plans only (runtimeType 'dedicated')")
    allowed = PLAN_DEPLOYMENTS[plan.runtime_type]
    if runtime.deployment not in allowed:
        choices = " or ".join(f"'{deployment}'" for deployment in allowed)
        yield FieldError(
            f"{prefix}.runtimeType",
            f"a {plan.runtime_type} plan needs runtime.deployment {choices} in the capabilities, "
            f"which say '{runtime.deployment}'",
        )
    ceilings = (
        (
            "rateLimitRpm",
            plan.limits.rate_limit_rpm,
            runtime.limits.rate_limit,
            "rateLimit",
            "requests per minute",
        ),
        (
            "concurrency",
            plan.limits.concurrency,
            runtime.limits.concurrency,
            "concurrency",
            "concurrent sessions",
        ),
    )
    for key, value, ceiling, source, unit in ceilings:
        if value is not None and value > ceiling:
            yield FieldError(
                f"{prefix}.limits.{key}",
                f"is {value:,} but the product's runtime allows at most {ceiling:,} {unit} "
                f"(runtime.limits.{source})" + inherited(f"limits.{key}"),
            )


def _quota_rules(prefix: str, plan: PlanSpec, capabilities: ProductCapabilities) -> Iterator[FieldError]:
    """Quotas must refer to something the product has, within its own limits."""
    config = capabilities.configuration
    storage_ceilings = [block.limits.max_size_mb for block in (config.knowledge, config.rag) if block.enabled]
    storage = plan.limits.storage_mb
    if storage is not None and storage_ceilings and storage > max(storage_ceilings):
        yield FieldError(
            f"{prefix}.limits.storageMB",
            f"is {storage:,} MB but the product's knowledge limits allow at most "
            f"{max(storage_ceilings):,} MB (configuration.knowledge/rag.limits.maxSizeMB)",
        )
    runs_workflows = config.workflow.enabled or config.workflow_advanced.enabled
    if plan.limits.executions is not None and not runs_workflows:
        yield FieldError(
            f"{prefix}.limits.executions",
            "the product runs no workflows (configuration.workflow and workflowAdvanced are disabled); "
            "leave executions out",
        )


def _feature_rules(prefix: str, plan: PlanSpec, capabilities: ProductCapabilities) -> Iterator[FieldError]:
    """Features naming a capability must be offered; dotted names that only look like one are typos."""
    vocabulary = capability_features(capabilities)
    blocks = {name.split(".", 1)[0] for name in vocabulary}
    for position, feature in enumerate(plan.features):
        key = feature.lower()
        if key in vocabulary:
            available, needs = vocabulary[key]
            if not available:
                yield FieldError(
                    f"{prefix}.features[{position}]",
                    f"'{feature}' names a capability the product does not offer: it needs {needs}",
                )
        elif FEATURE_REFERENCE.match(feature) and key.split(".", 1)[0] in blocks:
            yield FieldError(
                f"{prefix}.features[{position}]",
                f"unknown capability feature '{feature}'; see docs/capabilities.md for the vocabulary, "
                "or write plain text (e.g. 'Email support')",
            )


def _plan_rules(
    index: int, plan: PlanSpec, given: dict[str, Any], capabilities: ProductCapabilities | None
) -> list[FieldError]:
    prefix = f"plans[{index}]"
    errors = list(_price_rules(prefix, plan))
    if capabilities is not None:
        errors.extend(_runtime_rules(prefix, plan, given, capabilities))
        errors.extend(_quota_rules(prefix, plan, capabilities))
        errors.extend(_feature_rules(prefix, plan, capabilities))
    return errors


def validate_plans(
    plans: object, capabilities: ProductCapabilities, known_ids: Collection[str] | None = None
) -> tuple[list[PlanSpec], list[FieldError]]:
    """Check every plan against the platform rules and the product's capabilities.

    `plans` is the seller's JSON (any value); `capabilities` is re-checked against today's rules first, and
    a document that fails them gets one error at `capabilities` (plans are then checked for shape and
    prices only). A plan that names no runtime type gets `default_runtime_type` for the product's
    deployment. At most `MAX_PLANS` plans (more is one error at `plans`, nothing else is checked).

    Money: `currency` must be an ISO 4217 code with a minor unit, prices a whole number of its minor units
    (a 422 at `plans[i].priceMonthly` names the currency and its exponent), and one currency per product:
    every plan uses plans[0]'s (else an error at `plans[i].currency`). Ids: a plan may carry the `id` the API
    gave it; two plans may not share one, and with `known_ids` (every id the product ever had, see
    `assign_plan_ids`) an id outside it is refused at `plans[i].id`.

    Returns the parsed plans (tier defaults applied, prices with the currency's exponent, ids as given;
    only plans free of type errors) and every error found. Use the plans only when the error list is empty.
    """
    if not isinstance(plans, list):
        return [], [FieldError("plans", f"must be a list of plans (got {show(plans)})")]
    if not plans:
        return [], [FieldError("plans", "add at least one plan")]
    if len(plans) > MAX_PLANS:
        return [], [FieldError("plans", f"at most {MAX_PLANS} plans (got {len(plans):,})")]
    errors: list[FieldError] = []
    document = validate_capabilities(capabilities).capabilities
    if document is None:
        errors.append(
            FieldError(
                "capabilities",
                "the capability document is invalid; fix it before plans can be checked against it",
            )
        )

    normalised: list[PlanSpec] = []
    names: dict[str, int] = {}
    ids: dict[str, int] = {}
    product_currency: str | None = None
    for index, raw in enumerate(plans):
        prefix = f"plans[{index}]"
        if not isinstance(raw, dict):
            errors.append(FieldError(prefix, f"must be an object (got {show(raw)})"))
            continue
        given = canonical_keys(raw, PlanSpec)
        completed = given
        if document is not None and "runtimeType" not in given and isinstance(given.get("tier"), str):
            deployment = document.runtime.deployment
            completed = {**given, "runtimeType": default_runtime_type(given["tier"], deployment)}
        plan, type_errors = parse_tolerant(PlanSpec, completed, prefix)
        errors.extend(_without_prices_in_a_refused_currency(prefix, type_errors))
        if plan is None:
            continue
        semantic = _plan_rules(index, plan, given, document)
        rejected = [error.path for error in type_errors]
        errors.extend(error for error in semantic if error.path not in rejected)
        if f"{prefix}.currency" not in rejected:
            if product_currency is None:
                product_currency = plan.currency
            elif plan.currency != product_currency:
                errors.append(
                    FieldError(
                        f"{prefix}.currency",
                        f"is {plan.currency} but plans[0] is priced in {product_currency}: all plans of a "
                        "product use one currency",
                    )
                )
        folded = plan.name.casefold()
        if folded in names:
            errors.append(
                FieldError(
                    f"{prefix}.name",
                    f"duplicate plan name '{plan.name}' (same as plans[{names[folded]}].name)",
                )
            )
        else:
            names[folded] = index
        errors.extend(id_rules(index, plan.id, ids, known_ids))
        if not type_errors:
            normalised.append(plan)
    return normalised, errors


def _without_prices_in_a_refused_currency(prefix: str, errors: list[FieldError]) -> list[FieldError]:
    """Once a plan's currency is refused its prices were re-read in the default one; their places errors
    would name the wrong currency, so they go."""
    if not any(error.path == f"{prefix}.currency" for error in errors):
        return errors
    prices = {f"{prefix}.priceMonthly", f"{prefix}.priceYearly"}
    return [e for e in errors if not (e.path in prices and "ISO 4217 exponent" in e.message)]
