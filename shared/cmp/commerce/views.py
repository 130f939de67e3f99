"""The buyer's read side: orders and subscriptions shaped for screens, with usage against plan limits.

Every read runs in the caller's tenant under row-level security, so another organization's id is a 404.
Amounts are integers in minor units with their ISO 4217 currency, plus `amount_display` (the amount with the
currency's exponent, "29.00" USD, "1500" JPY, "1.500" KWD). Lists are newest first, one page at a time with
the catalog's keyset cursor (`cmp.catalog.paging`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from cmp.catalog.paging import ProductPage, encode_cursor
from cmp.db.session import Session
from cmp.errors import NotFound
from cmp.metering.views import usage_this_period
from cmp.money import format_amount

QUOTA_METRICS: dict[str, str] = {
    "messages": "messages",
    "tokens": "tokens",
    "api_calls": "apiCalls",
    "executions": "executions",
}
"""Usage metric (as `usage_records.metric` names it) -> the plan limit that caps it per billing period.
`tokens` is the sum of the metered `tokens_in` and `tokens_out` (`cmp.metering.model.METRICS`)."""
TOKEN_METRICS = ("tokens_in", "tokens_out")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "amount_display": format_amount(amount, currency)}


def order_view(row: dict[str, Any]) -> dict[str, Any]:
    """One `orders` row as the API shows it."""
    payment = row["payment"] or {}
    return {
        "order_id": str(row["id"]),
        "kind": row["kind"],
        "status": row["status"],
        "product": {
            "id": str(row["product_id"]),
            "slug": row["product_slug"],
            "name": row["product_name"],
            "category": row["category"],
            "version": row["product_version"],
        },
        "plan": {"id": row["plan_id"], "name": row["plan_name"]},
        "billing_period": row["billing_period"],
        **_money(int(row["amount"]), row["currency"].strip()),
        "subscription_id": str(row["subscription_id"]) if row["subscription_id"] else None,
        "failure_reason": row["failure_reason"],
        "payment": {
            "provider": row["payment_provider"],
            "checkout_session_id": row["checkout_session_id"],
            "url": payment.get("url"),
            "client_secret": payment.get("client_secret"),
            "failure_reason": payment.get("failure_reason") or row["failure_reason"],
        },
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
    }


def usage_against_limits(plan: dict[str, Any], used: dict[str, int]) -> dict[str, dict[str, int | None]]:
    """`{"messages": {"used": 8234, "limit": 10000}, …}`: each quota the plan sets (a null limit is
    unlimited), and every metric with usage in the period (`tokens` also sums `tokens_in` and `tokens_out`)."""
    limits = plan.get("limits") or {}
    if any(m in used for m in TOKEN_METRICS):
        used = {**used, "tokens": used.get("tokens", 0) + sum(used.get(m, 0) for m in TOKEN_METRICS)}
    usage: dict[str, dict[str, int | None]] = {}
    for metric, limit_key in QUOTA_METRICS.items():
        limit = limits.get(limit_key)
        if limit is not None or used.get(metric):
            usage[metric] = {"used": used.get(metric, 0), "limit": limit}
    for metric, quantity in sorted(used.items()):
        usage.setdefault(metric, {"used": quantity, "limit": None})
    return usage


def subscription_view(row: dict[str, Any], used: dict[str, int]) -> dict[str, Any]:
    """One `subscriptions` row as the API shows it, with `used` (metric -> quantity this period)."""
    plan = row["plan"] or {}
    pending = row["pending_change"]
    return {
        "subscription_id": str(row["id"]),
        "status": row["status"],
        "status_reason": row["status_reason"],
        "project_id": str(row["project_id"]),
        "product": {
            "id": str(row["product_id"]),
            "slug": row["product_slug"],
            "name": row["product_name"],
            "category": row["category"],
            "version": row["product_version"],
        },
        "plan": {
            "id": row["plan_id"],
            "name": plan.get("name", row["plan_id"]),
            "tier": plan.get("tier"),
            "features": list(plan.get("features") or []),
        },
        "runtime_type": row["runtime_type"],
        "billing_period": row["billing_period"],
        **_money(int(row["amount"]), row["currency"].strip()),
        "current_period": {
            "start": _iso(row["current_period_start"]),
            "end": _iso(row["current_period_end"]),
        },
        "cancel_at_period_end": row["cancel_at_period_end"],
        "cancelled_at": _iso(row["cancelled_at"]),
        "cancellation_reason": row["cancellation_reason"],
        "pending_change": None
        if not pending
        else {
            "plan_id": pending["plan_id"],
            "plan_name": pending.get("plan", {}).get("name"),
            "billing_period": pending["billing_period"],
            **_money(int(pending["amount"]), row["currency"].strip()),
            "effective_at": pending["effective_at"],
        },
        "provisioning": row["provisioning"] or {},
        "usage": usage_against_limits(plan, used),
        "created_at": _iso(row["created_at"]),
    }


class CommerceViews:
    """`sessions` is `Database.session` (read-only transactions in the caller's tenant)."""

    def __init__(self, sessions: Callable[..., AbstractContextManager[Session]]) -> None:
        self._sessions = sessions

    def page_orders(self, tenant_id: str, page: ProductPage) -> dict[str, Any]:
        """One page of the organization's orders, newest first: `{"items", "next_cursor"}`."""
        where, params = ("", ()) if page.after is None else ("where (created_at, id) < (%s, %s)", page.after)
        with self._sessions(tenant_id, read_only=True) as session:
            rows = session.fetch_all(
                f"select * from orders {where} order by created_at desc, id desc limit %s",
                (*params, page.limit + 1),
            )
        return _page([order_view(r) for r in rows[: page.limit]], rows, page)

    def order(self, tenant_id: str, order_id: uuid.UUID) -> dict[str, Any]:
        """One order of the organization; raises NotFound (also for another organization's id)."""
        with self._sessions(tenant_id, read_only=True) as session:
            row = session.fetch_one("select * from orders where id = %s", (order_id,))
        if row is None:
            raise NotFound("order not found")
        return order_view(row)

    def page_subscriptions(
        self, tenant_id: str, page: ProductPage, category: str | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """One page of the organization's subscriptions across categories, newest first, optionally of one
        category and/or status, each with its usage this period against its plan's limits."""
        conditions: list[str] = []
        params: list[object] = []
        if category:
            conditions.append("category = %s")
            params.append(category)
        if status:
            conditions.append("status = %s")
            params.append(status)
        if page.after is not None:
            conditions.append("(created_at, id) < (%s, %s)")
            params.extend(page.after)
        where = f"where {' and '.join(conditions)}" if conditions else ""
        with self._sessions(tenant_id, read_only=True) as session:
            rows = session.fetch_all(
                f"select * from subscriptions {where} order by created_at desc, id desc limit %s",
                (*params, page.limit + 1),
            )
            shown = rows[: page.limit]
            used = usage_this_period(session, [r["id"] for r in shown])
        return _page([subscription_view(r, used.get(r["id"], {})) for r in shown], rows, page)

    def subscription(self, tenant_id: str, subscription_id: uuid.UUID) -> dict[str, Any]:
        """One subscription of the organization with its usage; raises NotFound."""
        with self._sessions(tenant_id, read_only=True) as session:
            row = session.fetch_one("select * from subscriptions where id = %s", (subscription_id,))
            if row is None:
                raise NotFound("subscription not found")
            used = usage_this_period(session, [row["id"]])
        return subscription_view(row, used.get(row["id"], {}))


def _page(items: list[dict[str, Any]], rows: list[dict[str, Any]], page: ProductPage) -> dict[str, Any]:
    last = rows[page.limit - 1] if len(rows) > page.limit else None
    return {"items": items, "next_cursor": encode_cursor(last["created_at"], last["id"]) if last else None}
