"""The commerce SQL: orders and subscriptions of the unit of work's (buyer) tenant, under row-level security."""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cmp.commerce.model import Order, Subscription
from cmp.db.session import Session
from cmp.errors import Conflict, NotFound
from cmp.provisioning.model import DEFAULT_PROJECT

_JSON_COLUMNS = frozenset(
    {"plan", "capabilities", "configuration", "pending_change", "provisioning", "payment"}
)


def _values(entity: Order | Subscription, skip: frozenset[str]) -> dict[str, Any]:
    """The entity's fields as query parameters (JSON fields wrapped for jsonb columns)."""
    values: dict[str, Any] = {}
    for f in fields(entity):
        if f.name in skip:
            continue
        value = getattr(entity, f.name)
        values[f.name] = Jsonb(value) if f.name in _JSON_COLUMNS and value is not None else value
    return values


def _update(session: Session, table: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = %({name})s" for name in values if name != "id")
    session.execute(f"update {table} set {assignments}, updated_at = now() where id = %(id)s", values)


_GENERATED = frozenset({"created_at", "updated_at"})


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(**{f.name: row[f.name] for f in fields(Subscription)})


def _order(row: dict[str, Any]) -> Order:
    return Order(**{f.name: row[f.name] for f in fields(Order)})


class SubscriptionRepository:
    """`subscriptions` rows as `Subscription` entities (`uow.subscriptions`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, subscription_id: uuid.UUID, for_update: bool = False) -> Subscription:
        """The subscription of the current tenant; raises `NotFound` (also for another tenant's id)."""
        row = self._session.fetch_one(
            "select * from subscriptions where id = %s" + (" for update" if for_update else ""),
            (subscription_id,),
        )
        if row is None:
            raise NotFound("subscription not found")
        return _subscription(row)

    def add(self, subscription: Subscription) -> None:
        """Insert a new subscription; raises `Conflict` when the project already holds a live subscription to
        the product (the `subscriptions_one_live` index), leaving the transaction usable."""
        try:
            with self._session.savepoint():
                self._session.insert("subscriptions", _values(subscription, _GENERATED))
        except psycopg.errors.UniqueViolation as e:
            raise Conflict("this project already has a live subscription to the product") from e

    def save(self, subscription: Subscription) -> None:
        """Write every changed field of the subscription."""
        _update(self._session, "subscriptions", _values(subscription, _GENERATED | {"tenant_id"}))

    def live_for_product(self, product_id: uuid.UUID) -> Subscription | None:
        """The organization's live subscription to the product in any of its projects, or None."""
        row = self._session.fetch_one(
            "select * from subscriptions where product_id = %s"
            " and status in ('provisioning', 'active', 'past_due', 'suspended') limit 1",
            (product_id,),
        )
        return None if row is None else _subscription(row)

    def by_provider_ref(self, provider: str, subscription_ref: str) -> Subscription | None:
        """The subscription the provider knows as `subscription_ref`, locked for this transaction."""
        row = self._session.fetch_one(
            "select * from subscriptions where payment_provider = %s and provider_subscription_ref = %s"
            " for update",
            (provider, subscription_ref),
        )
        return None if row is None else _subscription(row)

    def default_project(self, tenant_id: uuid.UUID) -> uuid.UUID:
        """The organization's first project, created (`Default`) when it has none ("auto-project")."""
        self._session.execute(
            "insert into projects (tenant_id, name) select %s, %s"
            " where not exists (select 1 from projects where tenant_id = %s)"
            " on conflict (tenant_id, name) do nothing",
            (tenant_id, DEFAULT_PROJECT, tenant_id),
        )
        row = self._session.fetch_one(
            "select id from projects where tenant_id = %s order by created_at, id limit 1", (tenant_id,)
        )
        if row is None:
            raise NotFound(f"organization {tenant_id} not found")
        project_id: uuid.UUID = row["id"]
        return project_id


class OrderRepository:
    """`orders` rows as `Order` entities (`uow.orders`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, order_id: uuid.UUID, for_update: bool = False) -> Order:
        """The order of the current tenant; raises `NotFound` (also for another tenant's id)."""
        row = self._session.fetch_one(
            "select * from orders where id = %s" + (" for update" if for_update else ""), (order_id,)
        )
        if row is None:
            raise NotFound("order not found")
        return _order(row)

    def add(self, order: Order) -> None:
        """Insert a new order; raises `Conflict` when its idempotency key is taken (a concurrent retry),
        leaving the transaction usable."""
        try:
            with self._session.savepoint():
                self._session.insert("orders", _values(order, _GENERATED))
        except psycopg.errors.UniqueViolation as e:
            raise Conflict("an order with this Idempotency-Key already exists") from e

    def by_idempotency_key(self, key: str) -> Order | None:
        """The organization's order made with this `Idempotency-Key`, or None."""
        row = self._session.fetch_one("select * from orders where idempotency_key = %s", (key,))
        return None if row is None else _order(row)

    def by_checkout_session(self, provider: str, session_id: str) -> Order | None:
        """The order paid through this checkout session, locked for this transaction, or None."""
        row = self._session.fetch_one(
            "select * from orders where payment_provider = %s and checkout_session_id = %s for update",
            (provider, session_id),
        )
        return None if row is None else _order(row)

    def paid_for(self, subscription_id: uuid.UUID) -> list[Order]:
        """The paid or active orders of a subscription (its purchase, plan changes, renewals)."""
        rows = self._session.fetch_all(
            "select * from orders where subscription_id = %s and status in ('paid', 'active')"
            " order by created_at",
            (subscription_id,),
        )
        return [_order(r) for r in rows]

    def save(self, order: Order) -> None:
        """Write every changed field of the order."""
        _update(self._session, "orders", _values(order, _GENERATED | {"tenant_id"}))
