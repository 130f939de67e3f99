"""The buyer's configuration of a subscription, one section at a time, bounded by its capability snapshot.

The rules are `cmp.capabilities.configuration`'s (403 naming the capability path that forbids a field, 422
for a value outside a limit); this service loads the subscription in the buyer's tenant (another
organization's id is a 404), applies them against the snapshot the subscription bought (never the product's
newer versions) and stores the section. A section never saved reads as its default.
"""

from __future__ import annotations

import uuid
from typing import Any

from cmp.capabilities.configuration import (
    check_section,
    default_configuration,
    enabled_sections,
    validate_section,
)
from cmp.capabilities.models import ProductCapabilities
from cmp.commerce.model import Subscription
from cmp.commerce.ports import CommerceUnitOfWorkFactory


def section_view(subscription: Subscription, section: str, snapshot: ProductCapabilities) -> dict[str, Any]:
    """`{"subscription_id", "section", "configured", "values"}`: the stored document, or the section's
    default (`configured` false) when the buyer never saved it."""
    stored = subscription.configuration.get(section)
    if stored is None:
        stored = default_configuration(snapshot, product_name=subscription.product_name).get(section, {})
    return {
        "subscription_id": str(subscription.id),
        "section": section,
        "configured": section in subscription.configuration,
        "values": stored,
    }


class SubscriptionConfiguration:
    """`GET`/`PUT /v1/subscriptions/{id}/configuration/{section}`."""

    def __init__(self, uow: CommerceUnitOfWorkFactory) -> None:
        self._uow = uow

    def read(self, tenant_id: str, subscription_id: uuid.UUID, section: str) -> dict[str, Any]:
        """The section as stored or defaulted (`section_view`); raises NotFound (unknown subscription or
        section) or Forbidden (a section the product does not open)."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
        snapshot = ProductCapabilities.from_document(subscription.capabilities)
        check_section(snapshot, section)
        return section_view(subscription, section, snapshot)

    def read_all(self, tenant_id: str, subscription_id: uuid.UUID) -> dict[str, Any]:
        """`{"subscription_id", "sections": [section_view, ...]}` for every section the product opens, in
        dashboard order; raises NotFound for a subscription the tenant does not hold."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id)
        snapshot = ProductCapabilities.from_document(subscription.capabilities)
        return {
            "subscription_id": str(subscription.id),
            "sections": [section_view(subscription, s, snapshot) for s in enabled_sections(snapshot)],
        }

    def replace(
        self, tenant_id: str, subscription_id: uuid.UUID, section: str, values: object
    ) -> dict[str, Any]:
        """Validate `values` against the subscription's snapshot and store them as the whole section (a
        field left out is unset); returns `section_view`. Raises NotFound, Forbidden (403, one error per
        field the seller did not enable), ValidationFailed (422) or Conflict (an ended subscription)."""
        with self._uow(tenant_id) as uow:
            subscription = uow.subscriptions.get(subscription_id, for_update=True)
            snapshot = ProductCapabilities.from_document(subscription.capabilities)
            document = validate_section(snapshot, section, values)
            subscription.configure(section, document)
            uow.subscriptions.save(subscription)
            uow.commit()
        return section_view(subscription, section, snapshot)
