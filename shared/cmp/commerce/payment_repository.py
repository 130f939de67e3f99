"""The commerce SQL beyond orders and subscriptions: applied provider events, provider customers, the
offers a buyer can purchase (published listings), reconciliation issues, the billing jobs' cross-tenant
scans, and the local payment provider's store.

Tenant-owned tables are read under row-level security in the unit of work's tenant. What must cross
tenants (finding the tenant of a provider event, the billing scans, the subscriber count of a listing, the
plans of a published version, the local provider's objects) goes through the narrow SECURITY DEFINER
functions of migration 0013.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from cmp.commerce.model import Offer
from cmp.commerce.payment_model import PaymentEvent
from cmp.db.session import Session
from cmp.errors import NotFound


class PaymentEventRepository:
    """`payment_events` (`uow.payment_events`): each provider event is applied once."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim(self, event: PaymentEvent, tenant_id: uuid.UUID, order_id: uuid.UUID | None) -> bool:
        """Record the event as applied in this transaction; False when it already was (a duplicate). A
        concurrent delivery of the same event waits for this transaction and then finds the claim."""
        return bool(
            self._session.execute(
                "insert into payment_events (provider, event_id, tenant_id, raw_type, order_id)"
                " values (%s, %s, %s, %s, %s) on conflict (provider, event_id) do nothing",
                (event.provider, event.event_id, tenant_id, event.raw_type, order_id),
            )
        )

    def owner(self, event: PaymentEvent) -> tuple[uuid.UUID, uuid.UUID | None] | None:
        """(tenant, order) of an event whose metadata names neither, found by its session, provider
        subscription or customer (across tenants); None when nothing of ours matches."""
        row = self._session.fetch_one(
            "select * from payment_event_owner(%s, %s, %s, %s)",
            (event.provider, event.session_id, event.subscription_ref, event.customer_ref),
        )
        return None if row is None else (row["tenant_id"], row["order_id"])


class PaymentCustomerRepository:
    """`payment_customers` (`uow.payment_customers`): the buyer organization's customer at each provider."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, tenant_id: uuid.UUID, provider: str) -> str | None:
        row = self._session.fetch_one(
            "select customer_ref from payment_customers where tenant_id = %s and provider = %s",
            (tenant_id, provider),
        )
        return None if row is None else str(row["customer_ref"])

    def email_of(self, user_id: uuid.UUID) -> str | None:
        """The e-mail of a member of the organization (the provider customer's e-mail), or None."""
        row = self._session.fetch_one("select email from users where id = %s", (user_id,))
        return None if row is None else str(row["email"])

    def add(self, tenant_id: uuid.UUID, provider: str, customer_ref: str) -> None:
        """Remember the customer; the first one stored stays (a concurrent checkout's is ignored)."""
        self._session.execute(
            "insert into payment_customers (tenant_id, provider, customer_ref) values (%s, %s, %s)"
            " on conflict (tenant_id, provider) do nothing",
            (tenant_id, provider, customer_ref),
        )


class OfferRepository:
    """What a buyer can purchase (`uow.offers`): published listings (public), the plans of a published
    version, and the listing's subscriber count."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, product: str) -> Offer:
        """The product's live version by id or slug; raises NotFound."""
        try:
            by_id: uuid.UUID | None = uuid.UUID(product)
        except ValueError:
            by_id = None
        row = self._session.fetch_one(
            "select product_id, tenant_id, version, name, slug, category, capabilities, plans"
            " from marketplace_listings where " + ("product_id = %s" if by_id else "slug = %s"),
            (by_id or product,),
        )
        if row is None:
            raise NotFound(f"product {product[:120]!r} not found")
        return Offer(
            product_id=row["product_id"],
            seller_tenant_id=row["tenant_id"],
            version=row["version"],
            name=row["name"],
            slug=row["slug"],
            category=row["category"],
            capabilities=row["capabilities"],
            plans=list(row["plans"]),
        )

    def version_plans(self, product_id: uuid.UUID, version: str) -> list[dict[str, Any]]:
        """The plans of a published version; raises NotFound when the version does not exist."""
        row = self._session.fetch_one(
            "select published_version_plans(%s, %s) as plans", (product_id, version)
        )
        if row is None or row["plans"] is None:
            raise NotFound(f"version {version} of product {product_id} not found")
        return list(row["plans"])

    def published_version(self, product_id: uuid.UUID, version: str) -> dict[str, Any] | None:
        """`{"capabilities", "plans"}` of a published version of the product (any seller's: read through
        `published_version`, migration 0034); None when no such version was published."""
        row = self._session.fetch_one(
            "select capabilities, plans from published_version(%s, %s)", (product_id, version)
        )
        return None if row is None else {"capabilities": row["capabilities"], "plans": list(row["plans"])}

    def refresh_subscriber_count(self, product_id: uuid.UUID) -> None:
        """Recount the organizations holding the product live into its listing (in this transaction)."""
        self._session.execute("select commerce_refresh_subscriber_count(%s)", (product_id,))


class ReconciliationRepository:
    """`reconciliation_issues` (`uow.reconciliation`): what the checks found, one open issue per kind and
    order or subscription."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def open(
        self,
        kind: str,
        reason: str,
        tenant_id: uuid.UUID,
        order_id: uuid.UUID | None = None,
        subscription_id: uuid.UUID | None = None,
    ) -> bool:
        """Record an issue; False when the same one is already open."""
        return bool(
            self._session.execute(
                "insert into reconciliation_issues (tenant_id, kind, order_id, subscription_id, reason)"
                " values (%s, %s, %s, %s, %s)"
                " on conflict (kind, coalesce(order_id, subscription_id)) where resolved_at is null do nothing",
                (tenant_id, kind, order_id, subscription_id, reason[:1000]),
            )
        )

    def resolve(self, kind: str, subject_id: uuid.UUID) -> bool:
        """Close the open issue of `kind` about an order or subscription; False when none was open."""
        return bool(
            self._session.execute(
                "update reconciliation_issues set resolved_at = now() where kind = %s"
                " and coalesce(order_id, subscription_id) = %s and resolved_at is null",
                (kind, subject_id),
            )
        )

    def list_open(self) -> list[dict[str, Any]]:
        """The tenant's open issues, newest first."""
        return self._session.fetch_all(
            "select kind, order_id, subscription_id, reason, detected_at from reconciliation_issues"
            " where resolved_at is null order by detected_at desc"
        )


class BillingScans:
    """The billing jobs' cross-tenant reads (`uow.billing_scans`, in a unit of work without a tenant):
    (tenant, id) pairs only; the work then runs in each tenant's own unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def due_subscriptions(
        self, provider: str, now: datetime, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Subscriptions of `provider` whose period ended by `now` (active, or past due and cancelling)."""
        return self._pairs("select * from billing_due_subscriptions(%s, %s, %s)", (provider, now, limit))

    def stale_orders(self, cutoff: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Purchases created before `cutoff` still pending, or paid without a subscription."""
        return self._pairs("select * from billing_stale_orders(%s, %s)", (cutoff, limit))

    def unpaid_subscriptions(self, cutoff: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Live subscriptions created before `cutoff` with no paid order and no open issue saying so."""
        return self._pairs("select * from billing_unpaid_subscriptions(%s, %s)", (cutoff, limit))

    def _pairs(self, query: str, params: tuple[Any, ...]) -> list[tuple[uuid.UUID, uuid.UUID]]:
        return [(r["tenant_id"], r["id"]) for r in self._session.fetch_all(query, params)]


class LocalPaymentObjects:
    """The local payment provider's store (`cmp.commerce.ports.LocalPaymentStore`): each call is its own
    short transaction, as calls to an outside provider would be."""

    def __init__(self, sessions: Callable[[], AbstractContextManager[Session]]) -> None:
        """`sessions` is `Database.session` (a transaction without a tenant, committed on success)."""
        self._sessions = sessions

    def put(self, object_id: str, kind: str, data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        with self._sessions() as session:
            row = session.fetch_one(
                "select local_payments_put(%s, %s, %s, %s) as data",
                (object_id, kind, Jsonb(data), idempotency_key),
            )
        if row is None or row["data"] is None:
            raise RuntimeError(f"local payment object {object_id} was not stored")
        stored: dict[str, Any] = row["data"]
        return stored

    def get(self, object_id: str) -> dict[str, Any] | None:
        with self._sessions() as session:
            row = session.fetch_one("select local_payments_get(%s) as data", (object_id,))
        return None if row is None else row["data"]

    def update(self, object_id: str, data: dict[str, Any]) -> None:
        with self._sessions() as session:
            session.execute("select local_payments_update(%s, %s)", (object_id, Jsonb(data)))
