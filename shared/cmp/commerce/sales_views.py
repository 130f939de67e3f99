"""The seller's sales dashboard: subscribers, customers, revenue, orders and usage of the seller's own
products.

Orders and subscriptions belong to the buyers' organizations (row-level security on the buyer), so the
seller reads them only through the SECURITY DEFINER functions of migration 0012, which take the seller from
the transaction's tenant (`app_current_tenant()`, set from the caller's token) and return only aggregates
or the columns shown here. The seller's own products are read under its own row-level security.

Money is integer minor units of each order's ISO 4217 currency; sums are per currency, never across
currencies.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from cmp.catalog.ids import parse_product_id
from cmp.catalog.paging import ProductPage, encode_cursor
from cmp.commerce.model import LIVE_STATUSES
from cmp.db.session import Session
from cmp.errors import FieldError, NotFound, ValidationFailed
from cmp.ports import Clock

SessionFactory = Callable[..., AbstractContextManager[Session]]
"""`Database.session(tenant_id, read_only=True)`."""

Period = Literal["month", "year"]
PERIODS: tuple[Period, ...] = ("month", "year")
REVENUE_STATUSES = ("paid", "active")
"""Orders whose amount counts as revenue: paid, or paid and provisioned. Pending, failed, cancelled and
refunded orders do not."""
DEFAULT_MONTHS, DEFAULT_YEARS = 12, 5
"""Without `from`, the range starts this many months (or years) back, counting the period of `to`."""
MAX_RANGE_DAYS = 3660
"""The longest range a request may ask for (ten years and leap days)."""
RECENT_ORDERS = 10
PRODUCT_RECENT_ORDERS = 5
"""How many of the latest orders the dashboard shows overall, and per product."""


@dataclass(frozen=True)
class SalesRange:
    """The revenue periods asked for: `period` buckets over the days `start` to `end`, both included."""

    period: Period
    start: date
    end: date

    @classmethod
    def from_query(cls, period: str | None, start: str | None, end: str | None, today: date) -> SalesRange:
        """Parse the raw query values (blank means absent); raises `ValidationFailed` naming every bad one:
        `query.period` (month or year, default month), `query.from` / `query.to` (YYYY-MM-DD; `to` defaults
        to `today`, `from` to the start of the period `DEFAULT_MONTHS` months or `DEFAULT_YEARS` years back,
        counting `to`'s), `from` after `to`, or a range longer than `MAX_RANGE_DAYS`."""
        errors: list[FieldError] = []
        kind = (period or "").strip() or "month"
        if kind not in PERIODS:
            errors.append(FieldError("query.period", "must be month or year"))
            kind = "month"
        last = _day(end, "query.to", errors) or today
        first = _day(start, "query.from", errors) or _default_start(kind, last)
        if not errors and first > last:
            errors.append(FieldError("query.from", "is after to"))
        elif not errors and (last - first).days > MAX_RANGE_DAYS:
            errors.append(FieldError("query.from", f"the range may span at most {MAX_RANGE_DAYS} days"))
        if errors:
            raise ValidationFailed("the dashboard parameters are invalid", errors=errors)
        return cls("year" if kind == "year" else "month", first, last)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """The range as UTC instants: from the start of `start` to the start of the day after `end`."""
        return (
            datetime.combine(self.start, time(), UTC),
            datetime.combine(self.end + timedelta(days=1), time(), UTC),
        )


EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
"""The dates `from`/`to` may name: every period bucket and bound of such a range is a date Python and
PostgreSQL both hold (the day after `to`, a year bucket's end)."""


def _day(raw: str | None, path: str, errors: list[FieldError]) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if len(text) != 10:
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(FieldError(path, "must be a date as YYYY-MM-DD"))
        return None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        errors.append(FieldError(path, f"must be between {EARLIEST_DAY} and {LATEST_DAY}"))
        return None
    return day


def _default_start(period: str, end: date) -> date:
    if period == "year":
        return date(end.year - DEFAULT_YEARS + 1, 1, 1)
    months = end.year * 12 + end.month - 1 - (DEFAULT_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def _amounts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sums per currency, in currency order: `[{"currency", "amount"}]`."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row["currency"]] += int(row["amount"])
    return [{"currency": c, "amount": totals[c]} for c in sorted(totals)]


def _order(row: dict[str, Any], product_names: dict[uuid.UUID, str | None]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "product": {"id": str(row["product_id"]), "name": product_names.get(row["product_id"])},
        "organization": {"id": str(row["buyer_tenant_id"]), "name": row["buyer_name"]},
        "plan": {"id": row["plan_id"], "name": row["plan_name"]},
        "billing_period": row["billing_period"],
        "amount": row["amount"],
        "currency": row["currency"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat(),
    }


def _counts(row: dict[str, Any] | None) -> dict[str, Any]:
    row = row or {}
    return {
        "subscribers": {"live": row.get("live_subscriptions", 0), "total": row.get("total_subscriptions", 0)},
        "customers": {"live": row.get("live_customers", 0), "total": row.get("total_customers", 0)},
    }


class SalesViews:
    """Read-only queries of the seller's sales."""

    def __init__(self, sessions: SessionFactory, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def today(self) -> date:
        """Today in UTC (the default end of a range)."""
        return self._clock.now().astimezone(UTC).date()

    def dashboard(self, tenant_id: str, sales_range: SalesRange) -> dict[str, Any]:
        """The seller's dashboard: `{"period", "from", "to", "totals": {subscribers: {live, total},
        customers: {live, total}, revenue: [{currency, amount}]}, "products": [{id, name, slug, category,
        status, rating_avg, rating_count, subscribers, customers, revenue: [{period_start, currency, amount,
        orders}], revenue_total: [{currency, amount}], recent_orders: [...]}], "recent_orders": [{id,
        product: {id, name}, organization: {id, name}, plan: {id, name}, billing_period, amount, currency,
        status, created_at}]}`. Products are those ever published, by name; revenue periods oldest first;
        amounts in minor units per currency."""
        start, end = sales_range.bounds
        with self._sessions(tenant_id, read_only=True) as session:
            products = session.fetch_all(
                "select p.id, p.name, p.slug, p.category, p.status, l.rating_avg, l.rating_count"
                " from products p left join marketplace_catalog l on l.product_id = p.id"
                " where exists (select 1 from product_versions v where v.product_id = p.id)"
                " order by lower(p.name), p.id"
            )
            counts = session.fetch_all(
                "select * from seller_subscription_counts(%s)", (sorted(LIVE_STATUSES),)
            )
            revenue = session.fetch_all(
                "select * from seller_revenue(%s, %s, %s, %s) order by period_start, product_id, currency",
                (sales_range.period, start, end, list(REVENUE_STATUSES)),
            )
            recent = session.fetch_all("select * from seller_recent_orders(null, %s)", (RECENT_ORDERS,))
            per_product = session.fetch_all(
                "select o.* from products p cross join lateral seller_recent_orders(p.id, %s) o",
                (PRODUCT_RECENT_ORDERS,),
            )
        names = {p["id"]: p["name"] for p in products}
        by_product = {c["product_id"]: c for c in counts}
        revenue_of: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for row in revenue:
            revenue_of[row["product_id"]].append(row)
        orders_of: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
        for row in sorted(per_product, key=lambda r: (r["created_at"], r["id"]), reverse=True):
            orders_of[row["product_id"]].append(row)
        return {
            "period": sales_range.period,
            "from": sales_range.start.isoformat(),
            "to": sales_range.end.isoformat(),
            "totals": {**_counts(by_product.get(None)), "revenue": _amounts(revenue)},
            "products": [
                {
                    "id": str(p["id"]),
                    "name": p["name"],
                    "slug": p["slug"],
                    "category": p["category"],
                    "status": p["status"],
                    "rating_avg": float(p["rating_avg"]) if p["rating_avg"] is not None else None,
                    "rating_count": p["rating_count"] or 0,
                    **_counts(by_product.get(p["id"])),
                    "revenue": [
                        {
                            "period_start": r["period_start"].isoformat(),
                            "currency": r["currency"],
                            "amount": int(r["amount"]),
                            "orders": r["orders"],
                        }
                        for r in revenue_of[p["id"]]
                    ],
                    "revenue_total": _amounts(revenue_of[p["id"]]),
                    "recent_orders": [_order(o, names) for o in orders_of[p["id"]]],
                }
                for p in products
            ],
            "recent_orders": [_order(o, names) for o in recent],
        }

    def customers(self, tenant_id: str, product_id: str, page: ProductPage) -> dict[str, Any]:
        """One page of a product's customers, newest subscription first (ties by id): `{"items":
        [{subscription_id, organization: {id, name}, plan: {id, name}, billing_period, status, since,
        current_period_end, cancel_at_period_end}], "next_cursor"}`. Raises `NotFound` for a product that is
        not the seller's."""
        pid = parse_product_id(product_id)
        after = page.after or (None, None)
        with self._sessions(tenant_id, read_only=True) as session:
            if session.fetch_one("select 1 from products where id = %s", (pid,)) is None:
                raise NotFound("product not found")
            rows = session.fetch_all(
                "select * from seller_product_customers(%s, %s, %s, %s)", (pid, *after, page.limit + 1)
            )
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        return {
            "items": [
                {
                    "subscription_id": str(r["subscription_id"]),
                    "organization": {"id": str(r["buyer_tenant_id"]), "name": r["buyer_name"]},
                    "plan": {"id": r["plan_id"], "name": r["plan_name"]},
                    "billing_period": r["billing_period"],
                    "status": r["status"],
                    "since": r["since"].isoformat(),
                    "current_period_end": r["current_period_end"].isoformat(),
                    "cancel_at_period_end": r["cancel_at_period_end"],
                }
                for r in rows
            ],
            "next_cursor": encode_cursor(rows[-1]["since"], rows[-1]["subscription_id"]) if more else None,
        }

    def usage(self, tenant_id: str, product_id: str) -> dict[str, Any]:
        """A product's usage in each customer's current billing period (the numbers the buyer sees,
        `cmp.metering.views`): `{"product_id", "totals": {metric: quantity}, "customers": [{subscription_id,
        organization: {id, name}, plan: {id, name}, status, period: {start, end}, usage: {metric:
        quantity}}]}`, customers by name. Raises `NotFound` for a product that is not the seller's."""
        pid = parse_product_id(product_id)
        with self._sessions(tenant_id, read_only=True) as session:
            if session.fetch_one("select 1 from products where id = %s", (pid,)) is None:
                raise NotFound("product not found")
            rows = session.fetch_all("select * from seller_product_usage(%s)", (pid,))
        totals: dict[str, int] = defaultdict(int)
        customers: dict[uuid.UUID, dict[str, Any]] = {}
        for r in rows:
            customer = customers.setdefault(
                r["subscription_id"],
                {
                    "subscription_id": str(r["subscription_id"]),
                    "organization": {"id": str(r["buyer_tenant_id"]), "name": r["buyer_name"]},
                    "plan": {"id": r["plan_id"], "name": r["plan_name"]},
                    "status": r["status"],
                    "period": {"start": r["period_start"].isoformat(), "end": r["period_end"].isoformat()},
                    "usage": {},
                },
            )
            if r["metric"] is not None:
                customer["usage"][r["metric"]] = int(r["quantity"])
                totals[r["metric"]] += int(r["quantity"])
        return {
            "product_id": str(pid),
            "totals": dict(sorted(totals.items())),
            "customers": list(customers.values()),
        }
