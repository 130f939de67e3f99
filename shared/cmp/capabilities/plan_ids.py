"""Stable plan ids: what orders, subscriptions and checkout refer to when they name a plan.

An id is `plan_` + 12 lower-case base32 characters (`PLAN_ID_PATTERN`), given on the first save and kept
across edits: a seller may send ids back, a plan sent without one keeps the id of the product's plan with
the same name (case-insensitive), and an id the product never had is refused. Ids are unique within a
product, never across products (a plan is always named with its product).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING

from cmp.errors import FieldError

if TYPE_CHECKING:
    from cmp.capabilities.plans import PlanSpec


def id_rules(
    index: int, plan_id: str | None, seen: dict[str, int], known_ids: Collection[str] | None
) -> Iterator[FieldError]:
    if plan_id is None:
        return
    if plan_id in seen:
        yield FieldError(
            f"plans[{index}].id", f"duplicate plan id '{plan_id}' (same as plans[{seen[plan_id]}].id)"
        )
        return
    seen[plan_id] = index
    if known_ids is not None and plan_id not in known_ids:
        yield FieldError(
            f"plans[{index}].id",
            f"'{plan_id}' is not a plan of this product; send the id the API returned for a plan, "
            "or leave id out for a new plan",
        )


BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
"""RFC 4648's base32 alphabet, lower case."""


def new_plan_id(seed: uuid.UUID) -> str:
    """A plan id made from a fresh UUID (an `IdGenerator`'s): `plan_` + its last 60 bits (all random in a
    version 4 UUID) as 12 lower-case base32 characters."""
    bits = seed.int
    return "plan_" + "".join(BASE32[(bits >> (5 * place)) & 31] for place in reversed(range(12)))


def assign_plan_ids(
    plans: Sequence[PlanSpec], known: Sequence[tuple[str, str]], fresh: Callable[[], str]
) -> list[PlanSpec]:
    """Give every plan its stable id; `plans` come from `validate_plans` without errors.

    `known` is every (id, name) the product ever had, the current plans first, then its published versions
    newest first. A plan that carries an id keeps it. A plan without one whose name matches a known plan's
    (case-insensitively; the first such entry wins) takes that plan's id, unless another plan of the list
    carries it. Any other plan gets `fresh()` (called again while it returns an id already used or known).
    Ids are unique within the returned list.
    """
    taken = {plan.id for plan in plans if plan.id is not None}
    known_ids = {known_id for known_id, _ in known}
    by_name: dict[str, str] = {}
    for known_id, name in known:
        by_name.setdefault(name.casefold(), known_id)
    out: list[PlanSpec] = []
    for plan in plans:
        if plan.id is not None:
            out.append(plan)
            continue
        plan_id = by_name.get(plan.name.casefold())
        if plan_id is None or plan_id in taken:
            plan_id = _unused(fresh, taken | known_ids)
        taken.add(plan_id)
        out.append(plan.model_copy(update={"id": plan_id}))
    return out


def _unused(fresh: Callable[[], str], used: Collection[str]) -> str:
    plan_id = fresh()
    while plan_id in used:
        plan_id = fresh()
    return plan_id


def find_plan(plans: Sequence[PlanSpec], plan_id: str) -> PlanSpec | None:
    """The plan with `plan_id` among `plans` (e.g. a live listing's, read with `PlanSpec.from_document`),
    None when there is none. Checkout looks up the plan a buyer chose with this."""
    return next((plan for plan in plans if plan.id == plan_id), None)
