"""A subscription moves to a newer published version of its product (issue 14).

A subscription stays pinned to the version it bought (its capability snapshot) until the buyer moves it:

- the target is the version asked for, else the product's current published version (its marketplace
  listing); it must be published (a `product_versions` row, read through `published_version`, migration
  0034) and newer than the one held (semantic versions compared by number): the same or an older one, or
  one never published, is a Conflict naming both versions;
- the held plan (by its stable id) must exist in the target version, else a Conflict naming the plan and
  the target's plan ids; the subscription takes the target's document of that plan (its limits) but keeps
  the price it pays: a version move charges nothing and changes no provider price;
- the buyer's stored configuration is re-validated section by section against the target's capabilities
  (`cmp.capabilities.configuration.validate_section`); anything the new version no longer allows is a
  ValidationFailed (422) listing every field at `configuration.<section>.<field>`, and nothing changes;
- in one transaction the subscription takes the version, plan document and capability snapshot; a dedicated
  subscription's runtime is rolled out with the new version through the outbox (execution
  `version-{subscription_id}-{version}` of the runtime-provisioning state machine, `action: update`:
  apply the manifests, wait for the rollout, register the endpoint). Kubernetes replaces the pods one by
  one, so the runtime keeps serving the old version until the new one is available, and the endpoint stays
  registered throughout.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from cmp.commerce.changes import runtime_view
from cmp.commerce.model import Subscription
from cmp.commerce.ports import CommerceUnitOfWorkFactory
from cmp.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from cmp.ports import Clock

if TYPE_CHECKING:
    from cmp.commerce.events import PaymentEvents


def version_key(version: str) -> tuple[int, ...]:
    """`x.y.z` as numbers for ordering (`1.10.0` is newer than `1.9.0`); raises Conflict for a version
    that is not dotted numbers (published versions always are: `cmp.catalog.versions`)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError as e:
        raise Conflict(f"version {version!r} is not a published version number (x.y.z)") from e


def check_target(held: str, target: str, published: dict[str, Any] | None) -> dict[str, Any]:
    """`published` (the target's `{"capabilities", "plans"}`, None when it was never published) when
    `target` is a published version newer than `held`; raises Conflict otherwise."""
    if published is None:
        raise Conflict(
            f"version {target} of this product is not published; the subscription holds {held}",
            errors=[FieldError("version", "is not a published version of the product")],
        )
    if version_key(target) == version_key(held):
        raise Conflict(f"the subscription is already on version {target}")
    if version_key(target) < version_key(held):
        raise Conflict(
            f"version {target} is older than version {held} the subscription holds; a subscription only "
            "moves to a newer version",
            errors=[FieldError("version", f"is older than {held}")],
        )
    return published


def target_plan(plans: list[dict[str, Any]], plan_id: str, version: str) -> dict[str, Any]:
    """The target version's document of the held plan (by its stable id); raises Conflict naming the plan
    and the target's plan ids when that version does not sell it."""
    for plan in plans:
        if str(plan.get("id")) == plan_id:
            return plan
    known = ", ".join(str(p.get("id")) for p in plans) or "none"
    raise Conflict(
        f"version {version} no longer offers plan {plan_id}; its plans are {known}. Change the plan first "
        "or stay on the version held",
        errors=[FieldError("version", f"does not offer plan {plan_id}")],
    )


def recheck_configuration(configuration: dict[str, Any], capabilities: dict[str, Any]) -> None:
    """Validate every stored configuration section against the target capabilities; raises
    ValidationFailed with one FieldError per field (`configuration.<section>.<field>`) or section
    (`configuration.<section>`) the target no longer allows."""
    from cmp.capabilities.configuration import validate_section
    from cmp.capabilities.models import ProductCapabilities

    snapshot = ProductCapabilities.from_document(capabilities)
    errors: list[FieldError] = []
    for section, values in configuration.items():
        try:
            validate_section(snapshot, section, values)
        except DomainError as e:
            found = e.errors or [FieldError("", e.message)]
            for error in found:
                path = f"configuration.{section}" + (f".{error.path}" if error.path else "")
                errors.append(FieldError(path, error.message))
    if errors:
        raise ValidationFailed(
            "the new version does not allow the subscription's current configuration; change it first",
            errors=errors,
        )


class SubscriptionVersions:
    """`POST /v1/subscriptions/{id}/version`. `events` starts a dedicated runtime's rollout
    (`PaymentEvents.runtime_version_moved`)."""

    def __init__(self, uow: CommerceUnitOfWorkFactory, clock: Clock, events: PaymentEvents) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    def move(self, tenant_id: str, subscription_id: uuid.UUID, version: str | None) -> dict[str, Any]:
        """Move the subscription to `version` (None: the product's current published version); returns
        `{"from_version", "to_version", "runtime"}` (`runtime` as `cmp.commerce.changes.runtime_view`: state
        `updating` while a dedicated runtime rolls the version out).

        Raises NotFound (no such subscription in the organization), Conflict (see the module docstring, and
        `Subscription.require_changeable`: ended, past due, cancelling, provisioning or already rolling a
        version out; a product no longer listed when no version is named), ValidationFailed (the stored
        configuration breaks the target's capabilities)."""
        from cmp.commerce.checkout import snapshot_capabilities

        now = self._clock.now()
        with self._uow(uuid.UUID(tenant_id)) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id, for_update=True)
            subscription.require_changeable(now)
            held = subscription.product_version
            target = version or self._current(uow, subscription)
            found = check_target(held, target, uow.offers.published_version(subscription.product_id, target))
            plan = target_plan(found["plans"], subscription.plan_id, target)
            capabilities = snapshot_capabilities(found["capabilities"])
            recheck_configuration(subscription.configuration, capabilities)
            if subscription.move_version(target, plan, capabilities, now):
                self._events.runtime_version_moved(uow, subscription)
            uow.subscriptions.save(subscription)
            uow.commit()
        return {"from_version": held, "to_version": target, "runtime": runtime_view(subscription)}

    @staticmethod
    def _current(uow: Any, subscription: Subscription) -> str:
        try:
            current: str = uow.offers.find(str(subscription.product_id)).version
        except NotFound as e:
            raise Conflict(
                f"the product is no longer listed; name the version to move to (the subscription holds "
                f"{subscription.product_version})"
            ) from e
        return current
