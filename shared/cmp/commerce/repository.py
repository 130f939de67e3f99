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


def _insert(session: Session, table: str, values: dict[str, Any]) -> None:
    columns = ", ".join(values)
    placeholders = ", ".join(f"%({name})s" for name in values)
    session.execute(f"insert into {table} ({columns}) values ({placeholders})", values)


def _update(session: Session, table: str, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = %({name})s" for name in values if name != "id")
    session.execute(f"update {table} set {assignments}, updated_at = now() where id = %(id)s", values)


_GENERATED = frozenset({"created_at", "updated_at"})


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
        return Subscription(**{f.name: row[f.name] for f in fields(Subscription)})

    def add(self, subscription: Subscription) -> None:
        """Insert a new subscription; raises `Conflict` when the project already holds a live subscription to
        the product (the `subscriptions_one_live` index), leaving the transaction usable."""
        try:
            with self._session.savepoint():
                _insert(self._session, "subscriptions", _values(subscription, _GENERATED))
        except psycopg.errors.UniqueViolation as e:
            raise Conflict("this project already has a live subscription to the product") from e

    def save(self, subscription: Subscription) -> None:
        """Write every changed field of the subscription."""
        _update(self._session, "subscriptions", _values(subscription, _GENERATED | {"tenant_id"}))


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
        return Order(**{f.name: row[f.name] for f in fields(Order)})

    def add(self, order: Order) -> None:
        """Insert a new order."""
        _insert(self._session, "orders", _values(order, _GENERATED))

    def save(self, order: Order) -> None:
        """Write every changed field of the order."""
        _update(self._session, "orders", _values(order, _GENERATED | {"tenant_id"}))
