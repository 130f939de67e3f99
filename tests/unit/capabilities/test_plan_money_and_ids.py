"""Plans priced in ISO 4217 currencies (one per product) and their stable ids."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from cmp.capabilities import (
    PlanSpec,
    ProductCapabilities,
    assign_plan_ids,
    ensure_valid,
    find_plan,
    new_plan_id,
    validate_plans,
)
from cmp.capabilities.base import PLAN_ID_PATTERN
from cmp.errors import FieldError
from cmp.money import Money

pytestmark = pytest.mark.unit

Draft = Callable[..., ProductCapabilities]


@pytest.fixture
def caps(draft: Callable[..., dict[str, Any]]) -> ProductCapabilities:
    return ensure_valid(draft("agent"))


def plan(name: str = "Starter", tier: str = "starter", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "tier": tier, **fields}
    if tier in ("starter", "pro"):
        body.setdefault("priceMonthly", 29)
    return body


def errors_at(errors: list[FieldError], path: str) -> list[str]:
    return [error.message for error in errors if error.path == path]


# ── currencies and prices ───────────────────────────────────────────────


@pytest.mark.parametrize(
    ("currency", "monthly", "stored", "minor"),
    [
        ("USD", "29", "29.00", 2900),
        ("usd", "29.9", "29.90", 2990),
        ("JPY", "1500", "1500", 1500),
        ("JPY", "1500.00", "1500", 1500),
        ("KWD", "1.5", "1.500", 1500),
        ("EUR", 0, "0.00", 0),
    ],
)
def test_prices_are_stored_with_the_currency_exponent(
    caps: ProductCapabilities, currency: str, monthly: Any, stored: str, minor: int
) -> None:
    plans, errors = validate_plans([plan(currency=currency, priceMonthly=monthly)], caps)

    assert errors == []
    document = plans[0].to_document()
    assert document["priceMonthly"] == stored
    assert plans[0].monthly == Money(minor, currency.upper())
    assert PlanSpec.from_document(document) == plans[0]


def test_a_yen_price_with_sen_is_refused_naming_the_currency_and_its_exponent(
    caps: ProductCapabilities,
) -> None:
    plans, errors = validate_plans([plan(currency="JPY", priceMonthly="1500.50", priceYearly="15000")], caps)

    assert plans == []
    assert errors == [
        FieldError(
            "plans[0].priceMonthly",
            "must be a whole number of JPY: JPY has no minor unit (ISO 4217 exponent 0; got 1500.50)",
        )
    ]


def test_more_places_than_the_exponent_is_refused_for_every_currency(caps: ProductCapabilities) -> None:
    _, errors = validate_plans(
        [plan(priceMonthly="9.999"), plan("Pro", "pro", priceMonthly="1.0001", currency="KWD")], caps
    )

    assert errors_at(errors, "plans[0].priceMonthly") == [
        "must have at most 2 decimal places in USD (ISO 4217 exponent 2; got 9.999)"
    ]
    assert errors_at(errors, "plans[1].priceMonthly") == [
        "must have at most 3 decimal places in KWD (ISO 4217 exponent 3; got 1.0001)"
    ]


@pytest.mark.parametrize(
    ("currency", "reason"),
    [
        ("ABC", "'ABC' is not an ISO 4217 currency code"),
        ("DEM", "'DEM' is not an ISO 4217 currency code"),
        ("XAU", "'XAU' has no minor unit in ISO 4217"),
    ],
)
def test_an_unknown_currency_is_refused_at_its_path(
    caps: ProductCapabilities, currency: str, reason: str
) -> None:
    _, errors = validate_plans([plan(currency=currency, priceMonthly="9.999")], caps)

    assert [error.path for error in errors] == ["plans[0].currency"]  # no price error in a currency not asked
    assert reason in errors[0].message


def test_all_plans_of_a_product_share_plans_0_currency(caps: ProductCapabilities) -> None:
    _, errors = validate_plans(
        [plan(currency="USD"), plan("Pro", "pro", currency="EUR", priceMonthly=10), plan("Team", "pro")], caps
    )

    assert errors == [
        FieldError(
            "plans[1].currency",
            "is EUR but plans[0] is priced in USD: all plans of a product use one currency",
        )
    ]


def test_one_currency_is_checked_against_the_first_valid_one(caps: ProductCapabilities) -> None:
    _, errors = validate_plans(
        [plan(currency="NOPE"), plan("Pro", "pro", currency="JPY", priceMonthly=3000)], caps
    )

    assert [error.path for error in errors] == ["plans[0].currency"]


def test_a_price_above_the_maximum_is_refused(caps: ProductCapabilities) -> None:
    _, errors = validate_plans([plan(priceMonthly=10**12 + 1)], caps)

    assert errors_at(errors, "plans[0].priceMonthly") == ["must be at most 1000000000000 (got 1000000000001)"]


# ── ids ──────────────────────────────────────────────────────────────────

A, B, C = "plan_aaaaaaaaaaaa", "plan_bbbbbbbbbbbb", "plan_cccccccccccc"


def counter() -> Callable[[], str]:
    numbers = itertools.count()
    return lambda: new_plan_id(uuid.UUID(int=next(numbers)))


def parsed(*bodies: dict[str, Any], caps: ProductCapabilities) -> list[PlanSpec]:
    plans, errors = validate_plans(list(bodies), caps)
    assert errors == []
    return plans


def test_new_plan_ids_are_plan_and_12_base32_characters() -> None:
    ids = {new_plan_id(uuid.uuid4()) for _ in range(200)}

    assert len(ids) == 200
    assert all(PlanSpec.model_validate({"id": i, "name": "x", "tier": "custom"}).id == i for i in ids)
    assert all(i.startswith("plan_") and len(i) == 17 for i in ids)
    assert new_plan_id(uuid.UUID(int=1)) == "plan_aaaaaaaaaaab"
    assert new_plan_id(uuid.UUID(int=2**60 - 1)) == "plan_777777777777"
    assert PLAN_ID_PATTERN == r"^plan_[a-z2-7]{12}$"


def test_plans_without_ids_get_fresh_distinct_ones(caps: ProductCapabilities) -> None:
    plans = assign_plan_ids(parsed(plan(), plan("Pro", "pro"), caps=caps), [], counter())

    assert len({p.id for p in plans}) == 2 and all(p.id for p in plans)


def test_an_id_sent_back_is_kept_even_when_the_plan_is_renamed(caps: ProductCapabilities) -> None:
    plans = assign_plan_ids(parsed(plan("Basic", id=A), caps=caps), [(A, "Starter")], counter())

    assert [(p.id, p.name) for p in plans] == [(A, "Basic")]


def test_a_plan_without_id_keeps_the_id_of_the_plan_with_its_name(caps: ProductCapabilities) -> None:
    known = [(A, "Starter"), (B, "Pro"), (C, "pro")]  # current plans first: 'Pro' wins over an older 'pro'
    plans = assign_plan_ids(parsed(plan("STARTER"), plan("pro", "pro"), caps=caps), known, counter())

    assert [p.id for p in plans] == [A, B]


def test_an_explicit_id_wins_over_a_name_match(caps: ProductCapabilities) -> None:
    # Starter (A) renamed to Basic, and a new plan called Starter: the new one must not take A.
    plans = assign_plan_ids(
        parsed(plan("Basic", id=A), plan("Starter"), caps=caps), [(A, "Starter")], counter()
    )

    assert plans[0].id == A and plans[1].id not in (A, None)


def test_fresh_ids_never_reuse_a_known_or_taken_id(caps: ProductCapabilities) -> None:
    first = counter()()
    plans = assign_plan_ids(parsed(plan("New"), caps=caps), [(first, "Old")], counter())

    assert plans[0].id != first


def test_an_id_the_product_never_had_is_refused(caps: ProductCapabilities) -> None:
    _, errors = validate_plans([plan(id=A), plan("Pro", "pro", id=C)], caps, known_ids={A, B})

    assert [error.path for error in errors] == ["plans[1].id"]
    assert "'plan_cccccccccccc' is not a plan of this product" in errors[0].message


def test_two_plans_cannot_share_an_id(caps: ProductCapabilities) -> None:
    _, errors = validate_plans([plan(id=A), plan("Pro", "pro", id=A)], caps, known_ids={A})

    assert errors == [FieldError("plans[1].id", f"duplicate plan id '{A}' (same as plans[0].id)")]


def test_a_malformed_id_is_refused_with_a_hint(caps: ProductCapabilities) -> None:
    _, errors = validate_plans([plan(id="starter")], caps)

    assert errors_at(errors, "plans[0].id") == [
        "must be a plan id as the API returned it, such as 'plan_k3v9x2mq7wza' (got 'starter')"
    ]


def test_find_plan_looks_a_plan_up_by_id(caps: ProductCapabilities) -> None:
    plans = assign_plan_ids(
        parsed(plan(), plan("Pro", "pro", priceMonthly=Decimal("99")), caps=caps), [], counter()
    )

    pro = find_plan(plans, str(plans[1].id))
    assert pro is not None and pro.name == "Pro" and pro.monthly == Money(9900, "USD")
    assert find_plan(plans, B) is None
