"""How the marketplace shows a listing: plans in the API's snake_case, prices as display text, plans side by
side, the capability summary. The catalog hands out stored listings (camelCase plan specs and the capability
document); everything here is presentation, applied by the response models' builders below.

Prices leave as decimal strings with their currency's ISO 4217 exponent ("29.00" USD, "1500" JPY, "1.500"
KWD) beside the currency code; the comparison's display text adds grouping and a symbol.
"""

from __future__ import annotations

import re
from typing import Any

from cmp.money import Money, exponent

QUOTA_LABELS = {
    "messages": "Messages / month",
    "tokens": "Tokens / month",
    "apiCalls": "API calls / month",
    "executions": "Workflow runs / month",
    "users": "Users",
}
"""Plan quotas; null means unlimited."""
CEILING_LABELS = {
    "rateLimitRpm": "Requests / minute",
    "concurrency": "Concurrent sessions",
    "storageMB": "Storage",
}
"""Plan limits where null means "as much as the product allows" (read from its capabilities)."""
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
INCLUDED, NOT_INCLUDED = "✓", "—"


def _snake_keys(summary: dict[str, Any]) -> dict[str, Any]:
    """The capability summary's keys in the API's snake_case (`youCanConfigure` → `you_can_configure`)."""
    return {_snake(key): value for key, value in summary.items()}


def _price(plan: dict[str, Any], key: str) -> Money | None:
    """A stored plan price (`priceMonthly` / `priceYearly`, text in major units) as `Money`, None when the
    plan has none."""
    value = plan.get(key)
    return None if value is None else Money.of(str(value), plan.get("currency") or "USD")


def _text(price: Money | None) -> str | None:
    return None if price is None else price.format()


def plan_offer(plan: dict[str, Any]) -> dict[str, Any]:
    """A stored (camelCase) plan in the API's snake_case, prices as decimal strings of its currency."""
    limits = plan.get("limits") or {}
    return {
        "id": plan.get("id"),
        "name": plan.get("name"),
        "tier": plan.get("tier"),
        "price_monthly": _text(_price(plan, "priceMonthly")),
        "price_yearly": _text(_price(plan, "priceYearly")),
        "currency": plan.get("currency") or "USD",
        "runtime_type": plan.get("runtimeType"),
        "limits": {_snake(key): value for key, value in limits.items()},
        "features": list(plan.get("features") or []),
    }


def _snake(name: str) -> str:
    """`rateLimitRpm` → `rate_limit_rpm`, `storageMB` → `storage_mb`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


def price_range(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """Cheapest and dearest monthly price in the product's currency (plans[0]'s, which all plans share);
    `custom_pricing` when a plan has no price (contact the seller)."""
    currency = (plans[0].get("currency") if plans else None) or "USD"
    monthly = [_price(plan, "priceMonthly") for plan in plans]
    prices = [price for price in monthly if price is not None and price.currency == currency]
    return {
        "min_monthly": min(prices, key=lambda p: p.amount).format() if prices else None,
        "max_monthly": max(prices, key=lambda p: p.amount).format() if prices else None,
        "currency": currency,
        "custom_pricing": any(price is None for price in monthly),
    }


def _format_price(price: Money | None, *, when_missing: str) -> str:
    """Display text: "$29", "$29.50", "¥1,500", "1.500 KWD", "Free"; decimals only when there are some."""
    if price is None:
        return when_missing
    if price.amount == 0:
        return "Free"
    amount = price.decimal
    places = 0 if amount == amount.to_integral_value() else exponent(price.currency)
    number = f"{amount:,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(price.currency)
    return f"{symbol}{number}" if symbol else f"{number} {price.currency}"


def _count(value: Any) -> str:
    if isinstance(value, bool):
        return INCLUDED if value else NOT_INCLUDED
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _storage(megabytes: int) -> str:
    if megabytes >= 1024 and megabytes % 1024 == 0:
        return f"{megabytes // 1024:,} GB"
    return f"{megabytes:,} MB"


def _capability_ceilings(capabilities: dict[str, Any]) -> dict[str, int | None]:
    """What a plan limit left open (null) grants: the product's own runtime and knowledge limits."""
    runtime_limits = (capabilities.get("runtime") or {}).get("limits") or {}
    configuration = capabilities.get("configuration") or {}
    storage = [
        block["limits"]["maxSizeMB"]
        for block in (configuration.get("knowledge") or {}, configuration.get("rag") or {})
        if block.get("enabled") and isinstance((block.get("limits") or {}).get("maxSizeMB"), int)
    ]
    return {
        "rateLimitRpm": runtime_limits.get("rateLimit"),
        "concurrency": runtime_limits.get("concurrency"),
        "storageMB": max(storage) if storage else None,
    }


def _runs_workflows(capabilities: dict[str, Any]) -> bool:
    configuration = capabilities.get("configuration") or {}
    return any((configuration.get(block) or {}).get("enabled") for block in ("workflow", "workflowAdvanced"))


def plan_comparison(plans: list[dict[str, Any]], capabilities: dict[str, Any]) -> dict[str, Any]:
    """Plans side by side: one column per plan, one row per price, limit and feature, as display text.

    Rows a buyer cannot act on are left out: workflow runs for a product without workflows, storage for a
    product without a knowledge base whose plans set none.
    """
    ceilings = _capability_ceilings(capabilities)
    monthly = [_price(p, "priceMonthly") for p in plans]
    rows: list[dict[str, Any]] = [
        {
            "key": "price_monthly",
            "label": "Price / month",
            "values": [_format_price(price, when_missing="Contact us") for price in monthly],
        },
        {
            "key": "price_yearly",
            "label": "Price / year",
            "values": [
                _format_price(
                    _price(p, "priceYearly"), when_missing="Contact us" if price is None else NOT_INCLUDED
                )
                for p, price in zip(plans, monthly, strict=True)
            ],
        },
        {
            "key": "runtime_type",
            "label": "Runtime",
            "values": [str(p.get("runtimeType") or "shared").capitalize() for p in plans],
        },
    ]
    limits = [p.get("limits") or {} for p in plans]
    for key, label in QUOTA_LABELS.items():
        if key == "executions" and not _runs_workflows(capabilities):
            continue
        rows.append(
            {
                "key": f"limits.{_snake(key)}",
                "label": label,
                "values": ["Unlimited" if lim.get(key) is None else _count(lim[key]) for lim in limits],
            }
        )
    for key, label in CEILING_LABELS.items():
        values = [lim.get(key) if lim.get(key) is not None else ceilings[key] for lim in limits]
        if all(v is None for v in values):
            continue
        show = _storage if key == "storageMB" else _count
        rows.append(
            {
                "key": f"limits.{_snake(key)}",
                "label": label,
                "values": [NOT_INCLUDED if v is None else show(v) for v in values],
            }
        )
    offered = [{str(f).casefold() for f in p.get("features") or []} for p in plans]
    features: dict[str, str] = {}
    for plan in plans:
        for feature in plan.get("features") or []:
            features.setdefault(str(feature).casefold(), str(feature))
    for folded, feature in features.items():
        rows.append(
            {
                "key": "feature",
                "label": feature,
                "values": [
                    INCLUDED if folded in plan_features else NOT_INCLUDED for plan_features in offered
                ],
            }
        )
    return {"columns": [str(p.get("name") or "") for p in plans], "rows": rows}


def product_page(listing: dict[str, Any]) -> dict[str, Any]:
    """A product page (`ProductDetails`) from the catalog's listing: plans as offers and side by side."""
    from cmp.capabilities import capability_summary  # the capability models load on first page only

    document, plans = listing["capabilities"], listing["plans"]
    return {
        **listing,
        "capabilities": _snake_keys(capability_summary(document)),
        "plans": [plan_offer(plan) for plan in plans],
        "comparison": plan_comparison(plans, document),
    }


def compared_product(listing: dict[str, Any]) -> dict[str, Any]:
    """One column of a comparison (`ComparedProduct`) from the catalog's listing: prices, plans with their
    ids and plan names."""
    from cmp.capabilities import capability_summary  # the capability models load on first page only

    plans = listing["plans"]
    return {
        **listing,
        "capabilities": _snake_keys(capability_summary(listing["capabilities"])),
        "price_range": price_range(plans),
        "plans": [plan_offer(plan) for plan in plans],
        "plan_names": [plan.get("name") for plan in plans],
    }
